import { describe, expect, it } from 'vitest';
import { addressList, canonicalIp, clientNetwork, listed } from './ip-address.ts';

describe('canonicalIp', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:c000:0201', '192.0.2.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::1', '::1'],
  ])('writes %s as %s', (text, canonical) => {
    expect(canonicalIp(text)).toBe(canonical);
  });

  it.each(['', 'localhost', '01.2.3.4', '1.2.3.4:80', '[::1]', '2001:db8::1/64', '1.2.3.4 '])(
    'refuses %j',
    (text) => {
      expect(canonicalIp(text)).toBeNull();
    },
  );
});

describe('clientNetwork', () => {
  it('is an IPv4 address itself, and an IPv6 address its /64', () => {
    expect(clientNetwork('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientNetwork('2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff')).toBe('2001:db8:aaaa:bbbb::/64');
    expect(clientNetwork('2001:db8:aaaa:bbbb::1')).toBe('2001:db8:aaaa:bbbb::/64');
    expect(clientNetwork('2001:db8::1')).toBe('2001:db8::/64');
    expect(clientNetwork('not an address')).toBeNull();
  });
});

describe('addressList', () => {
  it('matches listed addresses and ranges, IPv4 also in its mapped IPv6 form', () => {
    const parsed = addressList(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32']);
    if (!('list' in parsed)) throw new Error(`refused ${parsed.bad}`);
    expect(listed(parsed.list, '10.1.2.3')).toBe(true);
    expect(listed(parsed.list, '::ffff:10.1.2.3')).toBe(true);
    expect(listed(parsed.list, '192.0.2.7')).toBe(true);
    expect(listed(parsed.list, '192.0.2.8')).toBe(false);
    expect(listed(parsed.list, '2001:db8:ffff::1')).toBe(true);
    expect(listed(parsed.list, '2001:db9::1')).toBe(false);
  });

  it.each([
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/',
    '10.0.0.0/x',
    '10.0.0.0/8/8',
    'fe80::1%eth0',
    'proxy',
  ])('names %j as the bad entry', (entry) => {
    expect(addressList(['127.0.0.1', entry])).toEqual({ bad: entry });
  });
});
