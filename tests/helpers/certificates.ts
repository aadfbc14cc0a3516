import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A self-signed certificate for a TLS server on loopback, and its PEM text for clients to trust (`ca`). */
export interface LocalhostCertificate {
  certificatePath: string;
  keyPath: string;
  pem: string;
}

/**
 * Made with openssl into `dir`, valid one day for `localhost` and 127.0.0.1. RSA rather than ECDSA so that TLS
 * tests can tell a refused DHE-RSA or CBC suite from one that merely does not fit the key.
 */
export function createLocalhostCertificate(dir: string): LocalhostCertificate {
  const certificatePath = join(dir, 'localhost.crt');
  const keyPath = join(dir, 'localhost.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      keyPath,
      '-out',
      certificatePath,
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1'
    ],
    { stdio: 'ignore', timeout: 20_000 }
  );
  return { certificatePath, keyPath, pem: readFileSync(certificatePath, 'utf8') };
}
