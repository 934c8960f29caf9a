import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  trpcErrorOf,
  uniqueName,
  type TestEnv,
} from '../../test/helpers.ts';
import type { RetryAfter } from '../trpc.ts';
import { countLoginAttemptAndFindUser, throttleClient } from './throttle.service.ts';

const LIMIT = 3;
const WINDOW = 60;

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({
    LOGIN_MAX_FAILURES: String(LIMIT),
    LOGIN_LOCKOUT_SECONDS: String(WINDOW),
    LOGIN_MAX_PER_CLIENT: String(LIMIT),
  });
});
afterAll(() => env.close());

let clientCounter = 0;
const newClient = () => `198.51.100.${++clientCounter}`;
const login = (username: string, password: string) =>
  callerFor(env.deps, { clientAddress: newClient() }).login({ username, password });

/** A deterministic sequence of pseudo-random numbers in [0, 1). */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('the window edge', () => {
  it('refuses guesses straddling it: no span of the window holds more than LOGIN_MAX_FAILURES', async () => {
    const name = uniqueName();
    await callerFor(env.deps, { clientAddress: newClient() }).register({
      username: name,
      password: PASSWORD,
    });
    // One guess opens the window; the rest of the limit goes just before it would end…
    expect((await trpcErrorOf(login(name, 'first guess at the start'))).code).toBe('UNAUTHORIZED');
    env.clock.advance(WINDOW - 1);
    for (let i = 0; i < LIMIT - 1; i++) {
      expect((await trpcErrorOf(login(name, `guess before the edge ${i}`))).code).toBe(
        'UNAUTHORIZED',
      );
    }
    // …and a full set just after it. Only the slot the first guess freed may be used.
    env.clock.advance(2);
    expect((await trpcErrorOf(login(name, 'guess after the edge 0'))).code).toBe('UNAUTHORIZED');
    const refused = await trpcErrorOf(login(name, 'guess after the edge 1'));
    expect(refused.code).toBe('TOO_MANY_REQUESTS');
    // Free again when the guesses made before the edge are a window old.
    expect((refused.cause as RetryAfter).seconds).toBe(WINDOW - 2);
    expect((await trpcErrorOf(login(name, PASSWORD))).code).toBe('TOO_MANY_REQUESTS');
  });

  it('allows exactly while fewer than the limit lie within the window, with Retry-After to the second', async () => {
    const address = newClient();
    const next = random(11);
    const allowedAt: number[] = [];
    let refusals = 0;
    for (let step = 0; step < 150; step++) {
      env.clock.advance(Math.floor(next() * 25_000) / 1000);
      const t = env.clock.now().getTime();
      const inWindow = allowedAt.filter((a) => a > t - WINDOW * 1000);
      const verdict = await throttleClient(env.deps, address);
      expect(verdict.allowed).toBe(inWindow.length < LIMIT);
      if (verdict.allowed) {
        allowedAt.push(t);
        continue;
      }
      refusals++;
      const frees = (inWindow[inWindow.length - LIMIT] ?? 0) + WINDOW * 1000;
      expect(verdict.retryAfter).toBe(Math.ceil((frees - t) / 1000));
    }
    expect(refusals).toBeGreaterThan(20);
    expect(allowedAt.length).toBeGreaterThan(50);
  });

  it('holds the account limit in every span under progressive lockouts too', async () => {
    const name = uniqueName('ghost');
    const next = random(7);
    const allowedAt: number[] = [];
    for (let step = 0; step < 150; step++) {
      env.clock.advance(Math.floor(next() * 40_000) / 1000);
      const { verdict } = await countLoginAttemptAndFindUser(env.deps, name, null);
      if (verdict.allowed) allowedAt.push(env.clock.now().getTime());
    }
    for (const t of allowedAt) {
      expect(allowedAt.filter((a) => a > t - WINDOW * 1000 && a <= t).length).toBeLessThanOrEqual(
        LIMIT,
      );
    }
    expect(allowedAt.length).toBeGreaterThan(LIMIT * 3);
  });
});

describe('progressive lockouts', () => {
  it('double each consecutive lock up to ×16, never lock for good, and a quiet window resets them', async () => {
    const name = uniqueName('ghost');
    const lockFor = async () => {
      for (let i = 0; i < LIMIT; i++) {
        expect((await countLoginAttemptAndFindUser(env.deps, name, null)).verdict.allowed).toBe(
          true,
        );
      }
      const { verdict } = await countLoginAttemptAndFindUser(env.deps, name, null);
      expect([verdict.allowed, verdict.lockoutStarted]).toEqual([false, true]);
      return verdict.retryAfter;
    };
    const locks: number[] = [];
    for (let i = 0; i < 6; i++) {
      locks.push(await lockFor());
      env.clock.advance(locks[i] ?? 0);
    }
    expect(locks).toEqual([60, 120, 240, 480, 960, 960].map((s) => (s * WINDOW) / 60));
    // A window without attempts after the lock: the next lockout is back to the base length.
    env.clock.advance(WINDOW);
    expect(await lockFor()).toBe(WINDOW);
  });
});

describe('concurrent attempts', () => {
  it('cannot overtake either limit, and refused ones record nothing', async () => {
    const name = uniqueName();
    const fromMany = await Promise.all(
      Array.from({ length: 30 }, () => countLoginAttemptAndFindUser(env.deps, name, newClient())),
    );
    expect(fromMany.filter((r) => r.verdict.allowed)).toHaveLength(LIMIT);
    expect(fromMany.filter((r) => r.verdict.lockoutStarted)).toHaveLength(1);

    const sprayer = newClient();
    const names = Array.from({ length: 30 }, () => uniqueName('victim'));
    const fromOne = await Promise.all(
      names.map((n) => countLoginAttemptAndFindUser(env.deps, n, sprayer)),
    );
    expect(fromOne.filter((r) => r.verdict.allowed)).toHaveLength(LIMIT);
    const rows = await env.dbh.db
      .selectFrom('throttle')
      .select(['key', 'hits'])
      .where('key', 'in', [`client:${sprayer}`, ...names.map((n) => `user:${n}`)])
      .execute();
    expect(rows.map((r) => r.hits.length).sort()).toEqual([1, 1, 1, LIMIT]);
  });
});
