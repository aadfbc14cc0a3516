import type { Flash } from './console-layout.ts';

/**
 * The outcome of an action, carried to the page the browser is sent back to (Post/Redirect/Get) as a
 * code and its target in the query: `?done=grant_revoked&target=<id>`. Only these texts can appear,
 * so a link crafted elsewhere cannot make the console say anything else.
 */

const MESSAGES: Readonly<Record<string, { ok: boolean; text: (target: string) => string }>> = {
  grant_revoked: { ok: true, text: t => `Grant ${t} revoked: its tokens no longer work.` },
  grant_missing: { ok: false, text: t => `There is no grant ${t}.` },
  client_deleted: { ok: true, text: t => `Client ${t} deleted, with its grants and tokens.` },
  client_missing: { ok: false, text: t => `There is no registered client ${t}.` },
  client_static: {
    ok: false,
    text: t => `Client ${t} is configured in auth.clients: remove it from the configuration instead.`
  },
  user_disabled: { ok: true, text: t => `${t} is disabled: their tokens stop working on their next call.` },
  user_enabled: { ok: true, text: t => `${t} is enabled again.` },
  user_missing: { ok: false, text: t => `There is no user ${t}.` },
  user_self: { ok: false, text: () => 'You cannot disable your own account.' },
  keys_rotated: {
    ok: true,
    // Several environments travel as one target, comma-separated (a target holds no space).
    text: t => `New signing keys for ${t.split(',').join(', ')}; tokens signed before stay valid until they expire.`
  },
  incomplete: { ok: false, text: () => 'The form was incomplete: nothing was changed.' },
  failed: { ok: false, text: () => 'The action failed: nothing may have changed. The server log has the details.' }
};

export type FlashCode = keyof typeof MESSAGES;

/** The path to send the browser back to, with the outcome. */
export function withFlash(path: string, code: FlashCode, target = ''): string {
  const query = new URLSearchParams({ done: code, ...(target === '' ? {} : { target: target.slice(0, 200) }) });
  return `${path}?${query.toString()}`;
}

/**
 * What can be a target: a grant or client id, a user name, an environment; none holds a space or an
 * invisible character. A link crafted elsewhere could otherwise finish one of the messages with a
 * sentence of its own (`There is no user x. Your session expired: sign in at …`).
 */
const TARGET = /^[^\s\p{C}\p{Z}]{1,200}$/u;

/** The message a page shows for its query, if it names one (and a target that can be one). */
export function flashOf(code: string | undefined, target: string | undefined): Flash | undefined {
  const message = code === undefined || !Object.hasOwn(MESSAGES, code) ? undefined : MESSAGES[code];
  if (message === undefined || (target !== undefined && !TARGET.test(target))) return undefined;
  return { ok: message.ok, text: message.text(target ?? '') };
}
