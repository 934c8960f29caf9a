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
import { BoundedLimiter, OverloadedError } from './limiter.ts';
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
