import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerFor, createTestEnv, PASSWORD, uniqueName, type TestEnv } from '../test/helpers.ts';
import { listAuditEvents } from './audit/audit.repository.ts';
import { purgeOnce, recordSigningKey } from './maintenance.ts';

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
    await callerFor(env.deps).login({ username: name, password: PASSWORD });
    env.clock.advance(3600 + 86_400 + 1); // the session ended more than a day ago
    const live = await callerFor(env.deps).login({ username: name, password: PASSWORD });
    expect(await count('sessions')).toBe(2);
    expect(await purgeOnce(env.deps)).toBeGreaterThan(0);
    expect(await count('sessions')).toBe(1);
    expect(await count('refresh_tokens')).toBe(1);
    expect((await callerFor(env.deps, { token: live.accessToken }).me()).username).toBe(name);

    const before = await count('audit_events');
    env.clock.advance(31 * 86_400);
    await callerFor(env.deps).login({ username: name, password: PASSWORD });
    await purgeOnce(env.deps);
    const kept = await listAuditEvents(env.dbh.db, { limit: 100 });
    const cutoff = env.clock.now().getTime() - 30 * 86_400_000;
    expect(before).toBeGreaterThan(1);
    expect(kept.map((e) => e.event)).toEqual(['login.success']);
    expect(kept.every((e) => e.occurredAt.getTime() >= cutoff)).toBe(true);
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
