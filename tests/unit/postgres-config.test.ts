import { describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../src/config/schema.ts';
import { postgresPoolConfig } from '../../src/db/dialects/postgres/postgres-config.ts';

type PostgresConfig = Extract<DatabaseConfig, { engine: 'postgres' }>;

const base: PostgresConfig = {
  engine: 'postgres',
  tls: 'disable',
  connectTimeoutMs: 5000,
  pool: { max: 4, idleTimeoutMs: 60_000 }
};

describe('PostgreSQL connection settings from a URL and discrete settings', () => {
  it('uses port 5432 when the URL names none', () => {
    const config = postgresPoolConfig({ ...base, url: 'postgres://reader:pw@db.internal/sales' }, 30_000);
    expect(config.port).toBe(5432);
    expect(config.target).toMatchObject({ host: 'db.internal', port: 5432, database: 'sales' });
  });

  it('takes the URL port, and a discrete setting over the URL', () => {
    expect(postgresPoolConfig({ ...base, url: 'postgres://db:6543/sales' }, 30_000).port).toBe(6543);
    expect(postgresPoolConfig({ ...base, url: 'postgres://db:6543/sales', port: 7000 }, 30_000).port).toBe(7000);
    expect(postgresPoolConfig({ ...base, host: 'h' }, 30_000).port).toBe(5432);
  });
});
