import type { IncomingMessage } from 'node:http';
import type { TrustProxy } from '../config.ts';
import { canonicalIp, listed } from '../ip-address.ts';

/**
 * The client's address, canonical (see canonicalIp). X-Forwarded-For is believed only as far as
 * TRUST_PROXY allows, walking from the socket leftwards: for `hops`, that many entries whoever
 * sent them; for `proxies`, one entry per hop while the address reached so far is a listed proxy.
 * Anything else a client writes into the header is ignored, so it cannot name any address it likes.
 */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string | null {
  const socket = req.socket.remoteAddress;
  const peer = socket === undefined ? null : canonicalIp(socket);
  if (peer === null || ('hops' in trust && trust.hops === 0)) return peer;
  const forwarded = (req.headersDistinct['x-forwarded-for'] ?? [])
    .flatMap((h) => h.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if ('hops' in trust) {
    const candidate = forwarded[Math.max(0, forwarded.length - trust.hops)];
    return (candidate === undefined ? null : canonicalIp(candidate)) ?? peer;
  }
  let client = peer;
  // No entry left, or one that is not an address: the last address reached is the best known.
  while (listed(trust.proxies, client)) {
    const next = forwarded.pop();
    const ip = next === undefined ? null : canonicalIp(next);
    if (ip === null) break;
    client = ip;
  }
  return client;
}
