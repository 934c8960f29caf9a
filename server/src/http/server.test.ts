import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, uniqueName } from '../../test/helpers.ts';

/**
 * A leak scan: one of every error the HTTP surface produces, made with a canary password, and
 * then the server's own log, searched for the canary and for every token it issued.
 */
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const CANARY = `canary ${randomBytes(6).toString('hex')} lantern orbit`;
const FORBIDDEN_TEXT = [
  'stack',
  'at /',
  'node_modules',
  'TRPCError',
  'ZodError',
  'SQL',
  'postgres',
  'kysely',
  'pglite',
];

const JSON_TYPE = { 'content-type': 'application/json' };
const creds = (username: string) => JSON.stringify({ username, password: CANARY });
const q = (input: unknown) => `?input=${encodeURIComponent(JSON.stringify(input))}`;

async function send(path: string, init: RequestInit = {}) {
  const res = await fetch(`${server.url}${path}`, init);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function expectClean(text: string, label: string) {
  for (const needle of [...FORBIDDEN_TEXT, CANARY]) {
    expect(text.toLowerCase(), `${label} contains ${needle}`).not.toContain(needle.toLowerCase());
  }
}

describe('error responses and logs leak nothing', () => {
  it('every kind of error body is free of internals and of the password', async () => {
    const name = uniqueName('canary');
    const ok = await send('/trpc/register', {
      method: 'POST',
      headers: JSON_TYPE,
      body: creds(name),
    });
    expect(ok.status).toBe(200);
    const big = 'x'.repeat(70_000);
    const form = new FormData();
    form.set('username', uniqueName());
    form.set('password', CANARY);
    const cases: [string, number, Promise<{ status: number; text: string }>][] = [
      [
        'bad input',
        400,
        send('/trpc/register', {
          method: 'POST',
          headers: JSON_TYPE,
          body: JSON.stringify({ username: '!', password: `${CANARY}\u0000` }),
        }),
      ],
      ['batch too big', 400, send(`/trpc/${Array(11).fill('me').join(',')}?batch=1`)],
      [
        'login, unknown user',
        401,
        send('/trpc/login', {
          method: 'POST',
          headers: JSON_TYPE,
          body: creds(uniqueName('ghost')),
        }),
      ],
      [
        'login, wrong password',
        401,
        send('/trpc/login', {
          method: 'POST',
          headers: JSON_TYPE,
          body: JSON.stringify({ username: name, password: `${CANARY}!` }),
        }),
      ],
      ['me, no token', 401, send('/trpc/me')],
      ['me, bad token', 401, send('/trpc/me', { headers: { authorization: `Bearer ${CANARY}` } })],
      [
        'refresh, unknown cookie',
        401,
        send('/trpc/refresh', {
          method: 'POST',
          headers: { ...JSON_TYPE, 'x-latchkey-csrf': '1', cookie: '__Host-latchkey_rt=AAAA' },
        }),
      ],
      [
        'REST token, unknown user',
        401,
        send('/token', {
          method: 'POST',
          body: new URLSearchParams({ username: 'ghost-x', password: CANARY }),
        }),
      ],
      [
        'REST me, bad token',
        401,
        send('/users/me', { headers: { authorization: 'Bearer x.y.z' } }),
      ],
      [
        'refresh without CSRF header',
        403,
        send('/trpc/refresh', { method: 'POST', headers: JSON_TYPE }),
      ],
      ['multipart mutation', 403, send('/trpc/register', { method: 'POST', body: form })],
      ['unknown procedure', 404, send(`/trpc/nope${q({ password: CANARY })}`)],
      ['unknown REST path', 404, send('/users/x')],
      ['mutation by GET', 405, send(`/trpc/login${q({ username: name, password: CANARY })}`)],
      ['GET /token', 405, send('/token')],
      [
        'taken username',
        409,
        send('/trpc/register', { method: 'POST', headers: JSON_TYPE, body: creds(name) }),
      ],
      [
        'tRPC body too large',
        413,
        send('/trpc/login', {
          method: 'POST',
          headers: JSON_TYPE,
          body: JSON.stringify({ username: name, password: CANARY + big }),
        }),
      ],
      [
        'REST body too large',
        413,
        send('/token', {
          method: 'POST',
          body: new URLSearchParams({ username: name, password: CANARY + big }),
        }),
      ],
      [
        'text/plain mutation',
        403,
        send('/trpc/register', {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: creds(uniqueName()),
        }),
      ],
      [
        'REST missing field',
        422,
        send('/token', { method: 'POST', body: new URLSearchParams({ password: CANARY }) }),
      ],
    ];
    for (const [label, status, reply] of cases) {
      const { status: actual, text } = await reply;
      expect(actual, label).toBe(status);
      expectClean(text, label);
    }
  });

  it('the log never holds the password, an access token or a refresh token', async () => {
    const name = uniqueName('logged');
    const secrets: string[] = [CANARY];
    await send('/trpc/register', { method: 'POST', headers: JSON_TYPE, body: creds(name) });
    const login = await send('/trpc/login', {
      method: 'POST',
      headers: JSON_TYPE,
      body: creds(name),
    });
    expect(login.status).toBe(200);
    secrets.push(
      (JSON.parse(login.text) as { result: { data: { accessToken: string } } }).result.data
        .accessToken,
    );
    const cookie =
      /^__Host-latchkey_rt=([^;]+)/.exec(login.headers.getSetCookie()[0] ?? '')?.[1] ?? '';
    secrets.push(cookie);
    const refreshed = await send('/trpc/refresh', {
      method: 'POST',
      headers: { ...JSON_TYPE, 'x-latchkey-csrf': '1', cookie: `__Host-latchkey_rt=${cookie}` },
    });
    expect(refreshed.status).toBe(200);
    secrets.push(
      /^__Host-latchkey_rt=([^;]+)/.exec(refreshed.headers.getSetCookie()[0] ?? '')?.[1] ?? '',
    );
    secrets.push(
      (JSON.parse(refreshed.text) as { result: { data: { accessToken: string } } }).result.data
        .accessToken,
    );
    const rest = await send('/token', {
      method: 'POST',
      body: new URLSearchParams({ username: name, password: CANARY }),
    });
    secrets.push((JSON.parse(rest.text) as { access_token: string }).access_token);
    // Failed attempts and a reused refresh token are logged too; they must not carry secrets either.
    await send('/trpc/login', {
      method: 'POST',
      headers: JSON_TYPE,
      body: creds(uniqueName('nobody')),
    });
    await send('/trpc/refresh', {
      method: 'POST',
      headers: { ...JSON_TYPE, 'x-latchkey-csrf': '1', cookie: `__Host-latchkey_rt=${cookie}` },
    });
    await send('/users/me', { headers: { authorization: `Bearer ${secrets[1]}` } });
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(secrets.every((s) => s.length >= 20)).toBe(true);
    expect(server.log.some((line) => line.includes('"request"'))).toBe(true);
    const log = server.log.join('\n');
    for (const secret of secrets) {
      expect(log.includes(secret), `log contains ${secret.slice(0, 12)}…`).toBe(false);
    }
  });
});

describe('an unexpected failure', () => {
  it('is 500 Internal server error without the database error text', async () => {
    const broken = await startTestServer();
    try {
      // Every query on users now fails inside the driver with SQL-flavoured text.
      await broken.dbh.db.schema.dropTable('users').cascade().execute();
      const res = await fetch(`${broken.url}/trpc/register`, {
        method: 'POST',
        headers: JSON_TYPE,
        body: creds(uniqueName()),
      });
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      );
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(JSON.parse(text)).toEqual({
        error: {
          code: -32603,
          message: 'Internal server error',
          data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500, path: 'register' },
        },
      });
      expectClean(text, 'internal error');
      expect(text).not.toContain('users');
      expect((await fetch(`${broken.url}/healthz`)).status).toBe(200);
      const logged = broken.log.find((line) => line.includes('internal error')) ?? '{}';
      // The log line names the request, as its X-Request-Id header does.
      expect((JSON.parse(logged) as { requestId?: string }).requestId).toBe(
        res.headers.get('x-request-id'),
      );
      expect(broken.log.join('\n')).not.toContain(CANARY);
    } finally {
      await broken.close();
    }
  });
});

describe('the request log', () => {
  it('is one line per request with what an operator needs, and nothing from the request body', async () => {
    const res = await fetch(`${server.url}/trpc/login`, {
      method: 'POST',
      headers: JSON_TYPE,
      body: creds(uniqueName('logged')),
    });
    expect(res.status).toBe(401);
    const requestId = res.headers.get('x-request-id');
    // Written on 'finish', which may come just after the client has the answer.
    const deadline = Date.now() + 2000;
    const lineOf = () =>
      server.log
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry.msg === 'request' && entry.requestId === requestId);
    while (lineOf().length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const lines = lineOf();
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? {};
    expect(Object.keys(line).sort()).toEqual(
      [
        'level',
        'time',
        'requestId',
        'method',
        'path',
        'status',
        'ms',
        'clientAddress',
        'msg',
      ].sort(),
    );
    expect(line).toMatchObject({
      level: 'info',
      method: 'POST',
      path: '/trpc/login',
      status: 401,
      clientAddress: '127.0.0.1',
    });
    expect(Number.isNaN(Date.parse(String(line.time)))).toBe(false);
    expect(typeof line.ms).toBe('number');
    expect(JSON.stringify(line)).not.toContain(CANARY);
  });
});
