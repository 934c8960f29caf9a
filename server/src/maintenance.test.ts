import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  uniqueName,
  type TestEnv,
  tokensOf,
} from '../test/helpers.ts';
import { listAuditEvents } from './audit/audit.repository.ts';
import { purgeOnce, recordSigningKey } from './maintenance.ts';
import { countLoginAttemptAndFindUser } from './throttle/throttle.service.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ REFRESH_TOKEN_TTL: '3600', AUDIT_RETENTION_DAYS: '30' });
});
afterAll(() => env.close());

const count = async (table: 'sessions' | 'refresh_tokens' | 'audit_events') =>
  Number(
    (
      await env.dbh.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('purgeOnce', () => {
  it('removes ended sessions with their refresh tokens and old audit events, keeps live ones', async () => {
    const name = uniqueName();
    await callerFor(env.deps).register({ username: name, password: PASSWORD });
    tokensOf(await callerFor(env.deps).login({ username: name, password: PASSWORD }));
    env.clock.advance(3600 + 86_400 + 1); // the session ended more than a day ago
    const live = tokensOf(await callerFor(env.deps).login({ username: name, password: PASSWORD }));
    expect(await count('sessions')).toBe(2);
    expect(await purgeOnce(env.deps)).toBeGreaterThan(0);
    expect(await count('sessions')).toBe(1);
    expect(await count('refresh_tokens')).toBe(1);
    expect((await callerFor(env.deps, { token: live.accessToken }).me()).username).toBe(name);

    const before = await count('audit_events');
    env.clock.advance(31 * 86_400);
    tokensOf(await callerFor(env.deps).login({ username: name, password: PASSWORD }));
    await purgeOnce(env.deps);
    const kept = await listAuditEvents(env.dbh.db, { limit: 100 });
    const cutoff = env.clock.now().getTime() - 30 * 86_400_000;
    expect(before).toBeGreaterThan(1);
    expect(kept.map((e) => e.event)).toEqual(['login.success']);
    expect(kept.every((e) => e.occurredAt.getTime() >= cutoff)).toBe(true);
  });
});

describe('purgeOnce on a backlog', () => {
  const oldAuditEvents = (n: number) =>
    env.dbh.db
      .insertInto('audit_events')
      .values(
        Array.from({ length: n }, () => ({
          event: 'login.failure',
          occurred_at: new Date(env.clock.now().getTime() - 40 * 86_400_000),
        })),
      )
      .execute();

  it('keeps deleting in batches until nothing old is left', async () => {
    await oldAuditEvents(2_500);
    const before = await count('audit_events');
    expect(await purgeOnce(env.deps)).toBeGreaterThanOrEqual(2_500);
    expect(await count('audit_events')).toBe(before - 2_500);
  });

  it('stops when its time budget is spent, after one batch per table', async () => {
    await oldAuditEvents(250);
    const before = await count('audit_events');
    expect(await purgeOnce(env.deps, { batch: 100, budgetMs: 0 })).toBe(100);
    expect(await count('audit_events')).toBe(before - 100);
    expect(await purgeOnce(env.deps, { batch: 100 })).toBe(150);
  });

  it('deletes throttle rows once they carry nothing, never a lock that still holds', async () => {
    const name = uniqueName('ghost');
    const limit = env.deps.config.loginMaxFailures;
    const window = env.deps.config.loginLockoutSeconds;
    for (let i = 0; i <= limit; i++) await countLoginAttemptAndFindUser(env.deps, name, null);
    const locked = (await countLoginAttemptAndFindUser(env.deps, name, null)).verdict;
    expect(locked.allowed).toBe(false);
    await env.dbh.db
      .insertInto('throttle')
      .values(
        Array.from({ length: 1_500 }, (_, i) => ({
          key: `client:stale-${i}`,
          hits: [new Date(env.clock.now().getTime() - window * 1000)],
          expires_at: env.clock.now(),
        })),
      )
      .execute();
    const throttleKeys = async () =>
      (await env.dbh.db.selectFrom('throttle').select('key').execute()).map((r) => r.key);
    await purgeOnce(env.deps, { batch: 100 });
    expect((await throttleKeys()).filter((k) => k.startsWith('client:stale-'))).toEqual([]);
    env.clock.advance(locked.retryAfter - 1);
    await purgeOnce(env.deps);
    expect(await throttleKeys()).toContain(`user:${name}`);
    expect((await countLoginAttemptAndFindUser(env.deps, name, null)).verdict.allowed).toBe(false);
    // A window after the lock ended the row says nothing more.
    env.clock.advance(1 + window);
    await purgeOnce(env.deps);
    expect(await throttleKeys()).not.toContain(`user:${name}`);
  });
});

describe('recordSigningKey', () => {
  it('records a key.rotated event once per new signing key', async () => {
    await recordSigningKey(env.deps);
    await recordSigningKey(env.deps);
    const events = (await listAuditEvents(env.dbh.db, { limit: 100 })).filter(
      (e) => e.event === 'key.rotated',
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.reason).toBe(env.deps.config.jwt.signing.kid);
  });
});
