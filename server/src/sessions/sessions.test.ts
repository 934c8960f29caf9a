import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  refreshTokenFrom,
  uniqueName,
  type TestEnv,
  trpcErrorOf,
  tokensOf,
} from '../../test/helpers.ts';
import { revokeAllSessions, setPassword } from '../users/admin.service.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ REFRESH_TOKEN_TTL: '3600', REFRESH_IDLE_TTL: '600' });
});
afterAll(() => env.close());

const codeOf = async (promise: Promise<unknown>) => (await trpcErrorOf(promise)).code;

/** Registers a user and signs in; returns the access token and the refresh cookie's token. */
async function signedIn(name = uniqueName(), userAgent = 'vitest') {
  await callerFor(env.deps)
    .register({ username: name, password: PASSWORD })
    .catch(() => null);
  const cookies: string[] = [];
  const login = tokensOf(
    await callerFor(env.deps, { cookies, userAgent }).login({
      username: name,
      password: PASSWORD,
    }),
  );
  const refreshToken = refreshTokenFrom(cookies);
  expect(refreshToken).not.toBeNull();
  return { name, accessToken: login.accessToken, refreshToken: refreshToken ?? '' };
}

async function refresh(refreshToken: string) {
  const cookies: string[] = [];
  const result = await callerFor(env.deps, { refreshToken, cookies }).refresh();
  return { ...result, refreshToken: refreshTokenFrom(cookies) };
}

const me = (token: string) => callerFor(env.deps, { token }).me();

describe('refresh', () => {
  it('rotates the refresh token and returns a working access token', async () => {
    const s = await signedIn();
    const next = await refresh(s.refreshToken);
    expect(next.refreshToken).not.toBeNull();
    expect(next.refreshToken).not.toBe(s.refreshToken);
    expect((await me(next.accessToken)).username).toBe(s.name);
    const again = await refresh(next.refreshToken ?? '');
    expect(again.refreshToken).not.toBe(next.refreshToken);
  });

  it('revokes the whole session, access tokens included, when a rotated token is reused', async () => {
    const s = await signedIn();
    const first = await refresh(s.refreshToken);
    const second = await refresh(first.refreshToken ?? '');
    // The original token is two rotations old: outside any grace, it can only be a stolen copy.
    expect(await codeOf(refresh(s.refreshToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(refresh(second.refreshToken ?? ''))).toBe('UNAUTHORIZED');
    expect(await codeOf(me(second.accessToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(me(s.accessToken))).toBe('UNAUTHORIZED');
    const events = await env.dbh.db
      .selectFrom('audit_events')
      .select('reason')
      .where('username', '=', s.name)
      .where('event', '=', 'refresh.reuse_detected')
      .execute();
    // One event: the second presentation found the session already revoked and changed nothing.
    expect(events).toEqual([{ reason: 'refresh' }]);
  });

  it('treats the immediate predecessor after the grace window as reuse', async () => {
    const s = await signedIn();
    const next = await refresh(s.refreshToken);
    env.clock.advance(11);
    expect(await codeOf(refresh(s.refreshToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(refresh(next.refreshToken ?? ''))).toBe('UNAUTHORIZED');
  });

  it('lets the immediate predecessor in the grace window get an access token but no successor', async () => {
    const s = await signedIn();
    const winner = await refresh(s.refreshToken);
    const loser = await refresh(s.refreshToken);
    expect(loser.refreshToken).toBeNull();
    expect((await me(loser.accessToken)).username).toBe(s.name);
    // The winner's successor is still the one live refresh token.
    expect((await refresh(winner.refreshToken ?? '')).refreshToken).not.toBeNull();
  });

  it('leaves at most one live successor after 20 parallel refreshes with one token', async () => {
    const s = await signedIn();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => refresh(s.refreshToken)),
    );
    const successors = results
      .filter((r) => r.status === 'fulfilled')
      .map((r) => r.value.refreshToken)
      .filter((t): t is string => t !== null);
    expect(successors).toHaveLength(1);
    const live = await env.dbh.db
      .selectFrom('refresh_tokens as t')
      .innerJoin('sessions as s', 's.id', 't.session_id')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('u.username', '=', s.name)
      .where('t.rotated_at', 'is', null)
      .executeTakeFirstOrThrow();
    expect(Number(live.n)).toBe(1);
  });

  it('ends the session at its absolute lifetime even when used constantly', async () => {
    const s = await signedIn();
    let token = s.refreshToken;
    for (let i = 0; i < 7; i++) {
      env.clock.advance(500);
      token = (await refresh(token)).refreshToken ?? '';
    }
    env.clock.advance(200); // 3700 s since login > REFRESH_TOKEN_TTL 3600
    expect(await codeOf(refresh(token))).toBe('UNAUTHORIZED');
  });

  it('ends the session after the idle lifetime without use', async () => {
    const s = await signedIn();
    env.clock.advance(601);
    expect(await codeOf(refresh(s.refreshToken))).toBe('UNAUTHORIZED');
  });

  it('refuses missing, malformed and unknown tokens', async () => {
    expect(await codeOf(callerFor(env.deps).refresh())).toBe('UNAUTHORIZED');
    expect(await codeOf(refresh('garbage'))).toBe('UNAUTHORIZED');
    expect(await codeOf(refresh('A'.repeat(43)))).toBe('UNAUTHORIZED');
  });
});

describe('logout', () => {
  it('kills the access token at once and leaves other sessions alive', async () => {
    const a = await signedIn();
    const b = await signedIn(a.name);
    const out = await callerFor(env.deps, { refreshToken: a.refreshToken }).logout();
    expect(out).toEqual({ ok: true });
    expect(await codeOf(me(a.accessToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(refresh(a.refreshToken))).toBe('UNAUTHORIZED');
    expect((await me(b.accessToken)).username).toBe(a.name);
  });

  it('with everywhere ends every session of the user', async () => {
    const a = await signedIn();
    const b = await signedIn(a.name);
    await callerFor(env.deps, { refreshToken: a.refreshToken }).logout({ everywhere: true });
    expect(await codeOf(me(b.accessToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(refresh(b.refreshToken))).toBe('UNAUTHORIZED');
  });

  it('clears the cookie', async () => {
    const a = await signedIn();
    const cookies: string[] = [];
    await callerFor(env.deps, { refreshToken: a.refreshToken, cookies }).logout();
    expect(cookies.at(-1)).toMatch(/^__Host-latchkey_rt=; .*Max-Age=0$/);
  });
});

describe('CSRF on cookie procedures', () => {
  const refusals = [
    { name: 'no header', facts: { csrfHeader: null } },
    { name: 'wrong header value', facts: { csrfHeader: 'true' } },
    { name: 'foreign Origin', facts: { origin: 'https://evil.example' } },
    { name: 'Origin null', facts: { origin: 'null' } },
    { name: 'cross-site fetch', facts: { secFetchSite: 'cross-site' } },
    { name: 'multipart/form-data', facts: { contentType: 'multipart/form-data; boundary=x' } },
    { name: 'text/plain', facts: { contentType: 'text/plain' } },
    { name: 'form-urlencoded', facts: { contentType: 'application/x-www-form-urlencoded' } },
  ];

  it.each(refusals)(
    'refuses refresh and logout with $name, changing nothing',
    async ({ facts }) => {
      const s = await signedIn();
      const cookies: string[] = [];
      const call = callerFor(env.deps, { refreshToken: s.refreshToken, cookies, ...facts });
      expect(await codeOf(call.refresh())).toBe('FORBIDDEN');
      expect(await codeOf(call.logout({ everywhere: true }))).toBe('FORBIDDEN');
      expect(cookies).toEqual([]);
      expect((await me(s.accessToken)).username).toBe(s.name);
      expect((await refresh(s.refreshToken)).refreshToken).not.toBeNull();
    },
  );

  it('accepts the configured public origin', async () => {
    const s = await signedIn();
    const origin = env.deps.config.publicUrl;
    const result = await callerFor(env.deps, { refreshToken: s.refreshToken, origin }).refresh();
    expect(result.user.username).toBe(s.name);
  });
});

describe('sessions.list and sessions.revoke', () => {
  it('lists live sessions with the current one marked, and revoking one signs it out', async () => {
    const a = await signedIn(uniqueName(), 'Laptop');
    const b = await signedIn(a.name, 'Phone');
    const list = await callerFor(env.deps, { token: a.accessToken }).sessions.list();
    expect(list).toHaveLength(2);
    expect(Object.keys(list[0] ?? {}).sort()).toEqual(
      ['createdAt', 'current', 'expiresAt', 'id', 'lastUsedAt', 'userAgent'].sort(),
    );
    const current = list.find((s) => s.current);
    const other = list.find((s) => !s.current);
    expect(current?.userAgent).toBe('Laptop');
    expect(other?.userAgent).toBe('Phone');
    await callerFor(env.deps, { token: a.accessToken }).sessions.revoke({ id: other?.id ?? '' });
    expect(await codeOf(me(b.accessToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(refresh(b.refreshToken))).toBe('UNAUTHORIZED');
    expect((await me(a.accessToken)).username).toBe(a.name);
  });

  it("cannot revoke another user's session", async () => {
    const a = await signedIn();
    const b = await signedIn();
    const [bSession] = await callerFor(env.deps, { token: b.accessToken }).sessions.list();
    const code = await codeOf(
      callerFor(env.deps, { token: a.accessToken }).sessions.revoke({ id: bSession?.id ?? '' }),
    );
    expect(code).toBe('NOT_FOUND');
    expect((await me(b.accessToken)).username).toBe(b.name);
  });
});

describe('account.changePassword', () => {
  const NEW = 'a brand new passphrase for this test';

  it('verifies the current password, ends other sessions and keeps this one', async () => {
    const a = await signedIn();
    const b = await signedIn(a.name);
    const wrong = callerFor(env.deps, { token: a.accessToken }).account.changePassword({
      currentPassword: 'not my password at all',
      newPassword: NEW,
    });
    expect(await codeOf(wrong)).toBe('BAD_REQUEST');
    await callerFor(env.deps, { token: a.accessToken }).account.changePassword({
      currentPassword: PASSWORD,
      newPassword: NEW,
    });
    expect(await codeOf(me(b.accessToken))).toBe('UNAUTHORIZED');
    expect((await me(a.accessToken)).username).toBe(a.name);
    const old = callerFor(env.deps).login({ username: a.name, password: PASSWORD });
    expect(await codeOf(old)).toBe('UNAUTHORIZED');
    tokensOf(await callerFor(env.deps).login({ username: a.name, password: NEW }));
  });
});

describe('operator revocation', () => {
  it('sessions revoke and set-password end every access token of the user at once', async () => {
    const a = await signedIn();
    await revokeAllSessions(env.deps, a.name);
    expect(await codeOf(me(a.accessToken))).toBe('UNAUTHORIZED');
    const b = await signedIn(a.name);
    await setPassword(env.deps, a.name, 'operator chosen passphrase here');
    expect(await codeOf(me(b.accessToken))).toBe('UNAUTHORIZED');
  });
});
