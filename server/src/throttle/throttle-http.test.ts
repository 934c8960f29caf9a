import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName } from '../../test/helpers.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;

async function post(
  server: Server,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${server.url}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe('client address and X-Forwarded-For', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startTestServer({ LOGIN_MAX_PER_CLIENT: '3', LOGIN_MAX_FAILURES: '1000' });
  });
  afterAll(() => server.close());

  it('ignores a spoofed X-Forwarded-For without TRUST_PROXY: rotating it does not reset the limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await post(
        server,
        'login',
        { username: uniqueName('spray'), password: PASSWORD },
        { 'x-forwarded-for': `10.0.0.${i}` },
      );
      statuses.push(r.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const audit = await server.dbh.db
      .selectFrom('audit_events')
      .select('client_address')
      .where('event', '=', 'login.failure')
      .execute();
    expect(new Set(audit.map((a) => a.client_address))).toEqual(new Set(['127.0.0.1']));
  });
});

describe('with TRUST_PROXY=1', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startTestServer({
      LOGIN_MAX_PER_CLIENT: '2',
      LOGIN_MAX_FAILURES: '1000',
      TRUST_PROXY: '1',
    });
  });
  afterAll(() => server.close());

  it('uses the address the trusted proxy appended, not what the client wrote before it', async () => {
    const attempt = (chain: string) =>
      post(
        server,
        'login',
        { username: uniqueName('spray'), password: PASSWORD },
        { 'x-forwarded-for': chain },
      );
    expect((await attempt('1.1.1.1, 192.0.2.10')).status).toBe(401);
    expect((await attempt('2.2.2.2, 192.0.2.10')).status).toBe(401);
    // Same real client (the last hop) despite a different spoofed first entry.
    expect((await attempt('3.3.3.3, 192.0.2.10')).status).toBe(429);
    expect((await attempt('192.0.2.11')).status).toBe(401);
  });
});

describe('with TRUST_PROXY as a list of proxies', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startTestServer({
      LOGIN_MAX_PER_CLIENT: '2',
      LOGIN_MAX_FAILURES: '1000',
      TRUST_PROXY: '127.0.0.1, 2001:db8:ffff::/48',
    });
  });
  afterAll(() => server.close());

  const attempt = async (chain: string) =>
    (
      await post(
        server,
        'login',
        { username: uniqueName('spray'), password: PASSWORD },
        { 'x-forwarded-for': chain },
      )
    ).status;

  it('keys an IPv6 client behind a listed proxy by its /64', async () => {
    expect(await attempt('2001:db8:1:2::1, 2001:db8:ffff::10')).toBe(401);
    expect(await attempt('2001:db8:1:2::2')).toBe(401);
    expect(await attempt('2001:db8:1:2:dead:beef::3, 2001:db8:ffff::11')).toBe(429);
    expect(await attempt('2001:db8:1:3::1')).toBe(401);
  });

  it('does not believe what an unlisted hop claims', async () => {
    // 192.0.2.50 is the client as far as the listed proxy knows; what it wrote before is its own.
    expect(await attempt('198.51.100.1, 192.0.2.50')).toBe(401);
    expect(await attempt('198.51.100.2, 192.0.2.50')).toBe(401);
    expect(await attempt('198.51.100.3, 192.0.2.50')).toBe(429);
  });
});

describe('batched guesses', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startTestServer({ LOGIN_MAX_FAILURES: '3', LOGIN_MAX_PER_CLIENT: '0' });
  });
  afterAll(() => server.close());

  it('counts every login inside a batch and refuses batches over 10 calls', async () => {
    const name = uniqueName();
    await post(server, 'register', { username: name, password: PASSWORD });
    const guesses = (n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          i,
          { username: name, password: `batched guess ${i}` },
        ]),
      );
    const fifty = await post(
      server,
      `${Array.from({ length: 50 }, () => 'login').join(',')}?batch=1`,
      guesses(50),
    );
    expect(fifty.status).toBe(400);
    const ten = await post(
      server,
      `${Array.from({ length: 10 }, () => 'login').join(',')}?batch=1`,
      guesses(10),
    );
    const codes = (ten.body as Array<{ error?: { data: { code: string } } }>).map(
      (r) => r.error?.data.code,
    );
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(3);
    expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(7);
    expect(Number(ten.headers.get('retry-after'))).toBeGreaterThan(0);
    const right = await post(server, 'login', { username: name, password: PASSWORD });
    expect(right.status).toBe(429);
  });
});
