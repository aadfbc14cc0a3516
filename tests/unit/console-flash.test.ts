import { describe, expect, it } from 'vitest';
import { flashOf, withFlash } from '../../src/admin/console/console-flash.ts';

/**
 * The admin console's outcome messages, carried in the query of the page an action redirects to:
 * only the console's own texts, naming a target that can be one (an id, a user or environment name).
 */

describe('console flash messages', () => {
  it('shows the message of a known code with its target', () => {
    expect(flashOf('grant_revoked', 'g-7f3a')).toEqual({
      ok: true,
      text: 'Grant g-7f3a revoked: its tokens no longer work.'
    });
    expect(flashOf('client_missing', 'https://app.example/client.json')).toEqual({
      ok: false,
      text: 'There is no registered client https://app.example/client.json.'
    });
    expect(flashOf('user_self', undefined)).toEqual({ ok: false, text: 'You cannot disable your own account.' });
  });

  it('shows nothing for a target a crafted link made into a sentence, or holding invisible characters', () => {
    for (const target of [
      'alice. Your session expired: sign in again at https://evil.example',
      'alice\u00a0please\u00a0call\u00a0555-0100',
      'alice\u202eevil',
      'alice\u200b',
      'x\ny'
    ]) {
      expect(flashOf('user_missing', target), JSON.stringify(target)).toBeUndefined();
    }
  });

  it('shows nothing for an unknown code, including names every object has', () => {
    for (const code of ['nope', 'toString', 'constructor', '__proto__']) expect(flashOf(code, 'x')).toBeUndefined();
  });

  it("reads back what the console's own redirects write", () => {
    const query = new URLSearchParams(withFlash('/admin/users', 'user_disabled', 'bob').split('?')[1]);
    expect(flashOf(query.get('done') ?? undefined, query.get('target') ?? undefined)?.text).toBe(
      'bob is disabled: their tokens stop working on their next call.'
    );
  });
});
