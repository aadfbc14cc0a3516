import type { AuditTrail } from './audit/trail.ts';
import type { EnvironmentConfig } from './config/schema.ts';
import type { DatabaseRuntime } from './db/runtime.ts';

/** One served environment at run time: its name, its settings and its database. */
export interface Environment {
  readonly name: string;
  readonly config: EnvironmentConfig;
  readonly db: DatabaseRuntime;
  /** Where its calls and queries are recorded (one trail for the whole server). */
  readonly audit: AuditTrail;
}
