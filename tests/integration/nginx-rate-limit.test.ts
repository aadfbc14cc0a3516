import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsRequest, type HttpsTarget } from '../helpers/https-client.ts';
import { expectNginxSecurityHeaders } from '../helpers/nginx.ts';
import { sharedNginxBeforeRecorder, type SharedNginxFixture } from '../helpers/nginx-fixture.ts';
import type { RecordingUpstream } from '../helpers/recording-upstream.ts';

/**
 * limit_req through a real nginx, rendered with rates so low (1 per minute) that nothing drains during the test:
 * a client gets its first request plus the burst, then 429 from nginx itself.
 */

describe('nginx rate limits', () => {
  let fixture: SharedNginxFixture;
  let upstream: RecordingUpstream;
  let target: HttpsTarget;

  beforeAll(async () => {
    fixture = await sharedNginxBeforeRecorder(['demo'], {
      rateLimits: { mcp: { rate: '1r/m', burst: 2 }, oauth: { rate: '1r/m', burst: 1 } }
    });
    ({ upstream, target } = fixture);
  });

  afterAll(async () => {
    await fixture.stop();
  });

  it('answers 429 past the burst, with the security headers, in each zone separately', async () => {
    const mcp: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await httpsRequest(target, { path: '/demo/messages?sessionId=s1', method: 'POST' });
      mcp.push(response.status);
      if (response.status === 429) expectNginxSecurityHeaders(response.headers);
    }
    expect(mcp).toEqual([202, 202, 202, 429, 429]);

    // The OAuth endpoints and sign-in pages have a bucket of their own, which the MCP traffic above left full.
    const oauth: number[] = [];
    for (const path of ['/demo/authorize', '/demo/interaction/u1', '/.well-known/oauth-authorization-server/demo']) {
      oauth.push((await httpsRequest(target, { path })).status);
    }
    expect(oauth).toEqual([200, 200, 429]);
    expect(upstream.requests).toHaveLength(5);
  });
});
