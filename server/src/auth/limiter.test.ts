import type { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  uniqueName,
  type TestEnv,
} from '../../test/helpers.ts';
import { RetryAfter } from '../trpc.ts';
import { BoundedLimiter, OverloadedError, WaitEstimate } from './limiter.ts';
import { createPasswordHasher } from './password.ts';

describe('BoundedLimiter', () => {
  it('runs at most `concurrency` tasks at once and refuses beyond the queue', async () => {
    const limiter = new BoundedLimiter(2, 1);
    let running = 0;
    let peak = 0;
    const release: Array<() => void> = [];
    const task = () =>
      limiter.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => release.push(resolve));
        running--;
      });
    const accepted = [task(), task(), task()];
    await expect(task()).rejects.toBeInstanceOf(OverloadedError);
    let finished = false;
    const all = Promise.all(accepted).then(() => (finished = true));
    while (!finished) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await all;
    expect(peak).toBe(2);
  });
});

describe('BoundedLimiter with a longest wait', () => {
  it('refuses, without running it, a task that waited past maxWaitMs when its turn comes', async () => {
    const limiter = new BoundedLimiter(1, 4, 30);
    let finishFirst: () => void = () => {};
    const ran: string[] = [];
    const first = limiter.run(async () => {
      ran.push('first');
      await new Promise<void>((resolve) => (finishFirst = resolve));
    });
    const late = limiter.run(() => Promise.resolve(ran.push('late')));
    await new Promise((r) => setTimeout(r, 60));
    const onTime = limiter.run(() => Promise.resolve(ran.push('on time')));
    finishFirst();
    await first;
    await expect(late).rejects.toBeInstanceOf(OverloadedError);
    await onTime;
    expect(ran).toEqual(['first', 'on time']);
    // The slot was handed on, not lost: the next task runs at once.
    await limiter.run(() => Promise.resolve(ran.push('after')));
    expect(ran).toEqual(['first', 'on time', 'after']);
  });
});

describe('WaitEstimate', () => {
  const steady = (concurrency: number, ms: number, jobs = 50) => {
    const estimate = new WaitEstimate(concurrency);
    for (let i = 0; i < jobs; i++) estimate.record(ms);
    return estimate;
  };

  it('expects no wait while a thread is free, then one job per thread ahead', () => {
    const estimate = steady(2, 20);
    expect(estimate.expectedMs(0)).toBe(0);
    expect(estimate.expectedMs(1)).toBe(0);
    expect(estimate.expectedMs(2)).toBeCloseTo(10);
    expect(estimate.expectedMs(17)).toBeCloseTo(160);
  });

  it('does not close a 3 s gate for 16 waiting logins because one job was starved', () => {
    // The failure this guards against: one 400 ms job (a burst kept the thread off the core)
    // made 16 queued logins look like 6.4 s, the refusals kept the core busy, and the gate stayed
    // shut.
    const estimate = steady(1, 20);
    estimate.record(400);
    expect(estimate.expectedMs(16)).toBeLessThan(3000);
  });

  it('follows a lasting slowdown within a few jobs', () => {
    const estimate = steady(1, 20);
    for (let i = 0; i < 15; i++) estimate.record(400);
    expect(estimate.expectedMs(16)).toBeGreaterThan(3000);
  });
});

describe('admission by expected wait', () => {
  it('refuses at once when recent jobs say a newcomer would wait longer than maxWaitMs', async () => {
    // About 100 ms per job here: with one admitted already, a newcomer would wait one job.
    const hasher = await createPasswordHasher(
      { memoryCost: 19_456, timeCost: 8, parallelism: 1 },
      { concurrency: 1, queueLimit: 50, maxWaitMs: 50 },
    );
    try {
      // Until a job has been timed only the count applies.
      const first = hasher.admit();
      const second = hasher.admit();
      await hasher.hash(PASSWORD);
      first();
      second();
      expect(hasher.saturated()).toBe(false);
      const running = hasher.admit();
      expect(hasher.saturated()).toBe(true);
      expect(() => hasher.admit()).toThrow(OverloadedError);
      running();
      expect(hasher.saturated()).toBe(false);
    } finally {
      await hasher.close();
    }
  });
});

describe('a login refused after waiting for its turn', () => {
  let env: TestEnv;
  beforeAll(async () => {
    // One thread, so two turns; about 100 ms per hash; anything that waits at all waits too long.
    env = await createTestEnv(
      {},
      {
        hashConcurrency: 1,
        hashQueue: 8,
        hashMaxWaitMs: 1,
        argon2: { memoryCost: 19_456, timeCost: 8, parallelism: 1 },
      },
    );
  });
  afterAll(() => env.close());

  it('answers 503 having counted nothing, while the logins that got a turn are judged', async () => {
    const username = uniqueName();
    const addresses = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'];
    const results = await Promise.allSettled(
      addresses.map((clientAddress) =>
        callerFor(env.deps, { clientAddress }).login({ username, password: PASSWORD }),
      ),
    );
    const codes = results.map((r) =>
      r.status === 'rejected' ? (r.reason as TRPCError).code : 'OK',
    );
    // Two turns: both hash (and fail: no such user); the other two waited and were refused.
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(2);
    expect(codes.filter((c) => c === 'SERVICE_UNAVAILABLE')).toHaveLength(2);
    const rows = await env.dbh.db
      .selectFrom('throttle')
      .select(['key', 'hits'])
      .where('key', 'in', [`user:${username}`, ...addresses.map((a) => `client:${a}`)])
      .execute();
    const attempts = Object.fromEntries(rows.map((r) => [r.key, r.hits.length]));
    expect(attempts[`user:${username}`]).toBe(2);
    addresses.forEach((address, i) => {
      expect(attempts[`client:${address}`]).toBe(codes[i] === 'UNAUTHORIZED' ? 1 : undefined);
    });
  });
});

describe('login under a hashing flood', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({}, { hashConcurrency: 1, hashQueue: 1 });
  });
  afterAll(() => env.close());

  it('sheds excess logins with SERVICE_UNAVAILABLE and Retry-After instead of queueing', async () => {
    const name = uniqueName();
    await callerFor(env.deps).register({ username: name, password: PASSWORD });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        callerFor(env.deps, { clientAddress: `192.0.2.${i}` }).login({
          username: name,
          password: PASSWORD,
        }),
      ),
    );
    const shed = results.filter(
      (r): r is PromiseRejectedResult =>
        r.status === 'rejected' && (r.reason as TRPCError).code === 'SERVICE_UNAVAILABLE',
    );
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    expect(shed.length).toBeGreaterThanOrEqual(1);
    for (const r of shed) {
      const error = r.reason as TRPCError;
      expect(error.message).toBe('Server busy, try again later');
      expect(error.cause).toBeInstanceOf(RetryAfter);
    }
    // Shed logins never reached the database: only admitted ones touched the throttle counters.
    const counters = await env.dbh.db
      .selectFrom('throttle')
      .select('key')
      .where('key', 'like', 'client:192.0.2.%')
      .execute();
    expect(counters).toHaveLength(results.length - shed.length);
  });
});
