import {
  createTRPCClient,
  httpBatchLink,
  httpBatchStreamLink,
  httpLink,
  TRPCClientError,
} from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName, tokensOf } from '../../test/helpers.ts';
import type { AppRouter } from '../routers/index.ts';

/**
 * Every tRPC link against the real server — `httpBatchStreamLink` (`trpc-accept:
 * application/jsonl`) above all: the same cookies, rotations, revocations and error headers as a
 * plain call. No grace window, so a rotation the client never learnt about shows as reuse on the
 * next refresh.
 */
let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer({ REFRESH_GRACE_SECONDS: '0', LOGIN_MAX_FAILURES: '3' });
});
afterAll(() => server.close());

interface Exchange {
  url: string;
  status: number;
  headers: Headers;
}

interface LinkOptions {
  url: string;
  headers: () => Record<string, string>;
  fetch: (input: Parameters<typeof fetch>[0], init?: RequestInit) => Promise<Response>;
}
const LINKS = {
  httpLink: (options: LinkOptions) => httpLink<AppRouter>(options),
  httpBatchLink: (options: LinkOptions) => httpBatchLink<AppRouter>(options),
  httpBatchStreamLink: (options: LinkOptions) => httpBatchStreamLink<AppRouter>(options),
};
type LinkName = keyof typeof LINKS;

/**
 * A typed client on one link that carries the refresh cookie by hand (Node's fetch keeps no
 * cookie jar) and records every exchange.
 */
function linkClient(link: LinkName) {
  const state = { accessToken: null as string | null, refreshToken: null as string | null };
  const exchanges: Exchange[] = [];
  const client = createTRPCClient<AppRouter>({
    links: [
      LINKS[link]({
        url: `${server.url}/trpc`,
        headers: () => ({
          'x-latchkey-csrf': '1',
          ...(state.accessToken ? { authorization: `Bearer ${state.accessToken}` } : {}),
        }),
        fetch: async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
          const headers = new Headers(init?.headers);
          if (state.refreshToken) headers.set('cookie', `__Host-latchkey_rt=${state.refreshToken}`);
          const res = await fetch(input, { ...init, headers });
          const url = input instanceof Request ? input.url : String(input);
          exchanges.push({ url, status: res.status, headers: res.headers });
          for (const cookie of res.headers.getSetCookie()) {
            const match = /^__Host-latchkey_rt=([^;]*)/.exec(cookie);
            if (match) state.refreshToken = match[1] === '' ? null : (match[1] ?? null);
          }
          return res;
        },
      }),
    ],
  });
  return { client, state, exchanges };
}

async function registered(): Promise<string> {
  const username = uniqueName();
  await linkClient('httpLink').client.register.mutate({ username, password: PASSWORD });
  return username;
}

async function signedIn(link: LinkName) {
  const username = await registered();
  const c = linkClient(link);
  const login = tokensOf(await c.client.login.mutate({ username, password: PASSWORD }));
  c.state.accessToken = login.accessToken;
  return { ...c, username, login };
}

async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  const e = error as TRPCClientError<AppRouter>;
  const response = (e.meta as { response?: Response } | undefined)?.response;
  return { code: e.data?.code, message: e.message, response };
}

const sessionRows = (sessionId: string) =>
  server.dbh.db
    .selectFrom('sessions')
    .select(['id', 'revoked_at'])
    .where('id', '=', sessionId)
    .execute();
const sidOf = (token: string) =>
  (JSON.parse(atob(token.split('.')[1] ?? '')) as { sid: string }).sid;

describe.each(Object.keys(LINKS) as LinkName[])('%s', (link) => {
  it('login answers the token and sets the refresh cookie, with no-store', async () => {
    const { login, state, exchanges, client, username } = await signedIn(link);
    expect(login.tokenType).toBe('Bearer');
    expect(state.refreshToken).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    const exchange = exchanges[0];
    expect(exchange?.url).toContain('/trpc/login');
    expect(exchange?.headers.get('cache-control')).toBe('no-store');
    expect(exchange?.headers.get('pragma')).toBe('no-cache');
    expect(exchange?.headers.getSetCookie()[0]).toMatch(
      /; Path=\/; HttpOnly; Secure; SameSite=Strict/,
    );
    expect(await sessionRows(sidOf(login.accessToken))).toHaveLength(1);
    expect((await client.me.query()).username).toBe(username);
  });

  it('refresh rotates the cookie, and the next refresh works', async () => {
    const s = await signedIn(link);
    const first = s.state.refreshToken;
    const refreshed = await s.client.refresh.mutate();
    expect(s.state.refreshToken).not.toBe(first);
    expect(sidOf(refreshed.accessToken)).toBe(sidOf(s.login.accessToken));
    s.state.accessToken = refreshed.accessToken;
    const second = s.state.refreshToken;
    const again = await s.client.refresh.mutate();
    expect(s.state.refreshToken).not.toBe(second);
    s.state.accessToken = again.accessToken;
    expect((await s.client.me.query()).username).toBe(s.username);
  });

  it('logout revokes the session: the access token and the cookie are refused after', async () => {
    const s = await signedIn(link);
    const cookie = s.state.refreshToken;
    expect(await s.client.logout.mutate()).toEqual({ ok: true });
    expect(s.state.refreshToken).toBeNull();
    const [row] = await sessionRows(sidOf(s.login.accessToken));
    expect(row?.revoked_at).not.toBeNull();
    const me = await refusal(s.client.me.query());
    expect(me.code).toBe('UNAUTHORIZED');
    s.state.refreshToken = cookie;
    expect((await refusal(s.client.refresh.mutate())).code).toBe('UNAUTHORIZED');
  });

  it('a 401 carries its status and WWW-Authenticate', async () => {
    const anon = linkClient(link);
    const none = await refusal(anon.client.me.query());
    expect(none).toMatchObject({ code: 'UNAUTHORIZED', message: 'Not authenticated' });
    expect(none.response?.status).toBe(401);
    expect(none.response?.headers.get('www-authenticate')).toBe('Bearer');

    anon.state.accessToken = 'not.a.token';
    const bad = await refusal(anon.client.me.query());
    expect(bad.message).toBe('Could not validate credentials');
    expect(bad.response?.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');

    anon.state.accessToken = null;
    const wrong = await refusal(
      anon.client.login.mutate({ username: await registered(), password: `${PASSWORD}!` }),
    );
    expect(wrong.message).toBe('Incorrect username or password');
    expect(wrong.response?.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('a throttled login is 429 with Retry-After', async () => {
    const username = await registered();
    const c = linkClient(link);
    for (let i = 0; i < 3; i++) {
      await refusal(c.client.login.mutate({ username, password: `${PASSWORD}!` }));
    }
    const throttled = await refusal(c.client.login.mutate({ username, password: PASSWORD }));
    expect(throttled).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      message: 'Too many attempts, try again later',
    });
    expect(throttled.response?.status).toBe(429);
    expect(Number(throttled.response?.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe.each(['httpBatchLink', 'httpBatchStreamLink'] as const)('%s', (link) => {
  it('a batch mixing success and failure: each call its own answer, the cookie set', async () => {
    const [good, other] = [await registered(), await registered()];
    const c = linkClient(link);
    const [ok, failed] = await Promise.allSettled([
      c.client.login.mutate({ username: good, password: PASSWORD }),
      c.client.login.mutate({ username: other, password: `${PASSWORD}!` }),
    ]);
    expect(c.exchanges).toHaveLength(1);
    expect(c.exchanges[0]?.url).toContain('/trpc/login,login?batch=1');
    expect(ok.status === 'fulfilled' && tokensOf(ok.value).user.username).toBe(good);
    expect(failed.status === 'rejected' && (failed.reason as Error).message).toBe(
      'Incorrect username or password',
    );
    const headers = c.exchanges[0]?.headers;
    expect(headers?.get('www-authenticate')).toBe('Bearer');
    expect(headers?.get('cache-control')).toBe('no-store');
    expect(c.state.refreshToken).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    if (ok.status === 'fulfilled') c.state.accessToken = tokensOf(ok.value).accessToken;
    const [me, sessions] = await Promise.all([c.client.me.query(), c.client.sessions.list.query()]);
    expect(me.username).toBe(good);
    expect(sessions).toHaveLength(1);
    expect(c.exchanges[1]?.url).toContain('/trpc/me,sessions.list?batch=1');
    expect(c.exchanges[1]?.status).toBe(200);
  });

  it.each([
    ['too large', 'PAYLOAD_TOO_LARGE', 413, () => ({ password: 'x'.repeat(40_000) })],
    ['nested too deeply', 'PARSE_ERROR', 400, () => ({ password: nested(40) })],
  ])(
    'a batch refused as a whole (%s) gives every call that error',
    async (_, code, status, extra) => {
      const c = linkClient(link);
      const input = { username: uniqueName(), ...extra() } as {
        username: string;
        password: string;
      };
      const results = await Promise.allSettled([
        c.client.login.mutate(input),
        c.client.login.mutate(input),
      ]);
      expect(c.exchanges).toHaveLength(1);
      expect(c.exchanges[0]?.status).toBe(status);
      for (const result of results) {
        expect(result.status).toBe('rejected');
        const reason = (result as PromiseRejectedResult).reason as TRPCClientError<AppRouter>;
        expect(reason).toBeInstanceOf(TRPCClientError);
        expect(reason.data?.code).toBe(code);
      }
    },
  );
});

function nested(depth: number): unknown {
  return depth === 0 ? 'x' : [nested(depth - 1)];
}
