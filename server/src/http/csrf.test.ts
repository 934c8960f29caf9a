import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName } from '../../test/helpers.ts';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
let server: TestServer;
beforeAll(async () => {
  // No grace window: presenting a rotated token again is reuse, so a hidden rotation shows.
  server = await startTestServer({ REFRESH_GRACE_SECONDS: '0' });
});
afterAll(() => server.close());

const LEAK = /stack|at \/|node_modules|TRPCError|ZodError|SQL|postgres|kysely|correct horse/i;

async function post(
  path: string,
  headers: Record<string, string>,
  body?: RequestInit['body'],
  target: TestServer = server,
) {
  const res = await fetch(`${target.url}${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  if (res.status >= 400) expect(text).not.toMatch(LEAK);
  return { status: res.status, headers: res.headers, text };
}

const cookieToken = (headers: Headers) =>
  /^__Host-latchkey_rt=([^;]*)/.exec(headers.getSetCookie()[0] ?? '')?.[1] ?? null;

const JSON_CSRF = { 'content-type': 'application/json', 'x-latchkey-csrf': '1' };

/** A registered user signed in over HTTP: the access token and the refresh cookie's value. */
async function signedIn(target: TestServer = server) {
  const username = uniqueName();
  const input = JSON.stringify({ username, password: PASSWORD });
  const json = { 'content-type': 'application/json' };
  expect((await post('/trpc/register', json, input, target)).status).toBe(200);
  const login = await post('/trpc/login', json, input, target);
  expect(login.status).toBe(200);
  const accessToken = (JSON.parse(login.text) as { result: { data: { accessToken: string } } })
    .result.data.accessToken;
  const refreshToken = cookieToken(login.headers);
  expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  return { username, accessToken, refreshToken: refreshToken ?? '' };
}

const withCookie = (token: string, headers: Record<string, string> = JSON_CSRF) => ({
  ...headers,
  cookie: `__Host-latchkey_rt=${token}`,
});

async function meStatus(accessToken: string) {
  const res = await fetch(`${server.url}/trpc/me`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  await res.arrayBuffer();
  return res.status;
}

async function refreshTokenRows(accessToken: string) {
  const sid = (JSON.parse(atob(accessToken.split('.')[1] ?? '')) as { sid: string }).sid;
  const rows = await server.dbh.db
    .selectFrom('refresh_tokens')
    .select(['token_hash', 'rotated_at'])
    .where('session_id', '=', sid)
    .execute();
  return rows.map((r) => `${r.token_hash}:${String(r.rotated_at)}`);
}

const form = new FormData();
const refusals: [string, number, Record<string, string>, RequestInit['body']][] = [
  ['no X-Latchkey-CSRF header', 403, { 'content-type': 'application/json' }, undefined],
  ['X-Latchkey-CSRF other than 1', 403, { ...JSON_CSRF, 'x-latchkey-csrf': 'true' }, undefined],
  ['a foreign Origin', 403, { ...JSON_CSRF, origin: 'https://evil.example' }, undefined],
  ['Origin: null', 403, { ...JSON_CSRF, origin: 'null' }, undefined],
  ['Sec-Fetch-Site: cross-site', 403, { ...JSON_CSRF, 'sec-fetch-site': 'cross-site' }, undefined],
  ['a multipart/form-data body', 403, { 'x-latchkey-csrf': '1' }, form],
  ['a text/plain body', 403, { 'x-latchkey-csrf': '1', 'content-type': 'text/plain' }, '{}'],
  [
    'a form-urlencoded body',
    403,
    { 'x-latchkey-csrf': '1', 'content-type': 'application/x-www-form-urlencoded' },
    'a=1',
  ],
];

describe.each(['refresh', 'logout'])('%s refuses cross-site requests', (procedure) => {
  it.each(refusals)('with %s: %i, no side effect', async (_, status, headers, body) => {
    const s = await signedIn();
    const before = await refreshTokenRows(s.accessToken);
    const reply = await post(`/trpc/${procedure}`, withCookie(s.refreshToken, headers), body);
    expect(reply.status).toBe(status);
    if (status === 403) {
      expect(
        (JSON.parse(reply.text) as { error: { data: { code: string } } }).error.data.code,
      ).toBe('FORBIDDEN');
    }
    expect(reply.headers.getSetCookie()).toEqual([]);
    expect(await refreshTokenRows(s.accessToken)).toEqual(before);
    // The session still works: the access token, and the same refresh cookie once.
    expect(await meStatus(s.accessToken)).toBe(200);
    const again = await post('/trpc/refresh', withCookie(s.refreshToken));
    expect(again.status).toBe(200);
    expect(cookieToken(again.headers)).not.toBe(s.refreshToken);
  });
});

describe('cookie procedures from the same origin', () => {
  it('refresh with the header and the server’s own Origin rotates the cookie', async () => {
    const s = await signedIn();
    const reply = await post(
      '/trpc/refresh',
      withCookie(s.refreshToken, {
        ...JSON_CSRF,
        origin: server.url,
        'sec-fetch-site': 'same-origin',
      }),
    );
    expect(reply.status).toBe(200);
    const next = cookieToken(reply.headers);
    expect(next).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(next).not.toBe(s.refreshToken);
    expect(reply.text).not.toContain(next ?? 'missing');
  });

  it('accepts its own Origin when the configured port is the real one (PORT≠0)', async () => {
    const port = await freePort();
    const other = await startTestServer({ PORT: String(port) });
    try {
      expect(other.url).toBe(`http://127.0.0.1:${port}`);
      const s = await signedIn(other);
      const headers = { ...JSON_CSRF, origin: other.url };
      const reply = await post('/trpc/refresh', withCookie(s.refreshToken, headers), '', other);
      expect(reply.status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('refresh with the header and no Origin rotates; the old cookie is then refused', async () => {
    const s = await signedIn();
    const reply = await post('/trpc/refresh', withCookie(s.refreshToken));
    expect(reply.status).toBe(200);
    const next = cookieToken(reply.headers);
    expect(next).not.toBe(s.refreshToken);
    expect(reply.headers.getSetCookie()[0]).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=Strict/);
    const reused = await post('/trpc/refresh', withCookie(s.refreshToken));
    expect(reused.status).toBe(401);
    expect(reused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    // The reuse warning names the request that presented the old token.
    const warning = server.log
      .map((line) => JSON.parse(line) as { msg?: string; requestId?: string; sessionId?: string })
      .find((entry) => entry.msg === 'refresh token reuse: session revoked');
    expect(warning?.requestId).toBe(reused.headers.get('x-request-id'));
    expect(warning?.sessionId).toEqual(expect.any(String));
  });

  it('logout with the header clears the cookie and ends the session', async () => {
    const s = await signedIn();
    const reply = await post('/trpc/logout', withCookie(s.refreshToken), '{}');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({ result: { data: { ok: true } } });
    expect(reply.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^__Host-latchkey_rt=; .*Max-Age=0/),
    ]);
    expect((await post('/trpc/refresh', withCookie(s.refreshToken))).status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await meStatus(s.accessToken)).toBe(401);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
