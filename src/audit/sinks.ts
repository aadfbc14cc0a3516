import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { FileAuditSink } from './file-sink.ts';
import { LogAuditSink } from './log-sink.ts';
import { PostgresAuditSink } from './postgres-audit-sink.ts';
import type { AuditSink } from './sink.ts';
import { SqliteAuditSink } from './sqlite-audit-sink.ts';
import { auditFilePath } from './trail-files.ts';

/**
 * The sinks `audit` configures: the JSON Lines file (on unless disabled), the log, a database table.
 * Nothing is opened here: each sink creates its file, directory or table at its first batch (and a
 * sink that cannot is reported failing by the trail instead of stopping the server from starting).
 */
export function createAuditSinks(config: Config, logger: Logger): AuditSink[] {
  const { audit } = config;
  const sinks: AuditSink[] = [];
  if (audit.file.enabled) {
    sinks.push(
      new FileAuditSink({ path: auditFilePath(config), maxBytes: audit.file.maxBytes, maxFiles: audit.file.maxFiles })
    );
  }
  if (audit.log) sinks.push(new LogAuditSink(logger));
  const database = audit.database;
  if (database?.engine === 'sqlite') {
    sinks.push(new SqliteAuditSink(resolve(config.dataDir, database.path), database.table));
  } else if (database?.engine === 'postgres') {
    // The schema requires a URL for PostgreSQL.
    if (database.url === undefined) throw new Error('audit.database.url is required for PostgreSQL');
    sinks.push(new PostgresAuditSink({ url: database.url, table: database.table, logger }));
  }
  return sinks;
}
