import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Looking for secrets in bytes: every file under a directory (SQLite databases, their WAL and shared
 * memory, key files, audit files, whatever is there) and every log line, for a value in clear and in
 * the encodings it might have been stored in. Base64 is searched at the three alignments a value can
 * have inside a longer encoded text, each without the characters it shares with its neighbours, so
 * that a secret encoded as part of something bigger is found too.
 */

export interface Form {
  /** e.g. "raw", "base64 (offset 1)" */
  encoding: string;
  bytes: Buffer;
}

export interface Haystack {
  /** A file's path under the searched directory, or "stderr". */
  name: string;
  bytes: Buffer;
}

export interface Hit {
  secret: string;
  encoding: string;
  where: string;
}

/** The forms a value is searched in: raw, JSON-escaped and percent-encoded when they differ, base64 and base64url. */
export function searchForms(value: string): Form[] {
  const forms: Form[] = [{ encoding: 'raw', bytes: Buffer.from(value, 'utf8') }];
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) forms.push({ encoding: 'JSON-escaped', bytes: Buffer.from(escaped, 'utf8') });
  const encoded = encodeURIComponent(value);
  if (encoded !== value) forms.push({ encoding: 'percent-encoded', bytes: Buffer.from(encoded, 'utf8') });
  const raw = Buffer.from(value, 'utf8');
  for (const alphabet of ['base64', 'base64url'] as const) {
    for (let offset = 0; offset < 3; offset++) {
      const text = Buffer.concat([Buffer.alloc(offset), raw])
        .toString(alphabet)
        .replace(/=+$/, '');
      // Characters that mix in bits of the bytes before or after the value are not the value's own.
      const skip = Math.ceil((offset * 8) / 6);
      const keep = Math.floor(((offset + raw.length) * 8) / 6);
      forms.push({ encoding: `${alphabet} (offset ${offset})`, bytes: Buffer.from(text.slice(skip, keep), 'ascii') });
    }
  }
  return forms;
}

/** Every regular file under `dir`, recursively, read as bytes. */
export function filesUnder(dir: string): Haystack[] {
  const found: Haystack[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current)) {
      const path = join(current, entry);
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile()) found.push({ name: relative(dir, path), bytes: readFileSync(path) });
    }
  };
  walk(dir);
  return found;
}

/** Where each secret is, in any of its forms, in any haystack. */
export function findSecrets(secrets: ReadonlyMap<string, string>, haystacks: readonly Haystack[]): Hit[] {
  const hits: Hit[] = [];
  for (const [name, value] of secrets) {
    for (const form of searchForms(value)) {
      for (const haystack of haystacks) {
        if (haystack.bytes.includes(form.bytes))
          hits.push({ secret: name, encoding: form.encoding, where: haystack.name });
      }
    }
  }
  return hits;
}
