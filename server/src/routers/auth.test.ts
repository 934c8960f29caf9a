import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  uniqueName,
  type TestEnv,
  trpcErrorOf,
  tokensOf,
} from '../../test/helpers.ts';
import { setDisabled, removeUser } from '../users/admin.service.ts';
import type { AppRouter } from './index.ts';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(() => env.close());

async function registered(name = uniqueName()) {
  await callerFor(env.deps).register({ username: name, password: PASSWORD });
  return name;
}

describe('register', () => {
  it('stores the canonical username and returns exactly the public fields', async () => {
    const name = uniqueName('Mixed');
    const user = await callerFor(env.deps).register({
      username: `  ${name}  `,
      password: PASSWORD,
    });
    expect(Object.keys(user).sort()).toEqual(['createdAt', 'id', 'username']);
    expect(user.username).toBe(name.toLowerCase());
    expect(new Date(user.createdAt).toISOString()).toBe(user.createdAt);
  });

  it('refuses a name that collides after canonicalisation with CONFLICT', async () => {
    const name = await registered();
    const error = await trpcErrorOf(
      callerFor(env.deps).register({ username: name.toUpperCase(), password: PASSWORD }),
    );
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toBe('Username already taken');
  });

  it.each([
    ['too short', 'short pass'],
    ['common', 'passwordpassword'],
    ['one repeated character', 'aaaaaaaaaaaaaaaaaaaa'],
  ])('refuses a %s password with BAD_REQUEST and writes nothing', async (_, password) => {
    const name = uniqueName();
    const error = await trpcErrorOf(callerFor(env.deps).register({ username: name, password }));
    expect(error.code).toBe('BAD_REQUEST');
    const row = await env.dbh.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', name)
      .executeTakeFirst();
    expect(row).toBeUndefined();
  });

  it.each([
    ['a NUL byte', 'bad\u0000name'],
    ['mixed scripts', 'p\u0430ypal'],
    ['a space inside', 'two words'],
    ['two characters', 'ab'],
  ])('refuses a username with %s', async (_, username) => {
    const error = await trpcErrorOf(callerFor(env.deps).register({ username, password: PASSWORD }));
    expect(error.code).toBe('BAD_REQUEST');
  });

  it('refuses a 1 MiB password before hashing', async () => {
    const error = await trpcErrorOf(
      callerFor(env.deps).register({ username: uniqueName(), password: 'x'.repeat(1 << 20) }),
    );
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('at most 1024');
  });
});

describe('login', () => {
  it('records the session, its refresh token and a login.success naming them, together', async () => {
    const name = await registered();
    const result = tokensOf(
      await callerFor(env.deps, { userAgent: 'audit-probe' }).login({
        username: name,
        password: PASSWORD,
      }),
    );
    const db = env.deps.db;
    const sessions = await db
      .selectFrom('sessions')
      .select(['id', 'user_agent', 'client_address'])
      .where('user_id', '=', result.user.id)
      .execute();
    expect(sessions).toHaveLength(1);
    const sessionId = sessions[0]?.id ?? '';
    expect(sessions[0]).toEqual({
      id: sessionId,
      user_agent: 'audit-probe',
      client_address: '203.0.113.7',
    });
    const tokens = await db
      .selectFrom('refresh_tokens')
      .select('rotated_at')
      .where('session_id', '=', sessionId)
      .execute();
    expect(tokens).toEqual([{ rotated_at: null }]);
    const events = await db
      .selectFrom('audit_events')
      .select(['event', 'reason', 'username', 'session_id', 'client_address', 'user_agent'])
      .where('user_id', '=', result.user.id)
      .where('event', '=', 'login.success')
      .execute();
    expect(events).toEqual([
      {
        event: 'login.success',
        reason: null,
        username: name,
        session_id: sessionId,
        client_address: '203.0.113.7',
        user_agent: 'audit-probe',
      },
    ]);
  });

  it('leaves no session behind when its audit record cannot be written', async () => {
    const broken = await createTestEnv();
    try {
      const name = uniqueName();
      const user = await callerFor(broken.deps).register({ username: name, password: PASSWORD });
      await broken.deps.db.schema.dropTable('audit_events').execute();
      const error = await trpcErrorOf(
        callerFor(broken.deps).login({ username: name, password: PASSWORD }),
      );
      expect(error.code).toBe('INTERNAL_SERVER_ERROR');
      const sessions = await broken.deps.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', user.id)
        .execute();
      expect(sessions).toEqual([]);
    } finally {
      await broken.close();
    }
  });

  it('returns a bearer token, the user, and sets the refresh cookie', async () => {
    const name = await registered();
    const cookies: string[] = [];
    const result = tokensOf(
      await callerFor(env.deps, { cookies }).login({
        username: name,
        password: PASSWORD,
      }),
    );
    expect(result.tokenType).toBe('Bearer');
    expect(result.expiresIn).toBe(900);
    expect(Object.keys(result.user).sort()).toEqual(['createdAt', 'id', 'username']);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(
      /^__Host-latchkey_rt=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=\d+$/,
    );
    expect(JSON.stringify(result)).not.toContain(cookies[0]?.split(/[=;]/)[1]);
  });

  it('accepts the username in any case and with full-width letters', async () => {
    const name = await registered(uniqueName('wide'));
    const wide = [...name.toUpperCase()]
      .map((c) => (/[A-Z]/.test(c) ? String.fromCodePoint((c.codePointAt(0) ?? 0) + 0xfee0) : c))
      .join('');
    const result = tokensOf(
      await callerFor(env.deps).login({ username: wide, password: PASSWORD }),
    );
    expect(result.user.username).toBe(name);
  });

  it('gives unknown user, wrong password and disabled user the same error', async () => {
    const name = await registered();
    const disabled = await registered();
    await setDisabled(env.deps, disabled, true);
    const attempts = [
      { username: uniqueName('ghost'), password: PASSWORD },
      { username: name, password: `${PASSWORD}!` },
      { username: disabled, password: PASSWORD },
    ];
    for (const attempt of attempts) {
      const error = await trpcErrorOf(callerFor(env.deps).login(attempt));
      expect([error.code, error.message]).toEqual([
        'UNAUTHORIZED',
        'Incorrect username or password',
      ]);
    }
  });
});

describe('me', () => {
  it('returns the signed-in user without any hash', async () => {
    const name = await registered();
    const { accessToken } = tokensOf(
      await callerFor(env.deps).login({ username: name, password: PASSWORD }),
    );
    const me = await callerFor(env.deps, { token: accessToken }).me();
    expect(me.username).toBe(name);
    expect(Object.keys(me).sort()).toEqual(['createdAt', 'id', 'username']);
  });

  it('says Not authenticated without a token and Could not validate credentials with a bad one', async () => {
    const none = await trpcErrorOf(callerFor(env.deps).me());
    expect([none.code, none.message]).toEqual(['UNAUTHORIZED', 'Not authenticated']);
    const bad = await trpcErrorOf(callerFor(env.deps, { token: 'not-a-token' }).me());
    expect([bad.code, bad.message]).toEqual(['UNAUTHORIZED', 'Could not validate credentials']);
    const empty = await trpcErrorOf(callerFor(env.deps, { authorization: ['Bearer '] }).me());
    expect(empty.message).toBe('Could not validate credentials');
    const basic = await trpcErrorOf(callerFor(env.deps, { authorization: ['Basic YTpi'] }).me());
    expect(basic.message).toBe('Not authenticated');
  });

  it('refuses two Authorization headers even when both carry a valid token', async () => {
    const name = await registered();
    const { accessToken } = tokensOf(
      await callerFor(env.deps).login({ username: name, password: PASSWORD }),
    );
    const error = await trpcErrorOf(
      callerFor(env.deps, {
        authorization: [`Bearer ${accessToken}`, `Bearer ${accessToken}`],
      }).me(),
    );
    expect(error.message).toBe('Could not validate credentials');
  });

  it('stops accepting a token at once when its user is disabled or deleted', async () => {
    for (const action of ['disable', 'delete'] as const) {
      const name = await registered();
      const { accessToken } = tokensOf(
        await callerFor(env.deps).login({
          username: name,
          password: PASSWORD,
        }),
      );
      await callerFor(env.deps, { token: accessToken }).me();
      if (action === 'disable') await setDisabled(env.deps, name, true);
      else await removeUser(env.deps, name);
      const error = await trpcErrorOf(callerFor(env.deps, { token: accessToken }).me());
      expect([error.code, error.message]).toEqual([
        'UNAUTHORIZED',
        'Could not validate credentials',
      ]);
    }
  });

  it('refuses the token once it has expired (frozen clock)', async () => {
    const name = await registered();
    const { accessToken } = tokensOf(
      await callerFor(env.deps).login({ username: name, password: PASSWORD }),
    );
    env.clock.advance(900 + 31);
    const error = await trpcErrorOf(callerFor(env.deps, { token: accessToken }).me());
    expect(error.message).toBe('Could not validate credentials');
  });
});

describe('types seen by a consumer', () => {
  type Outputs = inferRouterOutputs<AppRouter>;
  type Inputs = inferRouterInputs<AppRouter>;
  it('me has no password hash and login takes username and password strings', () => {
    expectTypeOf<Outputs['me']>().toEqualTypeOf<{
      id: string;
      username: string;
      createdAt: string;
    }>();
    expectTypeOf<Outputs['me']>().not.toHaveProperty('passwordHash');
    expectTypeOf<Inputs['login']>().toEqualTypeOf<{ username: string; password: string }>();
    type Session = Extract<Outputs['login'], { tokenType: unknown }>;
    expectTypeOf<Session['tokenType']>().toEqualTypeOf<'Bearer'>();
    // The second-factor answer carries nothing that signs in.
    type Challenge = Exclude<Outputs['login'], Session>;
    expectTypeOf<keyof Challenge>().toEqualTypeOf<
      'mfaRequired' | 'mfaToken' | 'methods' | 'expiresIn'
    >();
  });
});
