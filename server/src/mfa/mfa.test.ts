import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  PASSWORD,
  refreshTokenFrom,
  tokensOf,
  trpcErrorOf,
  uniqueName,
  type TestEnv,
} from '../../test/helpers.ts';
import { resetSecondFactor } from '../users/admin.service.ts';
import { totpCodeAt } from './totp.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ LOGIN_MAX_FAILURES: '12' });
  // The middle of a 30 s step, so ±1 step is unambiguous whatever the wall clock said.
  const ms = env.clock.now().getTime();
  env.clock.advance((30_000 - (ms % 30_000) + 15_000) / 1000);
});
afterAll(() => env.close());

const at = (stepsFromNow: number) => env.clock.now().getTime() + stepsFromNow * 30_000;

/** A user with the factor on: their secret, recovery codes and a signed-in token. */
async function enrolled() {
  const username = uniqueName('mfa');
  await callerFor(env.deps).register({ username, password: PASSWORD });
  const { accessToken } = tokensOf(
    await callerFor(env.deps).login({ username, password: PASSWORD }),
  );
  const api = callerFor(env.deps, { token: accessToken });
  const { secret, otpauthUrl } = await api.mfa.totp.setup({ password: PASSWORD });
  const { recoveryCodes } = await api.mfa.totp.enable({ code: totpCodeAt(secret, at(0)) });
  return { username, secret, otpauthUrl, recoveryCodes, accessToken, api };
}

async function challenge(username: string, cookies: string[] = []) {
  const answer = await callerFor(env.deps, { cookies }).login({ username, password: PASSWORD });
  if (!('mfaRequired' in answer)) throw new Error('expected a second-factor challenge');
  return answer;
}

const verify = (mfaToken: string, code: string, cookies: string[] = []) =>
  callerFor(env.deps, { cookies }).mfa.verify({ mfaToken, code });

async function failure(promise: Promise<unknown>) {
  const error = await trpcErrorOf(promise);
  return [error.code, error.message];
}

describe('enrolment', () => {
  it('gives a pending secret of 160 bits and an otpauth URL; nothing changes until enable', async () => {
    const username = uniqueName('mfa');
    await callerFor(env.deps).register({ username, password: PASSWORD });
    const { accessToken } = tokensOf(
      await callerFor(env.deps).login({ username, password: PASSWORD }),
    );
    const api = callerFor(env.deps, { token: accessToken });
    const { secret, otpauthUrl } = await api.mfa.totp.setup({ password: PASSWORD });
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const url = new URL(otpauthUrl);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe(`/Latchkey:${username}`);
    expect(url.searchParams.get('secret')).toBe(secret);
    expect(url.searchParams.get('issuer')).toBe('Latchkey');
    expect(await api.mfa.status()).toEqual({ totp: false, recoveryCodesLeft: 0, passkeys: 0 });
    // Still password-only while pending.
    tokensOf(await callerFor(env.deps).login({ username, password: PASSWORD }));
    const row = await env.deps.db
      .selectFrom('mfa_totp')
      .select('secret_box')
      .executeTakeFirstOrThrow();
    expect(row.secret_box).not.toContain(secret);
  });

  it('refuses a wrong step-up password like changePassword does', async () => {
    const { api } = await enrolled();
    // The password is judged first: a wrong one learns nothing about the factor.
    expect(await failure(api.mfa.totp.setup({ password: `${PASSWORD}!` }))).toEqual([
      'BAD_REQUEST',
      'Current password is incorrect',
    ]);
    const username = uniqueName('mfa');
    await callerFor(env.deps).register({ username, password: PASSWORD });
    const { accessToken } = tokensOf(
      await callerFor(env.deps).login({ username, password: PASSWORD }),
    );
    const fresh = callerFor(env.deps, { token: accessToken });
    expect(await failure(fresh.mfa.totp.setup({ password: `${PASSWORD}!` }))).toEqual([
      'BAD_REQUEST',
      'Current password is incorrect',
    ]);
  });

  it('enables with a valid code: ten recovery codes, other sessions end, a new set-up conflicts', async () => {
    const username = uniqueName('mfa');
    await callerFor(env.deps).register({ username, password: PASSWORD });
    const other = tokensOf(await callerFor(env.deps).login({ username, password: PASSWORD }));
    const { accessToken } = tokensOf(
      await callerFor(env.deps).login({ username, password: PASSWORD }),
    );
    const api = callerFor(env.deps, { token: accessToken });
    const { secret } = await api.mfa.totp.setup({ password: PASSWORD });
    expect(await failure(api.mfa.totp.enable({ code: '000000' }))).toEqual([
      'UNAUTHORIZED',
      'Invalid authentication code',
    ]);
    const { recoveryCodes } = await api.mfa.totp.enable({ code: totpCodeAt(secret, at(0)) });
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^([0-9a-z]{4}-){3}[0-9a-z]{4}$/);
    expect(await api.mfa.status()).toEqual({ totp: true, recoveryCodesLeft: 10, passkeys: 0 });
    expect(await failure(callerFor(env.deps, { token: other.accessToken }).me())).toEqual([
      'UNAUTHORIZED',
      'Could not validate credentials',
    ]);
    await api.me();
    expect(await failure(api.mfa.totp.setup({ password: PASSWORD }))).toEqual([
      'CONFLICT',
      'Two-factor authentication is already on',
    ]);
    const stored = await env.deps.db.selectFrom('mfa_recovery_codes').select('code_hash').execute();
    const hashes = stored.map((r) => r.code_hash).join(' ');
    for (const code of recoveryCodes) {
      expect(hashes).not.toContain(code);
      expect(hashes).not.toContain(code.replaceAll('-', ''));
    }
  });
});

describe('sign-in with a second factor', () => {
  it('answers a correct password with a challenge only: no token, no cookie', async () => {
    const { username } = await enrolled();
    const cookies: string[] = [];
    const answer = await challenge(username, cookies);
    expect(Object.keys(answer).sort()).toEqual(['expiresIn', 'methods', 'mfaRequired', 'mfaToken']);
    expect(answer.methods).toEqual(['totp', 'recovery']);
    expect(answer.expiresIn).toBe(300);
    expect(answer.mfaToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookies).toEqual([]);
    // The mfaToken is no bearer token.
    expect(await failure(callerFor(env.deps, { token: answer.mfaToken }).me())).toEqual([
      'UNAUTHORIZED',
      'Could not validate credentials',
    ]);
    const wrong = callerFor(env.deps).login({ username, password: `${PASSWORD}!` });
    expect(await failure(wrong)).toEqual(['UNAUTHORIZED', 'Incorrect username or password']);
  });

  it('completes with a TOTP code: amr pwd+otp, a refresh cookie, and a refresh keeps the amr', async () => {
    const { username, secret } = await enrolled();
    const cookies: string[] = [];
    const { mfaToken } = await challenge(username);
    const session = await verify(mfaToken, totpCodeAt(secret, at(1)), cookies);
    expect(session.tokenType).toBe('Bearer');
    expect(session.user.username).toBe(username);
    expect(decodeJwt(session.accessToken).amr).toEqual(['pwd', 'otp']);
    const refreshToken = refreshTokenFrom(cookies);
    expect(refreshToken).not.toBeNull();
    const refreshed = await callerFor(env.deps, { refreshToken }).refresh();
    expect(decodeJwt(refreshed.accessToken).amr).toEqual(['pwd', 'otp']);
    // The mfaToken was for one sign-in.
    expect(await failure(verify(mfaToken, totpCodeAt(secret, at(1))))).toEqual([
      'UNAUTHORIZED',
      'Sign-in expired, please start again',
    ]);
  });

  it('gives a password-only sign-in amr ["pwd"]', async () => {
    const username = uniqueName('pwd');
    await callerFor(env.deps).register({ username, password: PASSWORD });
    const { accessToken } = tokensOf(
      await callerFor(env.deps).login({ username, password: PASSWORD }),
    );
    expect(decodeJwt(accessToken).amr).toEqual(['pwd']);
  });

  it('refuses a code on its second use, whatever asks for it', async () => {
    const { username, secret } = await enrolled();
    const code = totpCodeAt(secret, at(1));
    await verify((await challenge(username)).mfaToken, code);
    const second = await failure(verify((await challenge(username)).mfaToken, code));
    console.info(`second use of ${code}:`, second.join(' '));
    expect(second).toEqual(['UNAUTHORIZED', 'Invalid authentication code']);
    // An earlier step's code is as much a replay now, though still inside the window.
    const earlier = verify((await challenge(username)).mfaToken, totpCodeAt(secret, at(0)));
    expect(await failure(earlier)).toEqual(['UNAUTHORIZED', 'Invalid authentication code']);
  });

  it('accepts one step either side and nothing further (frozen clock)', async () => {
    const { username, secret } = await enrolled();
    const tooFar = verify((await challenge(username)).mfaToken, totpCodeAt(secret, at(2)));
    expect(await failure(tooFar)).toEqual(['UNAUTHORIZED', 'Invalid authentication code']);
    env.clock.advance(60);
    // Two steps later the previous step's code (enable used the step before that) still passes.
    const session = await verify((await challenge(username)).mfaToken, totpCodeAt(secret, at(-1)));
    expect(session.user.username).toBe(username);
    const stale = verify((await challenge(username)).mfaToken, totpCodeAt(secret, at(-2)));
    expect(await failure(stale)).toEqual(['UNAUTHORIZED', 'Invalid authentication code']);
  });

  it('ends an mfaToken after five wrong codes, even for the right code next', async () => {
    const { username, secret } = await enrolled();
    const { mfaToken } = await challenge(username);
    for (const wrong of ['000000', '123456', 'abc', '', '99999999']) {
      expect(await failure(verify(mfaToken, wrong))).toEqual([
        'UNAUTHORIZED',
        'Invalid authentication code',
      ]);
    }
    const sixth = await failure(verify(mfaToken, totpCodeAt(secret, at(1))));
    console.info('after five wrong codes, the right one:', sixth.join(' '));
    expect(sixth).toEqual(['UNAUTHORIZED', 'Sign-in expired, please start again']);
    const failed = await env.deps.db
      .selectFrom('audit_events')
      .select('event')
      .where('username', '=', username)
      .where('event', '=', 'mfa.failed')
      .execute();
    expect(failed).toHaveLength(5);
  });

  it('expires an mfaToken after five minutes', async () => {
    const { username, secret } = await enrolled();
    const { mfaToken } = await challenge(username);
    env.clock.advance(301);
    expect(await failure(verify(mfaToken, totpCodeAt(secret, at(0))))).toEqual([
      'UNAUTHORIZED',
      'Sign-in expired, please start again',
    ]);
    expect(await failure(verify('not-a-token', '123456'))).toEqual([
      'UNAUTHORIZED',
      'Sign-in expired, please start again',
    ]);
  });

  it('counts every wrong code toward the account lockout, across new challenges', async () => {
    const { username, secret } = await enrolled();
    // LOGIN_MAX_FAILURES is 12. A challenge's password attempt stays counted until a code
    // passes, so a new challenge wipes nothing: 1 + 5, 1 + 4, then 1 = 12 attempts.
    const wrong = async (mfaToken: string, times: number) => {
      for (let i = 0; i < times; i += 1) {
        expect(await failure(verify(mfaToken, '000000'))).toEqual([
          'UNAUTHORIZED',
          'Invalid authentication code',
        ]);
      }
    };
    await wrong((await challenge(username)).mfaToken, 5);
    await wrong((await challenge(username)).mfaToken, 4);
    const { mfaToken } = await challenge(username);
    const refused = await trpcErrorOf(verify(mfaToken, '000000'));
    expect(refused.code).toBe('TOO_MANY_REQUESTS');
    expect(refused.message).toBe('Too many attempts, try again later');
    const login = await trpcErrorOf(callerFor(env.deps).login({ username, password: PASSWORD }));
    expect(login.code).toBe('TOO_MANY_REQUESTS');
    env.clock.advance(901);
    const session = await verify((await challenge(username)).mfaToken, totpCodeAt(secret, at(1)));
    expect(session.user.username).toBe(username);
  });

  it('takes a recovery code once, in any case and with any separators', async () => {
    const { username, recoveryCodes, api } = await enrolled();
    const code = recoveryCodes[0] ?? '';
    const typed = ` ${code.toUpperCase().replaceAll('-', ' ')} `;
    const session = await verify((await challenge(username)).mfaToken, typed);
    expect(decodeJwt(session.accessToken).amr).toEqual(['pwd', 'otp']);
    const again = verify((await challenge(username)).mfaToken, code);
    expect(await failure(again)).toEqual(['UNAUTHORIZED', 'Invalid authentication code']);
    const mine = callerFor(env.deps, { token: session.accessToken });
    expect((await mine.mfa.status()).recoveryCodesLeft).toBe(9);
    const events = await env.deps.db
      .selectFrom('audit_events')
      .select(['event', 'reason'])
      .where('username', '=', username)
      .where('event', 'in', ['mfa.recovery_used', 'login.success'])
      .orderBy('id')
      .execute();
    expect(events.slice(-2)).toEqual([
      { event: 'mfa.recovery_used', reason: null },
      { event: 'login.success', reason: 'recovery' },
    ]);
    void api;
  });
});

describe('turning it off and new recovery codes', () => {
  it('regenerates with the password and a code: the old set stops working', async () => {
    const { username, secret, recoveryCodes, api } = await enrolled();
    const wrong = api.mfa.recoveryCodes.regenerate({ password: PASSWORD, code: '000000' });
    expect(await failure(wrong)).toEqual(['UNAUTHORIZED', 'Invalid authentication code']);
    const { recoveryCodes: fresh } = await api.mfa.recoveryCodes.regenerate({
      password: PASSWORD,
      code: totpCodeAt(secret, at(1)),
    });
    expect(fresh).toHaveLength(10);
    const old = verify((await challenge(username)).mfaToken, recoveryCodes[1] ?? '');
    expect(await failure(old)).toEqual(['UNAUTHORIZED', 'Invalid authentication code']);
    await verify((await challenge(username)).mfaToken, fresh[0] ?? '');
  });

  it('disables with the password and a recovery code; sign-in is password-only again', async () => {
    const { username, recoveryCodes, api } = await enrolled();
    const badPassword = api.mfa.totp.disable({ password: `${PASSWORD}!`, code: '000000' });
    expect(await failure(badPassword)).toEqual(['BAD_REQUEST', 'Current password is incorrect']);
    expect(
      await api.mfa.totp.disable({ password: PASSWORD, code: recoveryCodes[2] ?? '' }),
    ).toEqual({ ok: true });
    expect(await api.mfa.status()).toEqual({ totp: false, recoveryCodesLeft: 0, passkeys: 0 });
    const session = tokensOf(await callerFor(env.deps).login({ username, password: PASSWORD }));
    expect(decodeJwt(session.accessToken).amr).toEqual(['pwd']);
    const again = api.mfa.totp.disable({ password: PASSWORD, code: '000000' });
    expect(await failure(again)).toEqual(['BAD_REQUEST', 'Two-factor authentication is off']);
  });

  it('the operator reset removes the factor, ends every session and is audited', async () => {
    const { username, accessToken } = await enrolled();
    const result = await resetSecondFactor(env.deps, username);
    expect(result).toEqual({ ok: true, value: true });
    expect(await failure(callerFor(env.deps, { token: accessToken }).me())).toEqual([
      'UNAUTHORIZED',
      'Could not validate credentials',
    ]);
    tokensOf(await callerFor(env.deps).login({ username, password: PASSWORD }));
    const rows = await env.deps.db
      .selectFrom('audit_events')
      .select(['event', 'user_agent'])
      .where('username', '=', username)
      .where('event', '=', 'mfa.reset')
      .execute();
    expect(rows).toEqual([{ event: 'mfa.reset', user_agent: 'latchkey-cli' }]);
  });
});
