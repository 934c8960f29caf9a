import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName } from '../../test/helpers.ts';

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const LEAK = /stack|at \/|node_modules|TRPCError|ZodError|SQL|postgres|kysely|correct horse/i;

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  if (res.status >= 400) expect(text).not.toMatch(LEAK);
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as unknown };
}

/** The FastAPI tutorial's client: OAuth2 password form, then a Bearer header. */
const token = (fields: Record<string, string>) =>
  call('/token', { method: 'POST', body: new URLSearchParams(fields) });
const usersMe = (authorization?: string) =>
  call('/users/me', { headers: authorization ? { authorization } : {} });

async function registered(): Promise<string> {
  const username = uniqueName();
  const reply = await call('/trpc/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  expect(reply.status).toBe(200);
  return username;
}

/** Header names and values, without the ones that differ per response. */
function stableHeaders(headers: Headers): Record<string, string> {
  const entries = [...headers].filter(([k]) => k !== 'date' && k !== 'x-request-id');
  return Object.fromEntries(entries);
}

describe('POST /token', () => {
  it('returns exactly access_token, token_type bearer and expires_in, not cacheable', async () => {
    const username = await registered();
    const reply = await token({ username, password: PASSWORD });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body as object).sort()).toEqual([
      'access_token',
      'expires_in',
      'token_type',
    ]);
    expect(reply.body).toMatchObject({ token_type: 'bearer', expires_in: 900 });
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.headers.getSetCookie()).toEqual([]);
    const { access_token } = reply.body as { access_token: string };
    const me = await usersMe(`Bearer ${access_token}`);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username });
    expect(me.headers.get('cache-control')).toBe('no-store');
  });

  it('answers a wrong password and an unknown user identically', async () => {
    const username = await registered();
    const wrong = await token({ username, password: 'not the right password at all' });
    const unknown = await token({ username: uniqueName('ghost'), password: PASSWORD });
    for (const reply of [wrong, unknown]) {
      expect(reply.status).toBe(401);
      expect(reply.text).toBe('{"detail":"Incorrect username or password"}');
      expect(reply.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(stableHeaders(unknown.headers)).toEqual(stableHeaders(wrong.headers));
  });

  it.each([
    [{}, ['username', 'password']],
    [{ username: 'someone' }, ['password']],
    [{ password: PASSWORD }, ['username']],
  ])('with fields %j is 422 listing %j', async (fields, missing) => {
    const reply = await token(fields);
    expect(reply.status).toBe(422);
    const detail = (reply.body as { detail: { loc: string[]; type: string }[] }).detail;
    expect(detail.map((d) => d.loc)).toEqual(missing.map((f) => ['body', f]));
    expect(detail.every((d) => d.type === 'missing')).toBe(true);
  });

  it('GET /token is 405 with Allow: POST', async () => {
    const reply = await call('/token');
    expect(reply.status).toBe(405);
    expect(reply.headers.get('allow')).toBe('POST');
    expect(reply.text).toBe('{"detail":"Method Not Allowed"}');
  });

  it('a body over the cap is 413 and the server stays healthy', async () => {
    const reply = await token({ username: 'someone', password: 'x'.repeat(70_000) });
    expect(reply.status).toBe(413);
    expect(reply.body).toEqual({ detail: 'Request body too large' });
    expect((await call('/healthz')).status).toBe(200);
  });

  it.each([
    ['/token', 'application/x-www-form-urlencoded'],
    ['/trpc/login', 'application/json'],
  ])(
    'after 413 for a chunked body on %s the connection is closed or still serves',
    async (path, type) => {
      const { first, next } = await oversizedThenNext(path, type);
      expect(first).toMatch(/^HTTP\/1\.1 413 /);
      // A connection left holding the unread body would hang the client's next request.
      expect(['answered', 'closed']).toContain(next);
    },
  );
});

describe('GET /users/me', () => {
  it('without a token: 401 Not authenticated, WWW-Authenticate: Bearer', async () => {
    const reply = await usersMe();
    expect(reply.status).toBe(401);
    expect(reply.text).toBe('{"detail":"Not authenticated"}');
    expect(reply.headers.get('www-authenticate')).toBe('Bearer');
  });

  it.each(['Bearer not.a.token', 'Bearer ', 'bearer eyJhbGciOiJIUzI1NiJ9.e30.x'])(
    'with %j: 401 Could not validate credentials',
    async (authorization) => {
      const reply = await usersMe(authorization);
      expect(reply.status).toBe(401);
      expect(reply.text).toBe('{"detail":"Could not validate credentials"}');
      expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    },
  );
});

describe('one token, both surfaces', () => {
  it('a /token token works on tRPC me, a tRPC login token on /users/me', async () => {
    const username = await registered();
    const rest = (await token({ username, password: PASSWORD })).body as { access_token: string };
    const trpcMe = await call('/trpc/me', {
      headers: { authorization: `Bearer ${rest.access_token}` },
    });
    expect(trpcMe.status).toBe(200);
    expect(trpcMe.body).toMatchObject({ result: { data: { username } } });

    const login = await call('/trpc/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    const { accessToken } = (login.body as { result: { data: { accessToken: string } } }).result
      .data;
    const me = await usersMe(`Bearer ${accessToken}`);
    expect(me.status).toBe(200);
    expect((me.body as { username: string }).username).toBe(username);
  });
});

describe('other API paths', () => {
  it.each(['/users/x', '/users', '/healthz/x', '/.well-known/x', '/token/x', '/readyz/x', '/trpc'])(
    '%s is 404 {"detail":"Not Found"} and never the SPA',
    async (path) => {
      const reply = await call(path);
      expect(reply.status).toBe(404);
      expect(reply.text).toBe('{"detail":"Not Found"}');
      expect(reply.headers.get('content-type')).toBe('application/json');
    },
  );

  it('/healthz is 200 {"status":"ok"} and /readyz 200', async () => {
    const health = await call('/healthz');
    expect(health.status).toBe(200);
    expect(health.text).toBe('{"status":"ok"}');
    expect((await call('/readyz')).status).toBe(200);
  });

  it('a wrong method on an API path is 405 with Allow', async () => {
    const reply = await call('/users/me', { method: 'DELETE' });
    expect(reply.status).toBe(405);
    expect(reply.headers.get('allow')).toBe('GET');
    expect(reply.text).toBe('{"detail":"Method Not Allowed"}');
  });
});

const until = async (done: () => boolean, ms: number) => {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** One keep-alive connection: an oversized chunked POST (128 KiB), then GET /healthz on it. */
async function oversizedThenNext(path: string, type: string) {
  const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
  let received = '';
  let closed = false;
  socket.on('data', (d: Buffer) => void (received += d.toString('latin1')));
  socket.on('close', () => void (closed = true));
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(`POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Type: ${type}\r\n`);
  socket.write('Transfer-Encoding: chunked\r\n\r\n');
  // Streamed as an upload would be: chunks keep arriving after the server has answered.
  for (let i = 0; i < 8 && !closed; i++) {
    socket.write(`4000\r\n${'x'.repeat(16_384)}\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (!closed) socket.write('0\r\n\r\n');
  await until(() => closed || /too large|TOO_LARGE/i.test(received), 3_000);
  const first = received.split('\r\n')[0] ?? '';
  received = '';
  if (!closed) socket.write('GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n');
  await until(() => closed || received.includes('{"status":"ok"}'), 3_000);
  const next = received.includes('{"status":"ok"}') ? 'answered' : closed ? 'closed' : 'hung';
  socket.destroy();
  return { first, next };
}

describe('POST /token with credentials no account could have', () => {
  it('answers 401 without hashing, counts toward the client limit, then 429', async () => {
    const limited = await startTestServer({ LOGIN_MAX_PER_CLIENT: '3' });
    try {
      const malformed = () =>
        fetch(`${limited.url}/token`, {
          method: 'POST',
          body: new URLSearchParams({ username: '\u0001', password: 'x' }),
        });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await malformed()).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      // The hashing process starts on the first password job: none has run.
      expect(await limited.deps.hasher.threads()).toEqual([]);
      const events = await limited.dbh.db
        .selectFrom('audit_events')
        .select(['event', 'reason'])
        .where('reason', '=', 'malformed')
        .orderBy('id')
        .execute();
      expect(events).toEqual([
        ...Array.from({ length: 3 }, () => ({ event: 'login.failure', reason: 'malformed' })),
        { event: 'login.throttled', reason: 'malformed' },
      ]);
    } finally {
      await limited.close();
    }
  });
});
