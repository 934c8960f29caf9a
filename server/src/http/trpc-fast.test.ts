import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTRPCClient, httpBatchLink, httpLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName, tokensOf } from '../../test/helpers.ts';
import type { AppRouter } from '../routers/index.ts';
import { createAdapterHandler } from './trpc-handler.ts';

/**
 * The lean path must be indistinguishable from tRPC's own adapter: both servers below share one
 * set of dependencies; one answers through the app (lean path for single queries and mutations),
 * the other through nothing but the adapter.
 */
type App = Awaited<ReturnType<typeof startTestServer>>;
let app: App;
let adapterServer: Server;
let adapterUrl: string;
let token: string;
let username: string;

beforeAll(async () => {
  app = await startTestServer();
  const adapter = createAdapterHandler(app.deps);
  adapterServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    void adapter(req, res, url.pathname.replace(/^\/trpc\//, ''), url.searchParams);
  });
  await new Promise<void>((resolve) => adapterServer.listen(0, '127.0.0.1', resolve));
  adapterUrl = `http://127.0.0.1:${(adapterServer.address() as AddressInfo).port}`;
  const name = uniqueName();
  username = name;
  const api = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${app.url}/trpc` })] });
  await api.register.mutate({ username: name, password: PASSWORD });
  token = tokensOf(await api.login.mutate({ username: name, password: PASSWORD })).accessToken;
});
afterAll(async () => {
  await new Promise((resolve) => adapterServer.close(resolve));
  await app.close();
});

const IGNORED = new Set([
  'date',
  'x-request-id',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'x-content-type-options',
  'content-security-policy',
  'set-cookie',
]);

/** Fresh secrets differ per response; everything around them must not. */
const maskSecrets = (text: string) =>
  text
    .replace(/"(accessToken|refreshToken)":"[^"]+"/g, '"$1":"…"')
    .replace(/__Host-latchkey_rt=[^;]+;/g, '__Host-latchkey_rt=…;');

async function snapshot(base: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}/trpc/${path}`, init);
  const headers = [...res.headers.entries()].filter(([k]) => !IGNORED.has(k));
  const cookies = res.headers.getSetCookie().map(maskSecrets);
  return { status: res.status, headers, cookies, body: maskSecrets(await res.text()) };
}

const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
const json = (body: unknown, type = 'application/json'): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': type },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('lean path matches the tRPC adapter byte for byte', () => {
  const cases: Array<[string, string, () => RequestInit]> = [
    ['me, success', 'me', () => auth(token)],
    ['sessions.list, success', 'sessions.list', () => auth(token)],
    ['me with an ignored input', `me?input=${encodeURIComponent('{"x":1}')}`, () => auth(token)],
    ['me, no token (UNAUTHORIZED)', 'me', () => ({})],
    ['me, bad token (UNAUTHORIZED)', 'me', () => auth('x.y.z')],
    ['me, malformed input JSON', 'me?input=%7Bnope', () => auth(token)],
    ['unknown procedure', 'nope', () => ({})],
    ['query sent to a mutation path', 'login', () => ({})],
    ['batch of queries', 'me,sessions.list?batch=1', () => auth(token)],
    ['mutation with input', 'login', () => json({ username: 'nobody-here', password: PASSWORD })],
    ['mutation, success (login)', 'login', () => json({ username, password: PASSWORD })],
    [
      'mutation, content type in capitals with a charset',
      'login',
      () => json({ username, password: PASSWORD }, 'Application/JSON; charset=utf-8'),
    ],
    ['mutation, empty body (logout)', 'logout', () => json('')],
    ['mutation, body not JSON', 'login', () => json('{"username":')],
    ['mutation, body JSON null', 'login', () => json('null')],
    [
      'mutation, text/plain body',
      'login',
      () => json({ username, password: PASSWORD }, 'text/plain'),
    ],
    ['mutation without a content type', 'login', () => ({ method: 'POST', body: '{}' })],
    ['POST to a query path', 'me', () => ({ ...json({}), ...auth(token) })],
    ['mutation with bad input (BAD_REQUEST)', 'register', () => json({ username: 'x' })],
    [
      'batched mutations',
      'login,login?batch=1',
      () => json({ 0: { username: 'a', password: 'b' } }),
    ],
  ];

  it.each(cases)('%s', async (_, path, init) => {
    const lean = await snapshot(app.url, path, init());
    const reference = await snapshot(adapterUrl, path, init());
    expect(lean).toEqual(reference);
  });

  it.each([
    ['a query', 'me', () => auth(token)],
    ['a mutation', 'login', () => json({ username, password: PASSWORD })],
  ])(
    'really answers %s on the lean path (one write with a length, not a stream)',
    async (_, path, init) => {
      const lean = await fetch(`${app.url}/trpc/${path}`, init());
      const reference = await fetch(`${adapterUrl}/trpc/${path}`, init());
      expect(lean.status).toBe(200);
      expect(lean.headers.get('content-length')).toBe(String((await lean.text()).length));
      expect(reference.headers.get('transfer-encoding')).toBe('chunked');
      await reference.text();
    },
  );

  it('gives @trpc/client the same results through httpLink and httpBatchLink', async () => {
    for (const link of [httpLink, httpBatchLink]) {
      const results = await Promise.all(
        [app.url, adapterUrl].map(async (base) => {
          const api = createTRPCClient<AppRouter>({
            links: [link({ url: `${base}/trpc`, headers: { authorization: `Bearer ${token}` } })],
          });
          const [me, sessions] = await Promise.all([api.me.query(), api.sessions.list.query()]);
          const refused = await createTRPCClient<AppRouter>({
            links: [link({ url: `${base}/trpc` })],
          })
            .me.query()
            .catch((e: unknown) => (e as Error).message);
          return { me, sessions: sessions.length, refused };
        }),
      );
      expect(results[0]).toEqual(results[1]);
      expect(results[0]?.refused).toBe('Not authenticated');
    }
  });
});
