import type { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  uniqueName,
  type TestEnv,
  trpcErrorOf,
  tokensOf,
} from '../../test/helpers.ts';
import { RetryAfter } from '../trpc.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv(
    { LOGIN_MAX_FAILURES: '3', LOGIN_LOCKOUT_SECONDS: '60', LOGIN_MAX_PER_CLIENT: '8' },
    // Parallel logins here are about the throttle: none may be shed for a slow machine's hashing.
    { hashMaxWaitMs: 60_000 },
  );
});
afterAll(() => env.close());

let clientCounter = 0;
/** A fresh client address per test, so per-client counters do not leak between tests. */
const newClient = () => `198.51.100.${++clientCounter}`;

const login = async (username: string, password: string, clientAddress: string) =>
  tokensOf(await callerFor(env.deps, { clientAddress }).login({ username, password }));

describe('per-account throttle', () => {
  it('locks the account after LOGIN_MAX_FAILURES, even for the right password, until the window passes', async () => {
    const name = uniqueName();
    const client = newClient();
    await callerFor(env.deps, { clientAddress: client }).register({
      username: name,
      password: PASSWORD,
    });
    for (let i = 0; i < 3; i++) {
      const e = await trpcErrorOf(login(name, 'wrong password guess', newClient()));
      expect(e.code).toBe('UNAUTHORIZED');
    }
    const locked = await trpcErrorOf(login(name, PASSWORD, newClient()));
    expect([locked.code, locked.message]).toEqual([
      'TOO_MANY_REQUESTS',
      'Too many attempts, try again later',
    ]);
    expect(locked.cause).toBeInstanceOf(RetryAfter);
    const retryAfter = (locked.cause as RetryAfter).seconds;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    env.clock.advance(61);
    const ok = await login(name, PASSWORD, newClient());
    expect(ok.user.username).toBe(name);
  });

  it('makes each consecutive lockout twice as long, and a success forgets them', async () => {
    const name = uniqueName();
    await callerFor(env.deps, { clientAddress: newClient() }).register({
      username: name,
      password: PASSWORD,
    });
    const lockFor = async () => {
      for (let i = 0; i < 3; i++)
        await trpcErrorOf(login(name, 'wrong password guess', newClient()));
      const locked = await trpcErrorOf(login(name, PASSWORD, newClient()));
      expect(locked.code).toBe('TOO_MANY_REQUESTS');
      return (locked.cause as RetryAfter).seconds;
    };
    expect(await lockFor()).toBeLessThanOrEqual(60);
    env.clock.advance(61);
    // Second lockout in a row: a 120 s window.
    const second = await lockFor();
    expect(second).toBeGreaterThan(60);
    expect(second).toBeLessThanOrEqual(120);
    env.clock.advance(61);
    expect((await trpcErrorOf(login(name, PASSWORD, newClient()))).code).toBe('TOO_MANY_REQUESTS');
    env.clock.advance(60);
    expect((await login(name, PASSWORD, newClient())).user.username).toBe(name);
    // The success cleared the strikes: the next lockout is back to the base window.
    expect(await lockFor()).toBeLessThanOrEqual(60);
  });

  it('counts usernames that do not exist, in their canonical form', async () => {
    const ghost = uniqueName('ghost');
    for (const variant of [ghost, ghost.toUpperCase(), `  ${ghost} `]) {
      expect((await trpcErrorOf(login(variant, PASSWORD, newClient()))).code).toBe('UNAUTHORIZED');
    }
    expect((await trpcErrorOf(login(ghost, PASSWORD, newClient()))).code).toBe('TOO_MANY_REQUESTS');
  });

  it('clears the account counter after a successful login', async () => {
    const name = uniqueName();
    await callerFor(env.deps, { clientAddress: newClient() }).register({
      username: name,
      password: PASSWORD,
    });
    for (let i = 0; i < 2; i++) await trpcErrorOf(login(name, 'wrong password guess', newClient()));
    await login(name, PASSWORD, newClient());
    for (let i = 0; i < 2; i++) await trpcErrorOf(login(name, 'wrong password guess', newClient()));
    expect((await login(name, PASSWORD, newClient())).user.username).toBe(name);
  });

  it('lets no more than LOGIN_MAX_FAILURES of 50 parallel guesses reach the password check', async () => {
    const name = uniqueName();
    await callerFor(env.deps, { clientAddress: newClient() }).register({
      username: name,
      password: PASSWORD,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => login(name, `parallel guess number ${i}`, newClient())),
    );
    const codes = results.map((r) =>
      r.status === 'rejected' ? (r.reason as TRPCError).code : 'OK',
    );
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(3);
    expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(47);
    const checked = await env.dbh.db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('username', '=', name)
      .where('event', '=', 'login.failure')
      .executeTakeFirstOrThrow();
    expect(Number(checked.n)).toBe(3);
  });
});

describe('per-client throttle', () => {
  it('stops password spraying from one address across many usernames', async () => {
    const sprayer = newClient();
    for (let i = 0; i < 8; i++) {
      const e = await trpcErrorOf(login(uniqueName('victim'), 'Summer2026!Summer2026!', sprayer));
      expect(e.code).toBe('UNAUTHORIZED');
    }
    const blocked = await trpcErrorOf(
      login(uniqueName('victim'), 'Summer2026!Summer2026!', sprayer),
    );
    expect(blocked.code).toBe('TOO_MANY_REQUESTS');
    // Another address is unaffected.
    const other = await trpcErrorOf(
      login(uniqueName('victim'), 'Summer2026!Summer2026!', newClient()),
    );
    expect(other.code).toBe('UNAUTHORIZED');
  });

  it('gives a successful login its attempt back: only failures use up the address', async () => {
    const name = uniqueName();
    await callerFor(env.deps, { clientAddress: newClient() }).register({
      username: name,
      password: PASSWORD,
    });
    const client = newClient();
    for (let i = 0; i < 12; i++) {
      expect((await login(name, PASSWORD, client)).user.username).toBe(name);
    }
    for (let i = 0; i < 8; i++) {
      const e = await trpcErrorOf(login(uniqueName('victim'), 'Summer2026!Summer2026!', client));
      expect(e.code).toBe('UNAUTHORIZED');
    }
    const blocked = await trpcErrorOf(login(name, PASSWORD, client));
    expect(blocked.code).toBe('TOO_MANY_REQUESTS');
  });

  it('counts registrations from one address', async () => {
    const client = newClient();
    for (let i = 0; i < 8; i++) {
      await callerFor(env.deps, { clientAddress: client }).register({
        username: uniqueName('bulk'),
        password: PASSWORD,
      });
    }
    const e = await trpcErrorOf(
      callerFor(env.deps, { clientAddress: client }).register({
        username: uniqueName('bulk'),
        password: PASSWORD,
      }),
    );
    expect(e.code).toBe('TOO_MANY_REQUESTS');
  });
});
