import { BlockList, isIP } from 'node:net';

/** An IPv6 address's eight 16-bit groups, from the WHATWG URL serialisation (compressed, no dots). */
function ipv6Groups(serialised: string): number[] {
  const [head = '', tail] = serialised.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((g) => Number.parseInt(g, 16));
}

/** RFC 5952 text of IPv6 groups (lower case, longest zero run compressed), by the URL parser. */
const ipv6Text = (groups: number[]) =>
  new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]`).hostname.slice(1, -1);

/**
 * One spelling per address, so that one client cannot appear as several: IPv4 as is; IPv6
 * compressed and lower-cased, its zone dropped; IPv4-mapped IPv6 (`::ffff:1.2.3.4`, as a
 * dual-stack socket reports IPv4 peers) as the IPv4 address. Null for anything that is not an
 * IP address.
 */
export function canonicalIp(text: string): string | null {
  const family = isIP(text);
  if (family === 4) return text;
  if (family !== 6) return null;
  let groups: number[];
  try {
    groups = ipv6Groups(new URL(`http://[${text.replace(/%.*$/, '')}]`).hostname.slice(1, -1));
  } catch {
    return null;
  }
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  }
  return ipv6Text(groups);
}

/**
 * What a per-client limit counts as one client: an IPv4 address, or an IPv6 address's /64 (one
 * subscriber's network; its host part is the client's to choose). Null for a non-address.
 */
export function clientNetwork(address: string): string | null {
  const ip = canonicalIp(address);
  if (ip === null || isIP(ip) === 4) return ip;
  return `${ipv6Text([...ipv6Groups(ip).slice(0, 4), 0, 0, 0, 0])}/64`;
}

const familyOf = (ip: string) => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');

/** Whether `ip` (canonical) is in `list`; IPv4 rules also match IPv4-mapped IPv6 and back. */
export const listed = (list: BlockList, ip: string): boolean => list.check(ip, familyOf(ip));

/**
 * A BlockList of the given addresses and CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`), or the
 * first entry that is neither.
 */
export function addressList(entries: readonly string[]): { list: BlockList } | { bad: string } {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = address.includes('%') ? 0 : isIP(address);
    const bits = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined) return { bad: entry };
    if (prefix === undefined) {
      list.addAddress(address, familyOf(address));
    } else if (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits) {
      list.addSubnet(address, Number(prefix), familyOf(address));
    } else {
      return { bad: entry };
    }
  }
  return { list };
}
