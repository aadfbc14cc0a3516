import { hashPassword, MAX_PASSWORD_LENGTH } from '../../auth/server/passwords.ts';
import type { CliIo } from '../io.ts';

/**
 * `sqlbridge hash-password`: reads one password from standard input (the first line; typed without
 * echo on a terminal) and prints its scrypt hash for `auth.users[].passwordHash`. The password never
 * appears in arguments, the shell history or logs.
 */
export async function hashPasswordCommand(stdin: NodeJS.ReadableStream | undefined, io: CliIo): Promise<number> {
  const password =
    stdin === undefined && process.stdin.isTTY ? await readHidden(io) : await readLine(stdin ?? process.stdin);
  if (password === undefined) return 1;
  if (password.length < 12) {
    io.err('sqlbridge: a password needs at least 12 characters');
    return 2;
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    io.err(`sqlbridge: a password can have at most ${MAX_PASSWORD_LENGTH} characters (the sign-in page reads no more)`);
    return 2;
  }
  io.out(await hashPassword(password));
  return 0;
}

async function readLine(input: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    // A first line longer than any password is refused whole; reading on would only hold more of it.
    if (text.includes('\n') || text.length > MAX_PASSWORD_LENGTH) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

/** A password typed on the terminal, not echoed; undefined if the user pressed Ctrl-C. */
function readHidden(io: CliIo): Promise<string | undefined> {
  io.err('Password:');
  const stdin = process.stdin;
  return new Promise(resolve => {
    let value = '';
    const finish = (result: string | undefined): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          finish(value);
          return;
        }
        if (char === '\u0003') {
          finish(undefined);
          return;
        }
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else if (value.length <= MAX_PASSWORD_LENGTH) value += char;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
