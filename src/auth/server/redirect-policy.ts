import { isLoopbackHost } from '../../config/policy.ts';

/**
 * Where registered and metadata-document clients may send the user back to. An allowed entry is a
 * full URL (matched exactly) or a host name (any https URL on that host; a loopback host also over
 * http and on any port, as native applications listen on one).
 */
export function isRedirectAllowed(uri: string, allowed: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') return false;
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return false;
  for (const entry of allowed) {
    if (entry.includes('://')) {
      if (uri === entry) return true;
      continue;
    }
    if (bare(url.hostname) === bare(entry)) return true;
  }
  return false;
}

/** A host name, lower-cased, without IPv6 brackets. */
function bare(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}
