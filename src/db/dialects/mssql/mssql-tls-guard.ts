import { ConnectionError as TediousConnectionError, type Connection } from 'tedious';

/**
 * With `encrypt: mandatory`, no login in clear. tedious asks for encryption in PRELOGIN, but when the
 * server's answer says it does not support encryption (NOT_SUP, or OFF) it carries on without TLS and
 * sends LOGIN7, password included, to whoever answered — a downgrade anyone in the middle can force.
 * MS-TDS (2.2.6.5, PRELOGIN ENCRYPTION) says a client that asked for encryption ends the connection
 * there, and so does sqlbridge: the negotiation step that follows the PRELOGIN answer (tedious's
 * `performTlsNegotiation`, run before LOGIN7 is written) refuses unless the server agreed to encrypt.
 * The step is a private method of tedious; a version without it fails here, loudly, rather than
 * connecting unchecked.
 */

interface PreloginAnswer {
  encryptionString?: string;
}

type Negotiation = (this: Connection, answer: PreloginAnswer, signal: AbortSignal) => Promise<void>;

/** The message of the refusal; mssql-errors.ts classifies it as a server without TLS. */
export const SERVER_REFUSED_ENCRYPTION = 'the server does not support encryption: the login was not sent';

export function refuseLoginWithoutTls(connection: Connection): void {
  const target = connection as unknown as { performTlsNegotiation?: Negotiation };
  const negotiate = target.performTlsNegotiation;
  if (typeof negotiate !== 'function') {
    throw new Error(
      'this version of tedious has no TLS negotiation step sqlbridge can check; encrypt: mandatory cannot be enforced'
    );
  }
  target.performTlsNegotiation = async function (this: Connection, answer, signal) {
    if (answer.encryptionString !== 'ON' && answer.encryptionString !== 'REQ') {
      throw new TediousConnectionError(
        `${SERVER_REFUSED_ENCRYPTION} (PRELOGIN answered ${answer.encryptionString ?? 'nothing'})`,
        'EENCRYPT'
      );
    }
    await negotiate.call(this, answer, signal);
  };
}
