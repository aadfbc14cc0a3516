import { isIP } from 'node:net';

/**
 * What a per-address limit counts a client address as: an IPv4 address as it is, an IPv6 address by
 * its /64. A single host is given a whole /64 (RFC 6177), and would otherwise get a fresh allowance
 * from every one of its 2^64 addresses. An IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function addressBucket(address: string): string {
  if (isIP(address) !== 6) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map(group => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
