import { recordEvent } from '../audit/audit.service.ts';
import { SECOND_FACTOR_AMR } from '../auth/tokens.ts';
import { fail, ok, type ClientMeta, type Result } from '../result.ts';
import type { Deps } from '../deps.ts';
import {
  generateRefreshToken as generateOpaqueToken,
  hashRefreshToken as hashOpaqueToken,
  isWellFormedRefreshToken as isWellFormedOpaqueToken,
} from '../sessions/refresh-token.ts';
import { startSession, type IssuedSession } from '../sessions/session.service.ts';
import {
  throttleClient,
  countLoginAttemptAndFindUser,
  type LoginVerdict,
} from '../throttle/throttle.service.ts';
import type { UserRecord } from '../users/user.repository.ts';
import { spendCode, type FactorMethod } from './code-check.ts';
import { claimChallenge, findFactor, finishChallenge, insertChallenge } from './mfa.repository.ts';

/** An mfaToken's lifetime: the contract's ceiling. */
export const MFA_TOKEN_TTL_SECONDS = 300;
/** Wrong codes one mfaToken takes; the fifth ends it. */
export const MFA_MAX_ATTEMPTS = 5;
export const MFA_METHODS = ['totp', 'recovery'] as const;

export interface MfaChallenge {
  mfaToken: string;
  expiresIn: number;
}

/**
 * The password of a user with a factor in force has verified: instead of a session, an mfaToken
 * (opaque, 256 bits, stored only as its SHA-256 hash) that `mfa.verify` can turn into one. The
 * client's hit is refunded; the account's stays until the second factor passes.
 */
export async function issueChallenge(
  deps: Deps,
  user: UserRecord,
  verdict: LoginVerdict,
  meta: ClientMeta,
): Promise<MfaChallenge> {
  const now = deps.now();
  const mfaToken = generateOpaqueToken();
  const expiresAt = new Date(now.getTime() + MFA_TOKEN_TTL_SECONDS * 1000);
  await insertChallenge(deps.db, hashOpaqueToken(mfaToken), user.id, expiresAt, now);
  await verdict.passwordVerified();
  await recordEvent(deps, {
    event: 'login.mfa_required',
    userId: user.id,
    username: user.username,
    ...meta,
  });
  return { mfaToken, expiresIn: MFA_TOKEN_TTL_SECONDS };
}

/** Records a code that did not pass: the event; the throttle hit it counted stays. */
function recordFailure(
  deps: Deps,
  user: { id: string; username: string },
  reason: string,
  meta: ClientMeta,
): Promise<void> {
  return recordEvent(deps, {
    event: 'mfa.failed',
    reason,
    userId: user.id,
    username: user.username,
    ...meta,
  });
}

/** A second factor that passed: the throttle settled, the recovery code's use recorded, a session. */
async function completeSignIn(
  deps: Deps,
  user: UserRecord,
  method: FactorMethod,
  verdict: LoginVerdict,
  meta: ClientMeta,
  withRefreshToken: boolean,
): Promise<IssuedSession | null> {
  await verdict.succeeded();
  const who = { userId: user.id, username: user.username, ...meta };
  if (method === 'recovery') await recordEvent(deps, { event: 'mfa.recovery_used', ...who });
  return startSession(deps, user, meta, {
    withRefreshToken,
    amr: SECOND_FACTOR_AMR,
    audit: { event: 'login.success', reason: method, ...who },
  });
}

/**
 * `/token` with `otp`: the password has verified, the code is checked in the same request. The
 * attempt already counted against the account stays counted when the code is wrong or missing.
 */
export async function signInWithCode(
  deps: Deps,
  user: UserRecord,
  otp: string | undefined,
  verdict: LoginVerdict,
  meta: ClientMeta,
  withRefreshToken: boolean,
): Promise<Result<IssuedSession, 'MFA_REQUIRED' | 'INVALID_CODE' | 'INVALID_CREDENTIALS'>> {
  if (otp === undefined || otp === '') {
    await recordFailure(deps, user, 'code_missing', meta);
    return fail('MFA_REQUIRED');
  }
  const method = await spendCode(deps, deps.db, user.id, await findFactor(deps.db, user.id), otp);
  if (method === null) {
    await recordFailure(deps, user, 'bad_code', meta);
    return fail('INVALID_CODE');
  }
  const session = await completeSignIn(deps, user, method, verdict, meta, withRefreshToken);
  return session ? ok(session) : fail('INVALID_CREDENTIALS');
}

/**
 * `mfa.verify`: one attempt against a live mfaToken (at most five, in parallel or not), counted
 * against the account's login throttle before the code is looked at. A correct code ends the
 * challenge and starts a session whose tokens say `amr: ["pwd", "otp"]`.
 */
export async function verifyChallenge(
  deps: Deps,
  input: { mfaToken: string; code: string },
  meta: ClientMeta,
): Promise<Result<IssuedSession, 'CHALLENGE_INVALID' | 'INVALID_CODE' | 'THROTTLED'>> {
  const tokenHash = hashOpaqueToken(input.mfaToken);
  const claimed = isWellFormedOpaqueToken(input.mfaToken)
    ? await claimChallenge(deps.db, tokenHash, deps.now(), MFA_MAX_ATTEMPTS)
    : null;
  if (!claimed) {
    // No account to charge; the client is, so guessing tokens costs like guessing passwords.
    const verdict = await throttleClient(deps, meta.clientAddress);
    if (!verdict.allowed) return fail('THROTTLED', { retryAfter: verdict.retryAfter });
    return fail('CHALLENGE_INVALID');
  }
  const { verdict, user } = await countLoginAttemptAndFindUser(
    deps,
    claimed.username,
    meta.clientAddress,
  );
  const who = { id: claimed.userId, username: claimed.username };
  if (!verdict.allowed) {
    await recordEvent(
      deps,
      { event: 'login.throttled', reason: 'mfa', userId: who.id, username: who.username, ...meta },
      { store: verdict.lockoutStarted },
    );
    return fail('THROTTLED', { retryAfter: verdict.retryAfter });
  }
  if (!user || user.id !== claimed.userId || user.disabledAt !== null) {
    return fail('CHALLENGE_INVALID');
  }
  const method = await spendCode(deps, deps.db, user.id, claimed.factor, input.code);
  if (method === null) {
    const spent = claimed.attempts >= MFA_MAX_ATTEMPTS;
    await recordFailure(deps, who, spent ? 'bad_code_challenge_spent' : 'bad_code', meta);
    return fail('INVALID_CODE');
  }
  if (!(await finishChallenge(deps.db, tokenHash, deps.now()))) return fail('CHALLENGE_INVALID');
  const record = { id: user.id, username: user.username, createdAt: user.createdAt };
  const session = await completeSignIn(deps, record, method, verdict, meta, true);
  return session ? ok(session) : fail('CHALLENGE_INVALID');
}
