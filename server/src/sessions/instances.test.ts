import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, PASSWORD, startTestServer, uniqueName } from '../../test/helpers.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;
let a: Server;
let b: Server;
let c: Server;

beforeAll(async () => {
  const db = await createTestDb();
  const env = { LOGIN_MAX_FAILURES: '4', LOGIN_MAX_PER_CLIENT: '0' };
  a = await startTestServer(env, {}, db);
  b = await startTestServer(env, {}, await db.reopen());
  c = await startTestServer(env, {}, await db.reopen());
});
afterAll(async () => {
  await c.close();
  await b.close();
  await a.close();
});

async function call(base: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}/trpc/${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', 'x-latchkey-csrf': '1', ...init.headers },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, res };
}

async function signIn(base: string, username: string) {
  const login = await call(base, 'login', {
    method: 'POST',
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  expect(login.status).toBe(200);
  const data = (login.body.result as { data: { accessToken: string } }).data;
  const cookie = (login.res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { token: data.accessToken, cookie };
}

const me = (base: string, token: string) =>
  call(base, 'me', { headers: { authorization: `Bearer ${token}` } });

describe('three instances on one database', () => {
  it('a token from A works on B and C, and a logout on A is refused on both within one second', async () => {
    const name = uniqueName();
    await call(a.url, 'register', {
      method: 'POST',
      body: JSON.stringify({ username: name, password: PASSWORD }),
    });
    const session = await signIn(a.url, name);
    expect((await me(b.url, session.token)).status).toBe(200);
    expect((await me(c.url, session.token)).status).toBe(200);
    const out = await call(a.url, 'logout', {
      method: 'POST',
      headers: { cookie: session.cookie },
    });
    expect(out.status).toBe(200);
    expect((await me(a.url, session.token)).status).toBe(401);
    const started = Date.now();
    for (const other of [b, c]) {
      let status = 200;
      while (status === 200 && Date.now() - started < 3_000) {
        status = (await me(other.url, session.token)).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(401);
    }
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('counts failed logins across instances', async () => {
    const name = uniqueName();
    await call(a.url, 'register', {
      method: 'POST',
      body: JSON.stringify({ username: name, password: PASSWORD }),
    });
    for (const base of [a.url, b.url, c.url, b.url]) {
      const r = await call(base, 'login', {
        method: 'POST',
        body: JSON.stringify({ username: name, password: 'a wrong guess at the password' }),
      });
      expect(r.status).toBe(401);
    }
    const locked = await call(c.url, 'login', {
      method: 'POST',
      body: JSON.stringify({ username: name, password: PASSWORD }),
    });
    expect(locked.status).toBe(429);
    expect(Number(locked.res.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
