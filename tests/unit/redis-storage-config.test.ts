import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { configuredSecrets } from '../../src/config/secrets.ts';
import { ConfigError } from '../../src/errors/config-error.ts';
import { emptyDir } from '../helpers/data-dir.ts';

/**
 * `auth.storage` as a Redis URL: from the file or SQLBRIDGE_AUTH_STORAGE, its password apart in
 * REDIS_PASSWORD or a file named by REDIS_PASSWORD_FILE, and both passwords among the secrets the
 * logger redacts. Anything but sqlite, memory or a redis(s):// URL is refused, naming the setting.
 */

function load(env: Record<string, string>, file = '') {
  const dir = emptyDir('redis-config-');
  const path = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    path,
    `environments:\n  db:\n    database: { engine: sqlite, path: ${join(dir, 'db.sqlite')} }\n${file}`
  );
  return { dir, config: loadConfig({ cli: { config: path }, env, cwd: dir }).config };
}

describe('auth.storage', () => {
  it('takes a Redis URL from the environment and its password from a file', () => {
    const dir = emptyDir('redis-secret-');
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'file-password-0123456789\n');
    const { config } = load({
      SQLBRIDGE_AUTH_STORAGE: 'rediss://sqlbridge:url-password-abcdef@redis.internal:6380/2?prefix=team',
      REDIS_PASSWORD_FILE: passwordFile
    });
    expect(config.auth.storage).toBe('rediss://sqlbridge:url-password-abcdef@redis.internal:6380/2?prefix=team');
    expect(config.auth.storagePassword).toBe('file-password-0123456789');
    expect(configuredSecrets(config)).toEqual(
      expect.arrayContaining(['file-password-0123456789', 'url-password-abcdef'])
    );
  });

  it('keeps sqlite as the default, and accepts memory and a redis:// URL in the file', () => {
    expect(load({}).config.auth.storage).toBe('sqlite');
    expect(load({}, 'auth:\n  storage: memory\n').config.auth.storage).toBe('memory');
    expect(load({}, 'auth:\n  storage: "redis://127.0.0.1:6379/0"\n').config.auth.storage).toBe(
      'redis://127.0.0.1:6379/0'
    );
  });

  it.each(['postgres://localhost/x', 'redis', 'redis://', 'sqlite3', 'https://redis.example'])('refuses %s', value => {
    let error: unknown;
    try {
      load({ SQLBRIDGE_AUTH_STORAGE: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('auth.storage');
  });

  it('refuses REDIS_PASSWORD and REDIS_PASSWORD_FILE together', () => {
    expect(() => load({ REDIS_PASSWORD: 'a', REDIS_PASSWORD_FILE: '/nonexistent' })).toThrow(
      /both REDIS_PASSWORD and REDIS_PASSWORD_FILE/
    );
  });
});
