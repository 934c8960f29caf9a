import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  refreshTokenFrom,
  trpcErrorOf,
  uniqueName,
  type TestEnv,
  tokensOf,
} from '../../test/helpers.ts';

/** Refresh tokens presented after they were rotated: to `refresh`, and to `logout` (RFC 9700). */

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(() => env.close());

const codeOf = async (promise: Promise<unknown>) => (await trpcErrorOf(promise)).code;
const me = (token: string) => callerFor(env.deps, { token }).me();
const GRACE = () => env.deps.config.refreshGraceSeconds;

async function signedIn(name = uniqueName()) {
  await callerFor(env.deps)
    .register({ username: name, password: PASSWORD })
    .catch(() => null);
  const cookies: string[] = [];
  const login = tokensOf(
    await callerFor(env.deps, { cookies }).login({
      username: name,
      password: PASSWORD,
    }),
  );
  return { name, accessToken: login.accessToken, refreshToken: refreshTokenFrom(cookies) ?? '' };
}

async function refresh(refreshToken: string) {
  const cookies: string[] = [];
  const result = await callerFor(env.deps, { refreshToken, cookies }).refresh();
  return { accessToken: result.accessToken, refreshToken: refreshTokenFrom(cookies) ?? '' };
}

const logout = (refreshToken: string, everywhere?: boolean) =>
  callerFor(env.deps, { refreshToken }).logout(
    everywhere === undefined ? undefined : { everywhere },
  );

/** Whether this process still holds the access token's session in its live-session cache. */
function cached(accessToken: string): boolean {
  return env.deps.liveSessions.remembers(String(decodeJwt(accessToken).sid));
}

async function reuseEvents(username: string) {
  return env.dbh.db
    .selectFrom('audit_events')
    .select(['reason', 'session_id'])
    .where('event', '=', 'refresh.reuse_detected')
    .where('username', '=', username)
    .execute();
}

describe('a replayed refresh token that changes nothing', () => {
  it('does not flush the session cache (nor NOTIFY other instances)', async () => {
    const s = await signedIn();
    const next = await refresh(s.refreshToken);
    await refresh(next.refreshToken);
    // First replay: a real reuse, the session is revoked and announced.
    expect(await codeOf(refresh(s.refreshToken))).toBe('UNAUTHORIZED');

    const bystander = await signedIn();
    await me(bystander.accessToken);
    expect(cached(bystander.accessToken)).toBe(true);
    // Replays against the session already revoked: nothing changed, nothing to announce.
    expect(await codeOf(refresh(s.refreshToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(refresh(next.refreshToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(logout(s.refreshToken))).toBe('UNAUTHORIZED');
    expect(cached(bystander.accessToken)).toBe(true);
    expect(await reuseEvents(s.name)).toHaveLength(1);
  });
});

describe('logout with an already-rotated refresh token', () => {
  it('is reuse: the session (its whole family) ends, the call is refused and audited', async () => {
    const s = await signedIn();
    const next = await refresh(s.refreshToken);
    env.clock.advance(GRACE() + 1);
    expect(await codeOf(logout(s.refreshToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(me(next.accessToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(refresh(next.refreshToken))).toBe('UNAUTHORIZED');
    expect(await reuseEvents(s.name)).toEqual([
      { reason: 'logout', session_id: String(decodeJwt(next.accessToken).sid) },
    ]);
    const ended = await env.dbh.db
      .selectFrom('audit_events')
      .select('event')
      .where('username', '=', s.name)
      .where('event', 'in', ['logout', 'logout.everywhere'])
      .execute();
    expect(ended).toEqual([]);
  });

  it('with everywhere never ends the user’s other sessions on the strength of a stale token', async () => {
    const a = await signedIn();
    const b = await signedIn(a.name);
    const next = await refresh(a.refreshToken);
    env.clock.advance(GRACE() + 1);
    expect(await codeOf(logout(a.refreshToken, true))).toBe('UNAUTHORIZED');
    expect(await codeOf(me(next.accessToken))).toBe('UNAUTHORIZED');
    expect((await me(b.accessToken)).username).toBe(a.name);
    expect((await refresh(b.refreshToken)).refreshToken).not.toBe('');
  });

  it('is reuse for an older ancestor even inside the grace window', async () => {
    const a = await signedIn();
    const b = await signedIn(a.name);
    const first = await refresh(a.refreshToken);
    const second = await refresh(first.refreshToken);
    expect(await codeOf(logout(a.refreshToken, true))).toBe('UNAUTHORIZED');
    expect(await codeOf(me(second.accessToken))).toBe('UNAUTHORIZED');
    expect((await me(b.accessToken)).username).toBe(a.name);
  });

  it('accepts the immediate predecessor inside the grace window, as refresh does (two tabs)', async () => {
    const a = await signedIn();
    const b = await signedIn(a.name);
    const next = await refresh(a.refreshToken);
    expect(await logout(a.refreshToken, true)).toEqual({ ok: true });
    expect(await codeOf(me(next.accessToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(refresh(next.refreshToken))).toBe('UNAUTHORIZED');
    expect(await codeOf(me(b.accessToken))).toBe('UNAUTHORIZED');
    expect(await reuseEvents(a.name)).toEqual([]);
  });
});
