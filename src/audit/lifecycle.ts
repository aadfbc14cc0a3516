import type { LoadedConfig } from '../config/load.ts';
import type { AuditEntry } from './trail.ts';

/**
 * The configuration a server started with, as the audit trail keeps it: where it came from and what
 * it serves — never its values (they hold passwords and connection strings).
 */
export function configLoaded(loaded: LoadedConfig): AuditEntry {
  const { config } = loaded;
  return {
    event: 'config.loaded',
    outcome: 'ok',
    detail: {
      file: loaded.configFile ?? '(none)',
      environments: Object.keys(config.environments).join(','),
      auth: config.auth.enabled,
      users: config.auth.users.length,
      notices: loaded.notices.length
    }
  };
}
