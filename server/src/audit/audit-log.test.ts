import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName } from '../../test/helpers.ts';
import { setPassword } from '../users/admin.service.ts';
import { recordEvent } from './audit.service.ts';

/** Authentication events in the JSON logs, as the contract's "Logs" asks, over real HTTP. */

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ LOGIN_MAX_FAILURES: '3' });
});
afterAll(() => server.close());
afterEach(() => {
  // No line carries a password, code or token, whatever the test sent or received.
  const log = server.log.join('\n');
  for (const secret of secrets) {
    expect(log.includes(secret), `log contains ${secret.slice(0, 8)}…`).toBe(false);
  }
  expect(log).not.toMatch(/"(password|accessToken|refreshToken|token|cookie)":"[^[]/i);
});

interface Line {
  time?: string;
  level?: string;
  event?: string;
  user?: string | null;
  clientAddress?: string | null;
  requestId?: string | null;
  reason?: string;
}

const JSON_CSRF = { 'content-type': 'application/json', 'x-latchkey-csrf': '1' };
/** Everything secret this file sends or receives; none of it may reach a log line. */
const secrets: string[] = [PASSWORD];

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/trpc/${path}`, {
    method: 'POST',
    headers: { ...JSON_CSRF, ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const cookie = /^__Host-latchkey_rt=([^;]+)/.exec(res.headers.getSetCookie()[0] ?? '')?.[1];
  if (cookie) secrets.push(cookie);
  const token = /"accessToken":"([^"]+)"/.exec(text)?.[1];
  if (token) secrets.push(token);
  return { status: res.status, requestId: res.headers.get('x-request-id') ?? '', cookie, token };
}

const credentials = (username: string, password = PASSWORD) => ({ username, password });

/** The event lines one request produced. */
function eventsOf(requestId: string): Line[] {
  return server.log
    .map((line) => JSON.parse(line) as Line)
    .filter((line) => line.event !== undefined && line.requestId === requestId);
}

function expectOneEvent(requestId: string, event: string, user: string): Line {
  expect(requestId).not.toBe('');
  const lines = eventsOf(requestId);
  expect(lines).toHaveLength(1);
  const line = lines[0] ?? {};
  expect(line).toMatchObject({ event, user, requestId });
  expect(line.clientAddress).toMatch(/127\.0\.0\.1/);
  expect(Math.abs(Date.parse(line.time ?? '') - Date.now())).toBeLessThan(60_000);
  return line;
}

describe('authentication events in the JSON logs', () => {
  it('a successful sign-in is one line with time, event, user, client address and request id', async () => {
    const name = uniqueName();
    const registered = await post('register', credentials(name));
    expectOneEvent(registered.requestId, 'register', name);
    const login = await post('login', credentials(name));
    expect(login.status).toBe(200);
    expect(expectOneEvent(login.requestId, 'login.success', name).level).toBe('info');
  });

  it('a failed sign-in is one line, with its reason, for known and unknown users alike', async () => {
    const name = uniqueName();
    await post('register', credentials(name));
    const wrong = await post('login', credentials(name, 'not the password at all, no'));
    expect(wrong.status).toBe(401);
    expect(expectOneEvent(wrong.requestId, 'login.failure', name).reason).toBe('bad_password');
    const nobody = uniqueName('nobody');
    const unknown = await post('login', credentials(nobody));
    expect(expectOneEvent(unknown.requestId, 'login.failure', nobody).reason).toBe('unknown_user');
  });

  it('a throttled sign-in is one line', async () => {
    const name = uniqueName();
    for (let i = 0; i < 3; i++) await post('login', credentials(name, `wrong guess number ${i}`));
    const throttled = await post('login', credentials(name));
    expect(throttled.status).toBe(429);
    expectOneEvent(throttled.requestId, 'login.throttled', name);
  });

  it('logout and a refresh-token reuse are one line each', async () => {
    const name = uniqueName();
    await post('register', credentials(name));
    const login = await post('login', credentials(name));
    const first = login.cookie ?? '';
    const rotated = await post('refresh', {}, { cookie: `__Host-latchkey_rt=${first}` });
    expect(rotated.status).toBe(200);
    expect(eventsOf(rotated.requestId)).toEqual([]);
    const out = await post('logout', {}, { cookie: `__Host-latchkey_rt=${rotated.cookie ?? ''}` });
    expect(out.status).toBe(200);
    expectOneEvent(out.requestId, 'logout', name);

    const again = await post('login', credentials(name));
    const next = await post('refresh', {}, { cookie: `__Host-latchkey_rt=${again.cookie ?? ''}` });
    await post('refresh', {}, { cookie: `__Host-latchkey_rt=${next.cookie ?? ''}` });
    const reuse = await post('refresh', {}, { cookie: `__Host-latchkey_rt=${again.cookie ?? ''}` });
    expect(reuse.status).toBe(401);
    expect(expectOneEvent(reuse.requestId, 'refresh.reuse_detected', name).level).toBe('warn');
  });

  it('an operator action is one line naming the user', async () => {
    const name = uniqueName();
    await post('register', credentials(name));
    const before = server.log.length;
    expect((await setPassword(server.deps, name, 'an operator chosen passphrase')).ok).toBe(true);
    const lines = server.log.slice(before).map((line) => JSON.parse(line) as Line);
    expect(lines.filter((line) => line.event !== undefined)).toEqual([
      expect.objectContaining({ event: 'user.password_set', user: name, requestId: null }),
    ]);
  });

  it('can log an event without storing its row', async () => {
    const name = uniqueName('unstored');
    const entry = { event: 'login.throttled' as const, username: name, requestId: 'r-unstored' };
    await recordEvent(server.deps, entry, { store: false });
    expect(eventsOf('r-unstored')).toEqual([expect.objectContaining({ event: 'login.throttled' })]);
    const rows = await server.dbh.db
      .selectFrom('audit_events')
      .select('id')
      .where('username', '=', name)
      .execute();
    expect(rows).toEqual([]);
  });
});
