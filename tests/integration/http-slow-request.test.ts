import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_RECEIVE_TIMEOUT_MS, type HttpApp } from '../../src/http/http-app.ts';
import { quietHttpApp } from '../helpers/http-app.ts';

/**
 * A client that sends its request body a byte at a time (slowloris): the request must arrive within
 * the receive timeout, or it is answered 408 and its connection closed; an answer that takes long
 * is not cut. Over a real socket, with a short timeout for the test.
 */
describe('HTTP: a request that arrives too slowly', () => {
  let app: HttpApp;
  let port: number;

  beforeAll(async () => {
    app = await quietHttpApp({ requestTimeoutMs: 1000, allowedHosts: ['127.0.0.1'] });
    app.post('/echo', async request => ({ length: String(request.body).length }));
    app.get('/slow-answer', async () => {
      await new Promise(resolve => setTimeout(resolve, 1500));
      return { answered: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await app.close();
  });

  it('is refused by default within a minute', () => {
    expect(REQUEST_RECEIVE_TIMEOUT_MS).toBe(60_000);
  });

  it('answers a body sent a byte every 300 ms with 408 and closes the connection', async () => {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.write('POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\na');
    const started = Date.now();
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(' ');
    }, 300);
    try {
      await once(socket, 'close');
    } finally {
      clearInterval(drip);
    }
    const elapsed = Date.now() - started;
    expect(Buffer.concat(received).toString()).toMatch(/^HTTP\/1\.1 408 /);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5000);
  });

  it('serves a request that arrives in time, and an answer that takes longer than the timeout', async () => {
    const echoed = await fetch(`http://127.0.0.1:${port}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'twenty characters ok'
    });
    expect(await echoed.json()).toEqual({ length: 20 });
    const slow = await fetch(`http://127.0.0.1:${port}/slow-answer`);
    expect(await slow.json()).toEqual({ answered: true });
  });
});
