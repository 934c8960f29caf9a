import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../../test/helpers.ts';
import { clientAddress } from './client-address.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/**
 * A real server that answers with the client address it sees under `TRUST_PROXY=trust`, listening
 * on `host`; returns a function that asks it from `connectTo` with the given X-Forwarded-For.
 */
async function addressServer(trust: string, host = '127.0.0.1') {
  const config = testConfig({ TRUST_PROXY: trust });
  const server = createServer((req, res) =>
    res.end(clientAddress(req, config.trustProxy) ?? 'null'),
  );
  servers.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return async (forwardedFor: string | string[] | null, connectTo = host) => {
    const headers = new Headers();
    for (const value of forwardedFor === null ? [] : [forwardedFor].flat()) {
      headers.append('x-forwarded-for', value);
    }
    const host = connectTo.includes(':') ? `[${connectTo}]` : connectTo;
    const res = await fetch(`http://${host}:${port}/`, { headers });
    return res.text();
  };
}

describe('TRUST_PROXY off', () => {
  it('takes the socket address and ignores X-Forwarded-For', async () => {
    const ask = await addressServer('off');
    expect(await ask('203.0.113.9')).toBe('127.0.0.1');
  });

  it('writes an IPv4 peer on a dual-stack socket as IPv4', async () => {
    const ask = await addressServer('off', '::');
    expect(await ask(null, '127.0.0.1')).toBe('127.0.0.1');
    expect(await ask(null, '::1')).toBe('::1');
  });
});

describe('TRUST_PROXY as a list of proxies', () => {
  it('ignores X-Forwarded-For from a peer that is not listed', async () => {
    const ask = await addressServer('10.0.0.0/8, 192.0.2.1');
    expect(await ask('203.0.113.9')).toBe('127.0.0.1');
    expect(await ask('10.0.0.1, 203.0.113.9')).toBe('127.0.0.1');
  });

  it('walks the chain from the right while the address reached is a listed proxy', async () => {
    const ask = await addressServer('127.0.0.1, 10.0.0.0/8');
    // 10.1.2.3 is a listed proxy; 203.0.113.5 is not, so what it claims (198.51.100.1) is not believed.
    expect(await ask('198.51.100.1, 203.0.113.5, 10.1.2.3')).toBe('203.0.113.5');
    expect(await ask(['198.51.100.1, 203.0.113.5', '10.1.2.3'])).toBe('203.0.113.5');
    // Listed all the way: the leftmost entry is the client.
    expect(await ask('10.0.0.9, 10.1.2.3')).toBe('10.0.0.9');
    // An entry that is not an address ends the walk at the last address reached.
    expect(await ask('garbage, 10.1.2.3')).toBe('10.1.2.3');
    expect(await ask('::ffff:198.51.100.4')).toBe('198.51.100.4');
    expect(await ask(null)).toBe('127.0.0.1');
  });

  it('matches IPv6 peers and hops against IPv6 ranges', async () => {
    const ask = await addressServer('::1, 2001:db8::/32', '::1');
    expect(await ask('2001:db9::7, 2001:db8:5::1')).toBe('2001:db9::7');
    expect(await ask('198.51.100.1, 2001:db9::7, 2001:db8:5::1')).toBe('2001:db9::7');
    expect(await ask('2001:DB8:5:0::1')).toBe('2001:db8:5::1');
  });

  it('does not trust an IPv6 peer outside the list', async () => {
    const ask = await addressServer('127.0.0.1, 2001:db8::/32', '::1');
    expect(await ask('203.0.113.9')).toBe('::1');
  });
});

describe('TRUST_PROXY as a hop count', () => {
  it('believes that many entries from the right, whoever sent them', async () => {
    const chain = '198.51.100.1, 203.0.113.5, 10.1.2.3';
    expect(await (await addressServer('1'))(chain)).toBe('10.1.2.3');
    expect(await (await addressServer('on'))(chain)).toBe('10.1.2.3');
    expect(await (await addressServer('2'))(chain)).toBe('203.0.113.5');
    // More hops than entries: the leftmost; an entry that is not an address: the socket's.
    expect(await (await addressServer('5'))(chain)).toBe('198.51.100.1');
    expect(await (await addressServer('2'))('garbage, 10.1.2.3')).toBe('127.0.0.1');
    expect(await (await addressServer('1'))(null)).toBe('127.0.0.1');
  });
});
