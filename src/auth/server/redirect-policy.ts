import { isLoopbackHost } from '../../config/policy.ts';

/**
 * Where registered and metadata-document clients may send the user back to. An allowed entry is a
 * full URL (matched exactly) or a host name (any https URL on that host; a loopback host also over
 * http and on any port, as native applications listen on one).
 */
export function isRedirectAllowed(uri: string, allowed: readonly string[]): boolean {
  return redirectUriRefusal(uri, allowed) === undefined;
}

/** Why a redirect URI is refused, in words a developer registering a client can act on; undefined when it is allowed. */
export function redirectUriRefusal(uri: unknown, allowed: readonly string[], maxLength = Infinity): string | undefined {
  if (typeof uri !== 'string') return 'each redirect URI must be a string';
  if (uri.length > maxLength) return `a redirect URI has at most ${maxLength} characters`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `${quote(uri)} is not an absolute URL`;
  }
  if (url.username !== '' || url.password !== '') return 'a redirect URI may not carry credentials';
  if (url.hash !== '') return 'a redirect URI may not have a fragment';
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    return `${quote(url.origin)} is not https (plain http is accepted only on loopback)`;
  }
  for (const entry of allowed) {
    if (entry.includes('://')) {
      if (uri === entry) return undefined;
      continue;
    }
    if (bare(url.hostname) === bare(entry)) return undefined;
  }
  return `the host ${quote(url.host)} is not allowed to receive sign-ins here (auth.allowedRedirectHosts)`;
}

/** A host name, lower-cased, without IPv6 brackets. */
function bare(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

function quote(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
