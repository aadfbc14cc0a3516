import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bindingHash } from '../../src/auth/federation/browser-binding.ts';
import {
  SignInStates,
  STATE_MODEL,
  TICKET_MODEL,
  type PendingSignIn
} from '../../src/auth/federation/sign-in-state.ts';
import { HashedStore } from '../../src/auth/storage/hashed-store.ts';
import { KeyedHash } from '../../src/auth/storage/keyed-hash.ts';
import { MemoryStore } from '../../src/auth/storage/memory-store.ts';

const pending: PendingSignIn = {
  provider: 'corp',
  purpose: { kind: 'interaction', environment: 'demo', uid: 'uid-1' },
  nonce: 'nonce-value-1234567890',
  codeVerifier: 'verifier-value-1234567890'
};
const binding = (): string => randomBytes(32).toString('base64url');

function setup(now = { value: Date.now() }) {
  const inner = new MemoryStore(() => now.value);
  const store = new HashedStore(inner, new KeyedHash(randomBytes(32)));
  return { states: new SignInStates(store), store, inner, now };
}

describe('federated sign-in state', () => {
  it('gives the sign-in back once, to the browser that started it', async () => {
    const { states } = setup();
    const browser = binding();
    const state = await states.save(pending, browser);
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await states.take(state, browser)).toEqual({ ok: true, value: pending });
    // Replayed: gone.
    expect(await states.take(state, browser)).toEqual({ ok: false, refusal: 'unknown' });
  });

  it('refuses another browser (missing or other binding cookie), and the state is spent all the same', async () => {
    const { states } = setup();
    const browser = binding();
    const state = await states.save(pending, browser);
    expect(await states.take(state, binding())).toEqual({ ok: false, refusal: 'binding' });
    expect(await states.take(state, browser)).toEqual({ ok: false, refusal: 'unknown' });
    const other = await states.save(pending, browser);
    expect(await states.take(other, undefined)).toEqual({ ok: false, refusal: 'binding' });
  });

  it('refuses unknown, tampered and malformed state values', async () => {
    const { states } = setup();
    const browser = binding();
    const state = await states.save(pending, browser);
    const tampered = `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`;
    for (const value of [tampered, '', 'short', `${state}x`, randomBytes(32).toString('base64url')]) {
      expect(await states.take(value, browser)).toEqual({ ok: false, refusal: 'unknown' });
    }
    expect(await states.take(state, browser)).toMatchObject({ ok: true });
  });

  it('expires a state after 600 s and a ticket after 60 s', async () => {
    const { states, now } = setup();
    const browser = binding();
    const state = await states.save(pending, browser);
    const ticket = await states.issueTicket(
      { username: 'ana', provider: 'corp', environment: 'demo', uid: 'uid-1', groupsOverage: false },
      browser
    );
    now.value += 61_000;
    expect(await states.takeTicket(ticket, browser)).toEqual({ ok: false, refusal: 'unknown' });
    now.value += 540_000;
    expect(await states.take(state, browser)).toEqual({ ok: false, refusal: 'unknown' });
  });

  it('keeps a ticket single-use and bound to the browser', async () => {
    const { states } = setup();
    const browser = binding();
    const value = { username: 'ana', provider: 'corp', environment: 'demo', uid: 'uid-1', groupsOverage: true };
    const ticket = await states.issueTicket(value, browser);
    expect(await states.takeTicket(ticket, binding())).toEqual({ ok: false, refusal: 'binding' });
    const second = await states.issueTicket(value, browser);
    expect(await states.takeTicket(second, browser)).toEqual({ ok: true, value });
    expect(await states.takeTicket(second, browser)).toEqual({ ok: false, refusal: 'unknown' });
  });

  it('stores neither the state nor what it protects in clear', async () => {
    const { states, inner } = setup();
    const browser = binding();
    const state = await states.save(pending, browser);
    await states.issueTicket(
      { username: 'ana', provider: 'corp', environment: 'demo', uid: 'u', groupsOverage: false },
      browser
    );
    const rows = [...(await inner.list('', STATE_MODEL)), ...(await inner.list('', TICKET_MODEL))];
    expect(rows).toHaveLength(2);
    const dump = JSON.stringify(rows);
    for (const secret of [state, browser, pending.nonce, pending.codeVerifier, 'ana'])
      expect(dump).not.toContain(secret);
    expect(dump).toContain(bindingHash(browser));
  });
});
