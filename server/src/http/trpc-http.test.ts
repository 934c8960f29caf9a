import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName, tokensOf } from '../../test/helpers.ts';
import type { AppRouter } from '../routers/index.ts';

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const LEAK = /stack|at \/|node_modules|TRPCError|ZodError|SQL|postgres|kysely|correct horse/i;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

/** Raw HTTP; every response is checked for nosniff, no X-Powered-By and no leak in errors. */
async function call(path: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.has('x-powered-by')).toBe(false);
  if (res.status >= 400) expect(text).not.toMatch(LEAK);
  return { status: res.status, headers: res.headers, text, body: parseJson(text) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

interface TrpcErrorBody {
  error: {
    message: string;
    data: { code: string; httpStatus: number; fieldErrors?: Record<string, string[]> };
  };
}
const trpcError = (reply: Reply) => (reply.body as TrpcErrorBody).error;

const postJson = (path: string, input: unknown, headers: Record<string, string> = {}) =>
  call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(input),
  });

interface Exchange {
  url: string;
  status: number;
  headers: Headers;
  text: string;
}

/** A typed client whose every HTTP exchange is recorded. */
function recordingClient(batch: boolean, token?: string) {
  const exchanges: Exchange[] = [];
  const recordingFetch = async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const res = await fetch(input, init);
    exchanges.push({
      url: input instanceof Request ? input.url : String(input),
      status: res.status,
      headers: res.headers,
      text: await res.clone().text(),
    });
    return res;
  };
  const options = {
    url: `${server.url}/trpc`,
    fetch: recordingFetch,
    headers: () => (token ? { authorization: `Bearer ${token}` } : {}),
  };
  const client = createTRPCClient<AppRouter>({
    links: [batch ? httpBatchLink(options) : httpLink(options)],
  });
  return { client, exchanges };
}

describe('tRPC over HTTP with @trpc/client', () => {
  it('registers, signs in and reads me through httpLink; the refresh token only in the cookie', async () => {
    const name = uniqueName();
    const anon = recordingClient(false);
    const user = await anon.client.register.mutate({ username: name, password: PASSWORD });
    expect(Object.keys(user).sort()).toEqual(['createdAt', 'id', 'username']);
    const login = tokensOf(await anon.client.login.mutate({ username: name, password: PASSWORD }));
    expect(login.tokenType).toBe('Bearer');
    expect(login.expiresIn).toBe(900);
    expect(login.user).toEqual(user);

    const loginExchange = anon.exchanges[1];
    expect(loginExchange?.url).toBe(`${server.url}/trpc/login`);
    expect(loginExchange?.headers.get('cache-control')).toBe('no-store');
    const cookie = loginExchange?.headers.getSetCookie() ?? [];
    expect(cookie).toHaveLength(1);
    const match = /^__Host-latchkey_rt=([A-Za-z0-9_-]{43,}); (.*)$/.exec(cookie[0] ?? '');
    expect(match).not.toBeNull();
    const attributes = (match?.[2] ?? '').split('; ');
    expect(attributes).toEqual(
      expect.arrayContaining(['Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict']),
    );
    const refreshToken = match?.[1] ?? 'missing';

    const authed = recordingClient(false, login.accessToken);
    expect(await authed.client.me.query()).toEqual(user);
    expect(authed.exchanges[0]?.headers.get('cache-control')).toBe('no-store');
    for (const e of [...anon.exchanges, ...authed.exchanges]) {
      expect(e.text).not.toContain(refreshToken);
      expect(e.url).not.toContain(refreshToken);
    }
  });

  it('works through httpBatchLink, several calls in one request', async () => {
    const [a, b] = [uniqueName(), uniqueName()];
    const anon = recordingClient(true);
    const users = await Promise.all([
      anon.client.register.mutate({ username: a, password: PASSWORD }),
      anon.client.register.mutate({ username: b, password: PASSWORD }),
    ]);
    expect(users.map((u) => u.username)).toEqual([a, b]);
    expect(anon.exchanges).toHaveLength(1);
    expect(anon.exchanges[0]?.url).toContain('/trpc/register,register?batch=1');
    const login = tokensOf(await anon.client.login.mutate({ username: b, password: PASSWORD }));
    const authed = recordingClient(true, login.accessToken);
    const [me1, me2] = await Promise.all([authed.client.me.query(), authed.client.me.query()]);
    expect(me1.username).toBe(b);
    expect(me2).toEqual(me1);
    expect(authed.exchanges[0]?.headers.get('cache-control')).toBe('no-store');
  });

  it('surfaces a 401 to the typed client as a TRPCClientError', async () => {
    const { client } = recordingClient(false, 'not-a-jwt');
    const error = await client.me.query().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    const e = error as TRPCClientError<AppRouter>;
    expect(e.message).toBe('Could not validate credentials');
    expect(e.data?.httpStatus).toBe(401);
  });
});

describe('tRPC errors over raw HTTP', () => {
  it('me without a token: 401 Not authenticated with WWW-Authenticate: Bearer', async () => {
    const reply = await call('/trpc/me');
    expect(reply.status).toBe(401);
    expect(trpcError(reply).message).toBe('Not authenticated');
    expect(trpcError(reply).data.code).toBe('UNAUTHORIZED');
    expect(reply.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('me with a bad token: 401 Could not validate credentials, error="invalid_token"', async () => {
    const reply = await call('/trpc/me', { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(reply.status).toBe(401);
    expect(trpcError(reply).message).toBe('Could not validate credentials');
    expect(reply.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('an unknown procedure is 404 NOT_FOUND', async () => {
    const reply = await call('/trpc/nope');
    expect(reply.status).toBe(404);
    expect(trpcError(reply).data.code).toBe('NOT_FOUND');
  });

  it('bad input is 400 with field messages and no stack', async () => {
    const reply = await postJson('/trpc/register', { username: 'x', password: 12 });
    expect(reply.status).toBe(400);
    const error = trpcError(reply);
    expect(error.data.code).toBe('BAD_REQUEST');
    expect(Object.keys(error.data.fieldErrors ?? {}).sort()).toEqual(['password', 'username']);
    expect(error.data).not.toHaveProperty('stack');
    expect(reply.text).not.toContain('"stack"');
  });

  it.each([
    ['GET', '/trpc/nope'],
    ['POST', '/trpc/nope'],
    ['PUT', '/trpc/nope'],
    ['DELETE', '/trpc/sessions.nope'],
    ['GET', '/trpc/'],
    ['GET', '/trpc/nope,sessions.nope?batch=1'],
  ])('%s %s: an unknown procedure is tRPC’s NOT_FOUND', async (method, path) => {
    const body = method === 'GET' ? undefined : '{}';
    const reply = await call(path, { method, headers: { 'content-type': 'text/plain' }, body });
    expect(reply.status).toBe(404);
    const errors = Array.isArray(reply.body) ? (reply.body as TrpcErrorBody[]) : [reply.body];
    expect(errors.map((e) => (e as TrpcErrorBody).error.data.code)).toContain('NOT_FOUND');
  });

  it.each([
    ['PUT', '/trpc/me', 'GET'],
    ['DELETE', '/trpc/me', 'GET'],
    ['PATCH', '/trpc/login', 'POST'],
    ['DELETE', '/trpc/logout', 'POST'],
    ['HEAD', '/trpc/me', 'GET'],
    ['GET', '/trpc/login', 'POST'],
    ['POST', '/trpc/me', 'GET'],
    ['PUT', '/trpc/me,sessions.list?batch=1', 'GET'],
    ['GET', '/trpc/login,register?batch=1', 'POST'],
  ])('%s %s is tRPC’s METHOD_NOT_SUPPORTED with Allow: %s', async (method, path, allow) => {
    const body = method === 'GET' || method === 'HEAD' ? undefined : '{}';
    const headers = { 'content-type': 'application/json' };
    const reply = await call(path, { method, headers, body });
    expect(reply.status).toBe(405);
    expect(reply.headers.get('allow')).toBe(allow);
    if (method === 'HEAD') return;
    const errors = Array.isArray(reply.body) ? (reply.body as TrpcErrorBody[]) : [reply.body];
    for (const e of errors) {
      expect((e as TrpcErrorBody).error.data).toMatchObject({
        code: 'METHOD_NOT_SUPPORTED',
        httpStatus: 405,
      });
    }
  });

  it('a registration by PUT or DELETE runs nothing', async () => {
    for (const method of ['PUT', 'DELETE']) {
      const other = uniqueName();
      const refused = await call('/trpc/register', {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: other, password: PASSWORD }),
      });
      expect(refused.status).toBe(405);
      expect(await userCount(other)).toBe(0);
    }
  });

  it('a mutation by GET is 405 and runs nothing', async () => {
    const name = uniqueName();
    const input = encodeURIComponent(JSON.stringify({ username: name, password: PASSWORD }));
    const reply = await call(`/trpc/register?input=${input}`);
    expect(reply.status).toBe(405);
    expect(trpcError(reply).data.code).toBe('METHOD_NOT_SUPPORTED');
    expect(await userCount(name)).toBe(0);
  });

  it.each([
    ['multipart/form-data', 403, () => formOf(uniqueName('form'))],
    ['text/plain', 403, () => textOf(uniqueName('text'))],
    ['application/x-www-form-urlencoded', 403, () => urlEncodedOf(uniqueName('urlenc'))],
  ])('a mutation posted as %s is refused (%i) and creates no user', async (_, status, make) => {
    const { name, init } = make();
    const reply = await call('/trpc/register', { method: 'POST', ...init });
    expect(reply.status).toBe(status);
    expect(trpcError(reply).data.code).toBe('FORBIDDEN');
    expect(await userCount(name)).toBe(0);
    // The same data as JSON is accepted, so the refusal was the content type.
    expect((await postJson('/trpc/register', { username: name, password: PASSWORD })).status).toBe(
      200,
    );
  });

  it('a body over MAX_BODY_BYTES is 413, and the server stays healthy', async () => {
    const big = JSON.stringify({ username: 'someone', password: 'x'.repeat(70_000) });
    const reply = await call('/trpc/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(reply.status).toBe(413);
    const health = await call('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
  });

  it('a batch of more than 10 calls is refused with 400; 10 are run', async () => {
    const paths = (n: number) => Array.from({ length: n }, () => 'me').join(',');
    const ten = await call(`/trpc/${paths(10)}?batch=1`);
    expect(ten.status).toBe(401);
    expect(ten.body).toHaveLength(10);
    const eleven = await call(`/trpc/${paths(11)}?batch=1`);
    expect(eleven.status).toBe(400);
  });

  it('sends X-Content-Type-Options and never X-Powered-By on success and error', async () => {
    for (const path of ['/healthz', '/readyz', '/trpc/me', '/token', '/users/me', '/nowhere']) {
      const res = await fetch(`${server.url}${path}`);
      await res.arrayBuffer();
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-powered-by'), path).toBeNull();
    }
  });
});

function formOf(name: string) {
  const form = new FormData();
  form.set('username', name);
  form.set('password', PASSWORD);
  return { name, init: { body: form } };
}

function textOf(name: string) {
  const body = JSON.stringify({ username: name, password: PASSWORD });
  return { name, init: { headers: { 'content-type': 'text/plain' }, body } };
}

function urlEncodedOf(name: string) {
  return { name, init: { body: new URLSearchParams({ username: name, password: PASSWORD }) } };
}

async function userCount(name: string): Promise<number> {
  const rows = await server.dbh.db
    .selectFrom('users')
    .select('id')
    .where('username', '=', name)
    .execute();
  return rows.length;
}
