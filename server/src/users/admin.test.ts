import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  trpcErrorOf,
  uniqueName,
  type TestEnv,
  tokensOf,
} from '../../test/helpers.ts';
import {
  createUser,
  removeUser,
  revokeAllSessions,
  setDisabled,
  setPassword,
} from './admin.service.ts';

const NEW_PASSWORD = 'an operator chosen passphrase';

async function signedIn(env: TestEnv, name = uniqueName()) {
  await callerFor(env.deps)
    .register({ username: name, password: PASSWORD })
    .catch(() => null);
  const login = tokensOf(await callerFor(env.deps).login({ username: name, password: PASSWORD }));
  return { name, accessToken: login.accessToken };
}

async function userRow(env: TestEnv, name: string) {
  return env.dbh.db
    .selectFrom('users')
    .select(['password_hash', 'disabled_at', 'created_at', 'updated_at'])
    .where('username', '=', name)
    .executeTakeFirst();
}

async function revokedSessions(env: TestEnv, name: string) {
  return env.dbh.db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select('s.id')
    .where('u.username', '=', name)
    .where('s.revoked_at', 'is not', null)
    .execute();
}

describe('operator actions are all-or-nothing', () => {
  const actions = {
    'set-password': (env: TestEnv, name: string) => setPassword(env.deps, name, NEW_PASSWORD),
    disable: (env: TestEnv, name: string) => setDisabled(env.deps, name, true),
    delete: (env: TestEnv, name: string) => removeUser(env.deps, name),
    'sessions revoke': (env: TestEnv, name: string) => revokeAllSessions(env.deps, name),
  };
  type Action = keyof typeof actions;
  let broken: TestEnv;
  const victims = new Map<Action, { name: string; accessToken: string }>();
  beforeAll(async () => {
    broken = await createTestEnv();
    for (const action of Object.keys(actions) as Action[]) {
      victims.set(action, await signedIn(broken));
    }
    // Every audit write now fails, after the user and session lookups have succeeded.
    await broken.deps.db.schema.dropTable('audit_events').execute();
  });
  afterAll(() => broken.close());

  it.each(Object.keys(actions) as Action[])(
    '%s changes nothing when its audit record cannot be written',
    async (action) => {
      const s = victims.get(action);
      if (!s) throw new Error(`no user for ${action}`);
      const before = await userRow(broken, s.name);
      await expect(actions[action](broken, s.name)).rejects.toThrow();
      expect(await userRow(broken, s.name)).toEqual(before);
      expect(await revokedSessions(broken, s.name)).toEqual([]);
      const me = await callerFor(broken.deps, { token: s.accessToken }).me();
      expect(me.username).toBe(s.name);
    },
  );
});

describe('operator actions', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(() => env.close());

  it('stamp the user with the injected clock', async () => {
    env.clock.advance(3 * 86_400);
    const name = uniqueName();
    const created = await createUser(env.deps, name, PASSWORD);
    expect(created.ok).toBe(true);
    expect(await userRow(env, name)).toMatchObject({
      created_at: env.deps.now(),
      updated_at: env.deps.now(),
    });
    env.clock.advance(60);
    await setPassword(env.deps, name, NEW_PASSWORD);
    expect((await userRow(env, name))?.updated_at).toEqual(env.deps.now());
    env.clock.advance(60);
    await setDisabled(env.deps, name, true);
    expect(await userRow(env, name)).toMatchObject({
      disabled_at: env.deps.now(),
      updated_at: env.deps.now(),
    });
    env.clock.advance(60);
    await setDisabled(env.deps, name, false);
    expect(await userRow(env, name)).toMatchObject({
      disabled_at: null,
      updated_at: env.deps.now(),
    });
  });

  it('end access tokens at once, cached or not, and write one audit event each', async () => {
    const s = await signedIn(env);
    const me = () => callerFor(env.deps, { token: s.accessToken }).me();
    expect((await me()).username).toBe(s.name);
    expect((await setPassword(env.deps, s.name, NEW_PASSWORD)).ok).toBe(true);
    expect((await trpcErrorOf(me())).code).toBe('UNAUTHORIZED');
    const events = await env.dbh.db
      .selectFrom('audit_events')
      .select(['event', 'user_agent'])
      .where('username', '=', s.name)
      .where('event', 'like', 'user.%')
      .execute();
    expect(events).toEqual([{ event: 'user.password_set', user_agent: 'latchkey-cli' }]);
  });

  it('refuse an unknown user without writing anything', async () => {
    const name = uniqueName('ghost');
    expect(await setPassword(env.deps, name, NEW_PASSWORD)).toMatchObject({
      ok: false,
      code: 'NO_SUCH_USER',
    });
    expect(await removeUser(env.deps, name)).toMatchObject({ ok: false, code: 'NO_SUCH_USER' });
    const events = await env.dbh.db
      .selectFrom('audit_events')
      .select('id')
      .where('username', '=', name)
      .execute();
    expect(events).toEqual([]);
  });
});
