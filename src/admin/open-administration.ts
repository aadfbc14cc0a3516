import { createAuditSinks } from '../audit/sinks.ts';
import { AuditTrail } from '../audit/trail.ts';
import { UserRecords } from '../auth/server/user-records.ts';
import { UserDirectory } from '../auth/server/users.ts';
import { openConfiguredAuthStore } from '../auth/storage/open-store.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { AdminService } from './admin-service.ts';

/**
 * Administration without a server in this process (`sqlbridge admin …`): the configured OAuth store
 * (SQLite in the data directory, or Redis shared with the running replicas, which are then told of
 * every change at once), the users of the configuration and of the store, and an audit trail writing
 * to the configured sinks. With SQLite a running server sees the changes through the store: a
 * revoked grant at its next grant check (`auth.grantCheckMs`), a disabled user when it reads the
 * users again. `close()` writes the audit records and closes the store.
 */
export async function openAdministration(config: Config, logger: Logger): Promise<AdminService> {
  const store = await openConfiguredAuthStore({
    dataDir: config.dataDir,
    storage: config.auth.storage,
    password: config.auth.storagePassword,
    logger
  });
  const audit = new AuditTrail(createAuditSinks(config, logger), {
    flushIntervalMs: config.audit.flushIntervalMs,
    maxPending: config.audit.maxPending,
    logger
  });
  try {
    const users = UserDirectory.fromConfig(config);
    const records = new UserRecords(store, store.cluster, users, logger);
    await records.load();
    return new AdminService({
      config,
      store,
      users,
      records,
      audit,
      release: async () => {
        await audit.close();
        await store.close();
      }
    });
  } catch (error) {
    await audit.close();
    await store.close();
    throw error;
  }
}
