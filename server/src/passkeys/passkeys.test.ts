import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  refreshTokenFrom,
  startTestServer,
  tokensOf,
  trpcErrorOf,
  uniqueName,
  type TestEnv,
} from '../../test/helpers.ts';
import { SoftAuthenticator, type Bend } from '../../test/soft-authenticator.ts';
import { totpCodeAt } from '../mfa/totp.ts';
import { purgeOnce } from '../maintenance.ts';
import { setDisabled } from '../users/admin.service.ts';

const ORIGIN = 'http://localhost:5173';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ PUBLIC_URL: ORIGIN, LOGIN_MAX_PER_CLIENT: '1000' });
});
afterAll(() => env.close());

/** A signed-in user: their typed caller and a software authenticator for the app's origin. */
async function signedIn(
  authenticatorOptions: { userVerified?: boolean; counterStep?: number } = {},
) {
  const username = uniqueName('pk');
  await callerFor(env.deps).register({ username, password: PASSWORD });
  const { accessToken, user } = tokensOf(
    await callerFor(env.deps).login({ username, password: PASSWORD }),
  );
  const api = callerFor(env.deps, { token: accessToken });
  const authenticator = new SoftAuthenticator({ origin: ORIGIN, ...authenticatorOptions });
  return { username, userId: user.id, api, authenticator };
}

/** A signed-in user with one passkey on their authenticator. */
async function withPasskey(
  authenticatorOptions: { userVerified?: boolean; counterStep?: number } = {},
) {
  const user = await signedIn(authenticatorOptions);
  const options = await user.api.passkeys.registerOptions();
  const passkey = await user.api.passkeys.register({
    response: user.authenticator.register(options),
  });
  return { ...user, passkey };
}

/** One passkey sign-in, bent as given; the caller's cookies land in `cookies`. */
async function passkeyLogin(
  authenticator: SoftAuthenticator,
  bend: Bend = {},
  cookies: string[] = [],
  clientAddress = '203.0.113.7',
) {
  const { challengeId, options } = await callerFor(env.deps, {
    clientAddress,
  }).passkeys.loginOptions();
  return callerFor(env.deps, { cookies, clientAddress }).passkeys.login({
    challengeId,
    response: authenticator.assert(options, bend),
  });
}

async function refusal(promise: Promise<unknown>) {
  const error = await trpcErrorOf(promise);
  return [error.code, error.message];
}

const NOT_RECOGNISED = ['UNAUTHORIZED', 'Passkey not recognised'];

async function auditEvents(userId: string, event: string) {
  return env.deps.db
    .selectFrom('audit_events')
    .select(['event', 'reason'])
    .where('user_id', '=', userId)
    .where('event', '=', event)
    .execute();
}

describe('registration', () => {
  it('offers options for this RP: an opaque user handle, discoverable, the contract algorithms', async () => {
    const { api, username, userId } = await signedIn();
    const options = await api.passkeys.registerOptions();
    expect(options.rp).toEqual({ id: 'localhost', name: 'Latchkey' });
    expect(options.user.name).toBe(username);
    const handle = Buffer.from(options.user.id, 'base64url');
    expect(handle.length).toBe(32);
    expect(handle.toString('utf8')).not.toContain(username);
    expect(options.user.id).not.toContain(userId.replaceAll('-', ''));
    expect(options.authenticatorSelection).toMatchObject({
      residentKey: 'required',
      userVerification: 'preferred',
    });
    expect(options.pubKeyCredParams.map((p) => p.alg)).toEqual([-7, -8, -257]);
    expect(options.attestation).toBe('none');
    expect(options.excludeCredentials).toEqual([]);
    expect(options.timeout).toBeLessThanOrEqual(300_000);
    // The handle stays the user's across ceremonies; each challenge is new.
    const again = await api.passkeys.registerOptions();
    expect(again.user.id).toBe(options.user.id);
    expect(again.challenge).not.toBe(options.challenge);
  });

  it('stores the passkey, named by its authenticator, lists it and counts it in mfa.status', async () => {
    const { api, authenticator, userId } = await signedIn();
    const response = authenticator.register(await api.passkeys.registerOptions());
    const added = await api.passkeys.register({ response });
    expect(added).toEqual({
      id: response.id,
      name: 'Chromium Browser',
      createdAt: env.clock.now().toISOString(),
      lastUsedAt: null,
    });
    expect(await api.passkeys.list()).toEqual([added]);
    expect((await api.mfa.status()).passkeys).toBe(1);
    const row = await env.deps.db
      .selectFrom('passkeys')
      .selectAll()
      .where('id', '=', response.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      user_id: userId,
      transports: ['internal'],
      device_type: 'singleDevice',
      backed_up: false,
      aaguid: 'b5397666-4885-aa6b-cebf-e52262a439a2',
    });
    expect(row.public_key.length).toBeGreaterThan(64);
    expect(await auditEvents(userId, 'passkey.added')).toEqual([
      { event: 'passkey.added', reason: response.id },
    ]);
  });

  it('takes the name the user gives, trimmed, and refuses an empty or long one', async () => {
    const { api, authenticator } = await signedIn();
    const response = authenticator.register(await api.passkeys.registerOptions());
    expect((await api.passkeys.register({ response, name: '  Work laptop ' })).name).toBe(
      'Work laptop',
    );
    for (const name of ['   ', 'x'.repeat(65), 'tab\there']) {
      const error = await trpcErrorOf(api.passkeys.rename({ id: response.id, name }));
      expect(error.code).toBe('BAD_REQUEST');
    }
  });

  it('excludes the passkeys the user has, and registers a credential id once, for anyone', async () => {
    const first = await withPasskey();
    const options = await first.api.passkeys.registerOptions();
    expect(options.excludeCredentials).toEqual([
      { id: first.passkey.id, type: 'public-key', transports: ['internal'] },
    ]);
    // An authenticator that ignores the exclusion, or a replay with the same id: refused.
    const again = first.authenticator.register(options, { credentialId: first.passkey.id });
    expect(await refusal(first.api.passkeys.register({ response: again }))).toEqual([
      'CONFLICT',
      'Passkey already registered',
    ]);
    const other = await signedIn();
    const stolen = other.authenticator.register(await other.api.passkeys.registerOptions(), {
      credentialId: first.passkey.id,
    });
    expect(await refusal(other.api.passkeys.register({ response: stolen }))).toEqual([
      'CONFLICT',
      'Passkey already registered',
    ]);
    expect(await other.api.passkeys.list()).toEqual([]);
    expect(await first.api.passkeys.list()).toHaveLength(1);
  });

  it.each<[string, Bend]>([
    ['another origin', { origin: 'https://evil.example' }],
    ['another RP ID', { rpId: 'evil.example' }],
    ['a challenge never issued', { challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['an assertion type', { type: 'webauthn.get' }],
  ])('refuses a registration from %s and stores nothing', async (_, bend) => {
    const { api, authenticator } = await signedIn();
    const response = authenticator.register(await api.passkeys.registerOptions(), bend);
    expect(await refusal(api.passkeys.register({ response }))).toEqual([
      'BAD_REQUEST',
      'Passkey registration failed',
    ]);
    expect(await api.passkeys.list()).toEqual([]);
  });

  it('uses a registration challenge once, only for its user, and only for five minutes', async () => {
    const { api, authenticator } = await signedIn();
    const options = await api.passkeys.registerOptions();
    const response = authenticator.register(options);
    await api.passkeys.register({ response });
    // The same answer again: its challenge is spent.
    const replay = authenticator.register(options, { credentialId: 'cmVwbGF5ZWQtY3JlZGVudGlhbA' });
    expect(await refusal(api.passkeys.register({ response: replay }))).toEqual([
      'BAD_REQUEST',
      'Passkey registration failed',
    ]);
    // Another user's challenge is not this user's.
    const other = await signedIn();
    const theirs = await other.api.passkeys.registerOptions();
    const crossed = new SoftAuthenticator({ origin: ORIGIN }).register(theirs);
    expect(await refusal(api.passkeys.register({ response: crossed }))).toEqual([
      'BAD_REQUEST',
      'Passkey registration failed',
    ]);
    // Expired.
    const late = other.authenticator.register(await other.api.passkeys.registerOptions());
    env.clock.advance(301);
    expect(await refusal(other.api.passkeys.register({ response: late }))).toEqual([
      'BAD_REQUEST',
      'Passkey registration failed',
    ]);
  });

  it('refuses malformed responses at the schema, before any work', async () => {
    const { api, authenticator } = await signedIn();
    const response = authenticator.register(await api.passkeys.registerOptions());
    const bad = [
      { ...response, type: 'password' },
      { ...response, id: 'not base64url!' },
      { ...response, response: { ...response.response, attestationObject: 'x'.repeat(40_000) } },
    ];
    for (const candidate of bad) {
      const error = await trpcErrorOf(api.passkeys.register({ response: candidate as never }));
      expect(error.code).toBe('BAD_REQUEST');
    }
    // The challenge was not spent by the refusals: the real answer still registers.
    expect((await api.passkeys.register({ response })).id).toBe(response.id);
  });
});

describe('sign-in', () => {
  it('gives discoverable-credential options: empty allowCredentials, this RP ID', async () => {
    const { challengeId, options } = await callerFor(env.deps).passkeys.loginOptions();
    expect(challengeId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(options.rpId).toBe('localhost');
    expect(options.allowCredentials).toEqual([]);
    expect(options.userVerification).toBe('preferred');
    expect(options.timeout).toBeLessThanOrEqual(300_000);
  });

  it('signs in completely: tokens with amr hwk+user, the refresh cookie, me, and a refresh keeps amr', async () => {
    const { authenticator, username, api, passkey } = await withPasskey();
    const cookies: string[] = [];
    const answer = await passkeyLogin(authenticator, {}, cookies);
    expect(answer.user.username).toBe(username);
    expect(answer.tokenType).toBe('Bearer');
    expect(decodeJwt(answer.accessToken).amr).toEqual(['hwk', 'user']);
    const refreshToken = refreshTokenFrom(cookies);
    expect(refreshToken).not.toBeNull();
    const me = await callerFor(env.deps, { token: answer.accessToken }).me();
    expect(me.username).toBe(username);
    const refreshed = await callerFor(env.deps, { refreshToken }).refresh();
    expect(decodeJwt(refreshed.accessToken).amr).toEqual(['hwk', 'user']);
    const [listed] = await api.passkeys.list();
    expect(listed?.id).toBe(passkey.id);
    expect(listed?.lastUsedAt).toBe(env.clock.now().toISOString());
  });

  it('says amr ["hwk"] when the authenticator did not verify the user', async () => {
    const { authenticator } = await withPasskey({ userVerified: false });
    const answer = await passkeyLogin(authenticator);
    expect(decodeJwt(answer.accessToken).amr).toEqual(['hwk']);
  });

  it('is complete in itself for a user with a TOTP factor (no mfa.verify)', async () => {
    const { api, authenticator } = await withPasskey();
    const { secret } = await api.mfa.totp.setup({ password: PASSWORD });
    await api.mfa.totp.enable({ code: totpCodeAt(secret, env.clock.now().getTime()) });
    const answer = await passkeyLogin(authenticator);
    expect(decodeJwt(answer.accessToken).amr).toEqual(['hwk', 'user']);
  });

  it.each<[string, Bend]>([
    ['another origin', { origin: 'https://evil.example' }],
    ['another RP ID', { rpId: 'evil.example' }],
    ['a challenge not issued for it', { challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['a registration type', { type: 'webauthn.create' }],
    ['a broken signature', { breakSignature: true }],
    ['no user handle', { userHandle: undefined }],
    ['another user handle', { userHandle: 'c29tZW9uZS1lbHNl' }],
  ])('refuses an assertion with %s, audited, and no session', async (_, bend) => {
    const { authenticator, userId } = await withPasskey();
    const cookies: string[] = [];
    expect(await refusal(passkeyLogin(authenticator, bend, cookies))).toEqual(NOT_RECOGNISED);
    expect(cookies).toEqual([]);
    expect((await auditEvents(userId, 'login.failure')).map((e) => e.reason)).toHaveLength(1);
    expect(await auditEvents(userId, 'login.success')).toHaveLength(1); // the password sign-in
  });

  it('refuses an unknown credential, a challenge used twice and one past five minutes', async () => {
    const { authenticator } = await withPasskey();
    const stranger = new SoftAuthenticator({ origin: ORIGIN });
    const { api } = await signedIn();
    stranger.register(await api.passkeys.registerOptions()); // never sent to the server
    expect(await refusal(passkeyLogin(stranger))).toEqual(NOT_RECOGNISED);

    const { challengeId, options } = await callerFor(env.deps).passkeys.loginOptions();
    const response = authenticator.assert(options);
    await callerFor(env.deps).passkeys.login({ challengeId, response });
    expect(await refusal(callerFor(env.deps).passkeys.login({ challengeId, response }))).toEqual(
      NOT_RECOGNISED,
    );

    const late = await callerFor(env.deps).passkeys.loginOptions();
    env.clock.advance(301);
    expect(
      await refusal(
        callerFor(env.deps).passkeys.login({
          challengeId: late.challengeId,
          response: authenticator.assert(late.options),
        }),
      ),
    ).toEqual(NOT_RECOGNISED);
    expect(
      await refusal(callerFor(env.deps).passkeys.login({ challengeId: 'nope', response })),
    ).toEqual(NOT_RECOGNISED);
  });

  it('refuses a counter that goes backwards and audits it; counters of zero are fine', async () => {
    const { authenticator, userId } = await withPasskey();
    await passkeyLogin(authenticator); // counter 1
    await passkeyLogin(authenticator); // counter 2
    expect(await refusal(passkeyLogin(authenticator, { counter: 2 }))).toEqual(NOT_RECOGNISED);
    expect(await refusal(passkeyLogin(authenticator, { counter: 1 }))).toEqual(NOT_RECOGNISED);
    expect(await auditEvents(userId, 'passkey.counter_regressed')).toHaveLength(2);
    await passkeyLogin(authenticator); // counter 5 (the authenticator moved on)

    const counterless = await withPasskey({ counterStep: 0 });
    for (let i = 0; i < 3; i++) await passkeyLogin(counterless.authenticator);
    expect(await auditEvents(counterless.userId, 'passkey.counter_regressed')).toEqual([]);
  });

  it('refuses a disabled user', async () => {
    const { authenticator, username } = await withPasskey();
    await setDisabled(env.deps, username, true);
    expect(await refusal(passkeyLogin(authenticator))).toEqual(NOT_RECOGNISED);
  });
});

describe('rename and remove', () => {
  it('renames the user’s own passkey only, audited', async () => {
    const { api, passkey, userId } = await withPasskey();
    expect(await api.passkeys.rename({ id: passkey.id, name: 'Phone' })).toEqual({ ok: true });
    expect((await api.passkeys.list())[0]?.name).toBe('Phone');
    expect(await auditEvents(userId, 'passkey.renamed')).toHaveLength(1);
    const other = await signedIn();
    expect(await refusal(other.api.passkeys.rename({ id: passkey.id, name: 'Mine' }))).toEqual([
      'NOT_FOUND',
      'Unknown passkey',
    ]);
    expect((await api.passkeys.list())[0]?.name).toBe('Phone');
  });

  it('removes with the password again; a wrong one changes nothing; then the passkey signs in no more', async () => {
    const { api, passkey, authenticator, userId } = await withPasskey();
    expect(
      await refusal(api.passkeys.remove({ id: passkey.id, password: 'wrong password' })),
    ).toEqual(['BAD_REQUEST', 'Current password is incorrect']);
    expect(await api.passkeys.list()).toHaveLength(1);
    const other = await signedIn();
    expect(
      await refusal(other.api.passkeys.remove({ id: passkey.id, password: PASSWORD })),
    ).toEqual(['NOT_FOUND', 'Unknown passkey']);
    expect(await api.passkeys.remove({ id: passkey.id, password: PASSWORD })).toEqual({ ok: true });
    expect(await api.passkeys.list()).toEqual([]);
    expect((await api.mfa.status()).passkeys).toBe(0);
    expect(await auditEvents(userId, 'passkey.removed')).toHaveLength(1);
    expect(await refusal(passkeyLogin(authenticator))).toEqual(NOT_RECOGNISED);
  });
});

describe('throttling', () => {
  it('counts failed passkey sign-ins per client; successful ones are refunded', async () => {
    const limited = await createTestEnv({ PUBLIC_URL: ORIGIN, LOGIN_MAX_PER_CLIENT: '3' });
    try {
      const username = uniqueName('pk');
      await callerFor(limited.deps).register({ username, password: PASSWORD });
      const { accessToken } = tokensOf(
        await callerFor(limited.deps).login({ username, password: PASSWORD }),
      );
      const api = callerFor(limited.deps, { token: accessToken });
      const authenticator = new SoftAuthenticator({ origin: ORIGIN });
      await api.passkeys.register({
        response: authenticator.register(await api.passkeys.registerOptions()),
      });
      const attempt = async (bend: Bend, clientAddress: string) => {
        const { challengeId, options } = await callerFor(limited.deps, {
          clientAddress,
        }).passkeys.loginOptions();
        return callerFor(limited.deps, { clientAddress }).passkeys.login({
          challengeId,
          response: authenticator.assert(options, bend),
        });
      };
      // Successes refund their hit: more of them than the limit pass.
      for (let i = 0; i < 5; i++) await attempt({}, '198.51.100.1');
      // Failures count: the limit's worth, then refused even with a good assertion.
      for (let i = 0; i < 3; i++) {
        expect(await refusal(attempt({ breakSignature: true }, '198.51.100.2'))).toEqual(
          NOT_RECOGNISED,
        );
      }
      const error = await trpcErrorOf(attempt({}, '198.51.100.2'));
      expect([error.code, error.message]).toEqual([
        'TOO_MANY_REQUESTS',
        'Too many attempts, try again later',
      ]);
      // Challenge requests have their own, larger budget (ten per allowed attempt).
      const asker = callerFor(limited.deps, { clientAddress: '198.51.100.3' });
      for (let i = 0; i < 30; i++) await asker.passkeys.loginOptions();
      expect((await trpcErrorOf(asker.passkeys.loginOptions())).code).toBe('TOO_MANY_REQUESTS');
    } finally {
      await limited.close();
    }
  });
});

describe('challenges', () => {
  const liveIds = async () =>
    (await env.deps.db.selectFrom('passkey_challenges').select('id').execute()).map((r) => r.id);

  it('are purged once expired, by housekeeping and by the next one issued; live ones stay', async () => {
    const old = await callerFor(env.deps).passkeys.loginOptions();
    env.clock.advance(200);
    const live = await callerFor(env.deps).passkeys.loginOptions();
    env.clock.advance(101);
    expect(await liveIds()).toContain(old.challengeId);
    await purgeOnce(env.deps);
    expect(await liveIds()).not.toContain(old.challengeId);
    expect(await liveIds()).toContain(live.challengeId);

    const stale = await callerFor(env.deps).passkeys.loginOptions();
    env.clock.advance(301);
    expect(await liveIds()).toContain(stale.challengeId);
    await callerFor(env.deps).passkeys.loginOptions();
    expect(await liveIds()).not.toContain(stale.challengeId);
  });

  it('keep one registration ceremony per user: a new one replaces the last', async () => {
    const { api, authenticator } = await signedIn();
    const first = await api.passkeys.registerOptions();
    await api.passkeys.registerOptions();
    expect(
      await refusal(api.passkeys.register({ response: authenticator.register(first) })),
    ).toEqual(['BAD_REQUEST', 'Passkey registration failed']);
  });
});

describe('without PUBLIC_URL', () => {
  it('is the relying party at localhost on a loopback address, and that origin may use cookies', async () => {
    const server = await startTestServer();
    try {
      const origin = `http://localhost:${server.port}`;
      const username = uniqueName('pk');
      await callerFor(server.deps).register({ username, password: PASSWORD });
      const { accessToken } = tokensOf(
        await callerFor(server.deps).login({ username, password: PASSWORD }),
      );
      const api = callerFor(server.deps, { token: accessToken });
      const options = await api.passkeys.registerOptions();
      expect(options.rp.id).toBe('localhost');
      const authenticator = new SoftAuthenticator({ origin });
      await api.passkeys.register({ response: authenticator.register(options) });
      const { challengeId, options: request } = await callerFor(
        server.deps,
      ).passkeys.loginOptions();
      const cookies: string[] = [];
      await callerFor(server.deps, { cookies }).passkeys.login({
        challengeId,
        response: authenticator.assert(request),
      });
      const refreshToken = refreshTokenFrom(cookies);
      // The SPA opened at localhost refreshes like one opened at the listening address.
      for (const allowed of [origin, server.url]) {
        const renewed = await callerFor(server.deps, { origin: allowed, refreshToken }).refresh();
        expect(renewed.accessToken).toBeTruthy();
      }
      const error = await trpcErrorOf(
        callerFor(server.deps, { origin: 'http://localhost:1', refreshToken }).refresh(),
      );
      expect(error.code).toBe('FORBIDDEN');
    } finally {
      await server.close();
    }
  });
});

describe('user handle', () => {
  it('is one per user even when the first ceremonies start together', async () => {
    const { api } = await signedIn();
    const all = await Promise.all(Array.from({ length: 4 }, () => api.passkeys.registerOptions()));
    expect(new Set(all.map((o) => o.user.id)).size).toBe(1);
  });
});
