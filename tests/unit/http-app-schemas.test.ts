import { describe, expect, it } from 'vitest';
import { quietHttpApp } from '../helpers/http-app.ts';

/**
 * The HTTP app is built without Fastify's Ajv-based schema compilers (see
 * tests/e2e/module-loading.test.ts for what a server loads): routes validate their own input, and
 * one that declares a JSON schema fails to register instead of being served unchecked.
 */

async function httpApp() {
  return quietHttpApp();
}

describe('routes and JSON schemas', () => {
  it.each([
    ['a body', { body: { type: 'object' } }],
    ['a query string', { querystring: { type: 'object' } }],
    ['a response', { response: { 200: { type: 'object' } } }]
  ])('refuses a route that declares a schema for %s', async (_what, schema) => {
    const app = await httpApp();
    app.post('/checked', { schema }, async () => ({ ok: true }));
    await expect(app.ready()).rejects.toThrow(/declare no JSON schema/);
    await app.close();
  });

  it('serves a route that declares none', async () => {
    const app = await httpApp();
    app.post('/plain', async request => ({ echoed: request.body }));
    const response = await app.inject({
      method: 'POST',
      url: '/plain',
      headers: { host: 'localhost' },
      payload: { a: 1 }
    });
    expect(response.json()).toEqual({ echoed: { a: 1 } });
    await app.close();
  });
});
