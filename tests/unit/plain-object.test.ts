import { describe, expect, it } from 'vitest';
import { changedSettings } from '../../src/cli/commands/reload.ts';
import { isPlainObject } from '../../src/plain-object.ts';

describe('isPlainObject', () => {
  it('holds for objects with named members, and for nothing else a JSON or YAML value can be', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject({ a: 1 })).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    for (const value of [null, undefined, [], [1], 'text', 0, true]) expect(isPlainObject(value)).toBe(false);
  });
});

describe('changedSettings (what a reload names as waiting for the next start)', () => {
  it('names the paths that differ, down to three levels, and never a value', () => {
    const before = { server: { port: 8000, cors: { origins: ['a'] } }, audit: { enabled: true } };
    const after = { server: { port: 8001, cors: { origins: ['b'] } }, audit: { enabled: true }, extra: 'secret' };
    expect(changedSettings(before, after)).toEqual(['extra', 'server.cors.origins', 'server.port']);
    expect(changedSettings(before, structuredClone(before))).toEqual([]);
  });

  it('stops at the third level, and at a member that is not an object on either side', () => {
    expect(changedSettings({ a: { b: { c: { d: 1 } } } }, { a: { b: { c: { d: 2 } } } })).toEqual(['a.b.c']);
    expect(changedSettings({ a: [1] }, { a: { x: 1 } })).toEqual(['a']);
    expect(changedSettings(1, 2)).toEqual(['(everything)']);
  });
});

describe('settingsAwaitingRestart', () => {
  it('leaves out what a reload applies (auth.users and auth.groups) and names the rest', async () => {
    const { loadConfig } = await import('../../src/config/load.ts');
    const { settingsAwaitingRestart } = await import('../../src/cli/commands/reload.ts');
    const load = (env: Record<string, string>) => loadConfig({ cli: {}, env, cwd: process.cwd() }).config;
    const running = load({ POSTGRES_URL: 'postgres://reader@db.example.com/sales' });
    const groups = {
      ...running,
      auth: {
        ...running.auth,
        groups: { analysts: { environments: ['default'], scopes: ['sql:read'] } },
        users: [{ username: 'ana', environments: ['default'], scopes: ['sql:read'] }]
      }
    } as unknown as typeof running;
    expect(settingsAwaitingRestart(running, groups)).toEqual([]);
    const port = { ...groups, server: { ...groups.server, port: groups.server.port + 1 } };
    expect(settingsAwaitingRestart(running, port)).toEqual(['server.port']);
  });
});
