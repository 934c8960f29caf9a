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
import { setDisabled } from '../users/admin.service.ts';
import { MAX_LIVE_SESSIONS, startSession } from './session.service.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(() => env.close());

const codeOf = async (promise: Promise<unknown>) => (await trpcErrorOf(promise)).code;
const me = (token: string) => callerFor(env.deps, { token }).me();

async function register(name = uniqueName()) {
  return callerFor(env.deps).register({ username: name, password: PASSWORD });
}

async function login(name: string, userAgent = 'vitest') {
  const cookies: string[] = [];
  const out = tokensOf(
    await callerFor(env.deps, { cookies, userAgent }).login({
      username: name,
      password: PASSWORD,
    }),
  );
  return { accessToken: out.accessToken, refreshToken: refreshTokenFrom(cookies) ?? '' };
}

async function liveCount(userId: string): Promise<number> {
  const row = await env.dbh.db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('at most MAX_LIVE_SESSIONS live sessions per user', () => {
  it('is the contract’s 100', () => {
    expect(MAX_LIVE_SESSIONS).toBe(100);
  });

  it('a sign-in beyond the limit ends the session used least recently, at once', async () => {
    const user = await register();
    const first = await login(user.username, 'first device');
    env.clock.advance(1);
    const second = await login(user.username, 'second device');
    env.clock.advance(1);
    // Using the first session makes the second, younger one the least recently used.
    const used = await callerFor(env.deps, { refreshToken: first.refreshToken }).refresh();
    env.clock.advance(1);
    for (let i = 2; i < MAX_LIVE_SESSIONS; i++) await login(user.username);
    const full = await callerFor(env.deps, { token: used.accessToken }).sessions.list();
    expect(full).toHaveLength(MAX_LIVE_SESSIONS);
    const doomed = full.find((s) => s.userAgent === 'second device');
    expect(doomed).toBeDefined();

    // Cached as live on this instance: the eviction must reach the cache too.
    expect((await me(second.accessToken)).username).toBe(user.username);
    const newest = await login(user.username, 'newest device');

    expect(await codeOf(me(second.accessToken))).toBe('UNAUTHORIZED');
    const stale = callerFor(env.deps, { refreshToken: second.refreshToken }).refresh();
    expect(await codeOf(stale)).toBe('UNAUTHORIZED');
    expect((await me(used.accessToken)).username).toBe(user.username);
    expect((await me(newest.accessToken)).username).toBe(user.username);
    const list = await callerFor(env.deps, { token: newest.accessToken }).sessions.list();
    expect(list).toHaveLength(MAX_LIVE_SESSIONS);
    expect(list.map((s) => s.id)).not.toContain(doomed?.id);
    expect(await liveCount(user.id)).toBe(MAX_LIVE_SESSIONS);

    const ended = await env.dbh.db
      .selectFrom('sessions')
      .select(['id', 'revoked_reason'])
      .where('user_id', '=', user.id)
      .where('revoked_at', 'is not', null)
      .execute();
    expect(ended).toEqual([{ id: doomed?.id, revoked_reason: 'session_limit' }]);
    const audited = await env.dbh.db
      .selectFrom('audit_events')
      .select(['reason', 'session_id', 'username'])
      .where('event', '=', 'session.revoked')
      .where('user_id', '=', user.id)
      .execute();
    expect(audited).toEqual([
      { reason: 'session_limit', session_id: doomed?.id, username: user.username },
    ]);
  });

  it('concurrent sign-ins of one user never leave more than the limit', async () => {
    const registered = await register();
    const user = { ...registered, createdAt: new Date(registered.createdAt) };
    const meta = { clientAddress: '203.0.113.9', userAgent: 'vitest', requestId: null };
    const start = () =>
      startSession(env.deps, user, meta, {
        withRefreshToken: true,
        audit: { event: 'login.success', userId: user.id, username: user.username },
      });
    for (let i = 0; i < MAX_LIVE_SESSIONS - 10; i++) await start();
    const burst = await Promise.all(Array.from({ length: 40 }, start));
    expect(burst.every((s) => s !== null)).toBe(true);
    expect(await liveCount(user.id)).toBe(MAX_LIVE_SESSIONS);
    // Every session started in the burst that survived is usable; the rest were ended, not lost.
    const revoked = await env.dbh.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', user.id)
      .where('revoked_reason', '=', 'session_limit')
      .executeTakeFirstOrThrow();
    expect(Number(revoked.n)).toBe(30);
  });

  it('does not count sessions that have already ended', async () => {
    const user = await register();
    const first = await login(user.username);
    await callerFor(env.deps, { refreshToken: first.refreshToken }).logout();
    for (let i = 0; i < MAX_LIVE_SESSIONS; i++) await login(user.username);
    expect(await liveCount(user.id)).toBe(MAX_LIVE_SESSIONS);
    const limited = await env.dbh.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', user.id)
      .where('revoked_reason', '=', 'session_limit')
      .execute();
    expect(limited).toEqual([]);
  });
});

describe('startSession', () => {
  it('gives a user disabled while signing in no session and writes nothing', async () => {
    const registered = await register();
    const user = { ...registered, createdAt: new Date(registered.createdAt) };
    await setDisabled(env.deps, user.username, true);
    const meta = { clientAddress: '203.0.113.9', userAgent: 'vitest', requestId: null };
    const started = await startSession(env.deps, user, meta, {
      withRefreshToken: true,
      audit: { event: 'login.success', userId: user.id, username: user.username },
    });
    expect(started).toBeNull();
    const written = await env.dbh.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', user.id)
      .execute();
    expect(written).toEqual([]);
    const events = await env.dbh.db
      .selectFrom('audit_events')
      .select('event')
      .where('user_id', '=', user.id)
      .where('event', '=', 'login.success')
      .execute();
    expect(events).toEqual([]);
  });
});
