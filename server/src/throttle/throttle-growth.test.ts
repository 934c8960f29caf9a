import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  trpcErrorOf,
  uniqueName,
  type TestEnv,
} from '../../test/helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({
    LOGIN_MAX_FAILURES: '3',
    LOGIN_LOCKOUT_SECONDS: '60',
    LOGIN_MAX_PER_CLIENT: '3',
  });
});
afterAll(() => env.close());

let clientCounter = 0;
const newClient = () => `203.0.113.${++clientCounter}`;

const auditCount = async (event: string, username: string) =>
  (
    await env.dbh.db
      .selectFrom('audit_events')
      .select('id')
      .where('event', '=', event)
      .where('username', '=', username)
      .execute()
  ).length;

describe('a client over its limit', () => {
  it('leaves no throttle row under the usernames it goes on trying', async () => {
    const sprayer = newClient();
    const names = Array.from({ length: 15 }, () => uniqueName('victim'));
    const codes: string[] = [];
    for (const username of names) {
      const e = await trpcErrorOf(
        callerFor(env.deps, { clientAddress: sprayer }).login({ username, password: PASSWORD }),
      );
      codes.push(e.code);
    }
    expect(codes.filter((c) => c === 'UNAUTHORIZED')).toHaveLength(3);
    const rows = await env.dbh.db
      .selectFrom('throttle')
      .select('key')
      .where(
        'key',
        'in',
        names.map((n) => `user:${n}`),
      )
      .execute();
    expect(rows.map((r) => r.key).sort()).toEqual(
      names
        .slice(0, 3)
        .map((n) => `user:${n}`)
        .sort(),
    );
  });
});

describe('throttled attempts in the audit trail', () => {
  it('records login.throttled once per lockout, not once per refusal', async () => {
    const name = uniqueName();
    const guess = (password: string) =>
      trpcErrorOf(
        callerFor(env.deps, { clientAddress: newClient() }).login({ username: name, password }),
      );
    for (let i = 0; i < 3; i++) await guess(`wrong guess ${i}`);
    for (let i = 0; i < 10; i++)
      expect((await guess(`hammering ${i}`)).code).toBe('TOO_MANY_REQUESTS');
    expect(await auditCount('login.throttled', name)).toBe(1);
    // The lock over, a new lockout is a new event.
    env.clock.advance(61);
    for (let i = 0; i < 3; i++) await guess(`wrong guess again ${i}`);
    for (let i = 0; i < 5; i++)
      expect((await guess(`hammering again ${i}`)).code).toBe('TOO_MANY_REQUESTS');
    expect(await auditCount('login.throttled', name)).toBe(2);
    expect(await auditCount('login.failure', name)).toBe(6);
  });

  it('records register.throttled once per lockout of the client', async () => {
    const client = newClient();
    const register = (username: string) =>
      callerFor(env.deps, { clientAddress: client }).register({ username, password: PASSWORD });
    for (let i = 0; i < 3; i++) await register(uniqueName('bulk'));
    const refused = Array.from({ length: 8 }, () => uniqueName('bulk'));
    for (const username of refused) {
      expect((await trpcErrorOf(register(username))).code).toBe('TOO_MANY_REQUESTS');
    }
    const events = await env.dbh.db
      .selectFrom('audit_events')
      .select('username')
      .where('event', '=', 'register.throttled')
      .where('client_address', '=', client)
      .execute();
    expect(events.map((e) => e.username)).toEqual([refused[0]]);
  });
});
