import { describe, expect, it } from 'vitest';
import { addressBucket } from '../../src/http/limits/address-bucket.ts';

describe('the address a per-address limit counts', () => {
  it('is an IPv4 address itself, an IPv6 address its /64, an IPv4-mapped address its IPv4 address', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:0DB8:0001:0002::abcd')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('fe80::1:2:3:4')).toBe('fe80:0:0:0::/64');
    expect(addressBucket('::ffff:198.51.100.4')).toBe('198.51.100.4');
    expect(addressBucket('not an address')).toBe('not an address');
  });
});
