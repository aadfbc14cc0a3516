import proxyAddr from '@fastify/proxy-addr';
import { describe, expect, it } from 'vitest';
import { isProxyAddress } from '../../src/config/proxy-address.ts';
import { loadConfig } from '../../src/config/load.ts';

/**
 * `server.trustProxy` is checked as the configuration loads, the way @fastify/proxy-addr reads it when
 * the server starts: an entry the check lets through is one proxy-addr compiles, and one it refuses,
 * one proxy-addr would have refused with a stack trace at start (after `sqlbridge check` said ok).
 */

const ACCEPTED = ['127.0.0.1', '::1', '10.0.0.0/8', '10.0.0.0/255.0.0.0', 'fd00::/8', '::ffff:10.0.0.1', 'loopback'];
const REFUSED = ['nginx', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/255.0.0.0.0', '10.0.0.1/abc', '300.1.1.1', ''];

describe('trusted proxy entries', () => {
  it('accepts what proxy-addr compiles, and refuses what it would refuse', () => {
    for (const entry of ACCEPTED) {
      expect(isProxyAddress(entry), entry).toBe(true);
      expect(() => proxyAddr.compile([entry]), entry).not.toThrow();
    }
    for (const entry of REFUSED) {
      expect(isProxyAddress(entry), entry).toBe(false);
      expect(() => proxyAddr.compile([entry]), entry).toThrow();
    }
  });

  it('takes an entry with spaces around it, as the environment variable does', () => {
    const loaded = loadConfig({
      cli: {},
      env: { SQLBRIDGE_TRUST_PROXY: ' 127.0.0.1 , 10.0.0.0/8' },
      cwd: process.cwd()
    });
    expect(loaded.config.server.trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8']);
  });
});
