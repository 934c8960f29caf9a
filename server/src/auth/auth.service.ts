import type { AuditEntry } from '../audit/audit.repository.ts';
import { auditedTransaction, recordEvent, type RecordOptions } from '../audit/audit.service.ts';
import { fail, ok, type ClientMeta, type Result } from '../result.ts';
import type { Deps } from '../deps.ts';
import { announceRevocation } from '../sessions/revocation.ts';
import { revokeUserSessions } from '../sessions/session.repository.ts';
import { startSession, type IssuedSession } from '../sessions/session.service.ts';
import { countLoginAttemptAndFindUser, throttleClient } from '../throttle/throttle.service.ts';
import { insertUser, updatePasswordHash, type UserRecord } from '../users/user.repository.ts';
import { issueChallenge, signInWithCode, type MfaChallenge } from '../mfa/sign-in.ts';
import { passwordPolicyReason } from './password-policy.ts';
import { withPasswordWork, type PasswordWork } from './password-work.ts';
import { verifyCurrentPassword } from './step-up.ts';

/** Inputs here are already canonical (username) and NFKC-normalised (passwords) by the schemas. */
export interface CredentialsInput {
  username: string;
  password: string;
}

/** Every event here is both an audit row and a log line (audit.service.ts). */
function audit(deps: Deps, entry: AuditEntry, options?: RecordOptions): Promise<void> {
  return recordEvent(deps, entry, options);
}

export async function register(
  deps: Deps,
  input: CredentialsInput,
  meta: ClientMeta,
): Promise<Result<UserRecord, 'THROTTLED' | 'WEAK_PASSWORD' | 'USERNAME_TAKEN'>> {
  return withPasswordWork(deps, (work) => admittedRegister(deps, work, input, meta));
}

async function admittedRegister(
  deps: Deps,
  work: PasswordWork,
  input: CredentialsInput,
  meta: ClientMeta,
): Promise<Result<UserRecord, 'THROTTLED' | 'WEAK_PASSWORD' | 'USERNAME_TAKEN'>> {
  // Counting, the policy check and the hash share one turn (PasswordHasher.withTurn): one refused
  // for waiting too long has counted nothing.
  const judged = await work.turn(async (hashing) => {
    const throttled = await throttleClient(deps, meta.clientAddress);
    if (!throttled.allowed) return { throttled } as const;
    const min = deps.config.passwordMinLength;
    const weak = passwordPolicyReason(input.password, input.username, min);
    if (weak) return { weak } as const;
    return { hash: await hashing.hash(input.password) } as const;
  });
  if (judged.throttled) {
    // Every refusal is logged; only the one that starts a lockout is stored, so a client
    // hammering a lock does not grow the audit table.
    await audit(
      deps,
      { event: 'register.throttled', username: input.username, ...meta },
      { store: judged.throttled.lockoutStarted },
    );
    return fail('THROTTLED', { retryAfter: judged.throttled.retryAfter });
  }
  if ('weak' in judged) return fail('WEAK_PASSWORD', { message: judged.weak });
  const hash = judged.hash;
  const user = await insertUser(deps.db, input.username, hash, deps.now());
  if (!user) return fail('USERNAME_TAKEN');
  await audit(deps, { event: 'register', userId: user.id, username: user.username, ...meta });
  return ok(user);
}

/** What a verified password leads to: a session, or (with a second factor) an mfaToken. */
export type SignIn =
  { kind: 'session'; session: IssuedSession } | ({ kind: 'challenge' } & MfaChallenge);

export type LoginFailure = 'THROTTLED' | 'INVALID_CREDENTIALS' | 'MFA_REQUIRED' | 'INVALID_CODE';

export interface LoginOptions {
  withRefreshToken?: boolean;
  /**
   * Present for `/token`: a user with a second factor must send its code with the password
   * (`otp`), and gets MFA_REQUIRED or INVALID_CODE instead of an mfaToken. Absent (tRPC `login`):
   * such a user gets an mfaToken for `mfa.verify`.
   */
  secondFactor?: { otp: string | undefined };
}

/**
 * Checks a username and password and starts a session. Unknown user, wrong password and disabled
 * user take the same path through one argon2 verification and fail with the same code; whether
 * the user has a second factor is acted on only after the password verified.
 */
export async function login(
  deps: Deps,
  input: CredentialsInput,
  meta: ClientMeta,
  options: LoginOptions = {},
): Promise<Result<SignIn, LoginFailure>> {
  // Under a flood, refuse before touching the database: the hash could not run anyway.
  return withPasswordWork(deps, (work) => admittedLogin(deps, work, input, meta, options));
}

async function admittedLogin(
  deps: Deps,
  work: PasswordWork,
  input: CredentialsInput,
  meta: ClientMeta,
  options: LoginOptions,
): Promise<Result<SignIn, LoginFailure>> {
  // The throttle count, the user lookup (one statement) and the hash share one turn
  // (PasswordHasher.withTurn): a login refused for waiting too long has counted nothing.
  const { verdict, user, matches, secondFactor } = await work.turn(async (hashing) => {
    const counted = await countLoginAttemptAndFindUser(deps, input.username, meta.clientAddress);
    if (!counted.verdict.allowed) return { ...counted, user: null, matches: false };
    const found = counted.user;
    const same = found
      ? await hashing.verify(found.passwordHash, input.password)
      : await hashing.verifyDummy(input.password).then(() => false);
    return { ...counted, matches: same };
  });
  if (!verdict.allowed) {
    // Every refusal is logged; only the one that starts a lockout is stored (see above).
    await audit(
      deps,
      { event: 'login.throttled', username: input.username, ...meta },
      { store: verdict.lockoutStarted },
    );
    return fail('THROTTLED', { retryAfter: verdict.retryAfter });
  }
  let reason: 'unknown_user' | 'bad_password' | 'disabled' | null = null;
  if (!user) reason = 'unknown_user';
  else if (!matches) reason = 'bad_password';
  else if (user.disabledAt !== null) reason = 'disabled';
  if (!user || reason !== null) {
    await audit(deps, {
      event: 'login.failure',
      reason,
      userId: user?.id ?? null,
      username: input.username,
      ...meta,
    });
    return fail('INVALID_CREDENTIALS');
  }
  if (deps.hasher.needsRehash(user.passwordHash)) {
    // Parameters changed since this hash was made: upgrade it while the password is at hand.
    const rehashed = await work.hash(input.password);
    await updatePasswordHash(deps.db, user.id, rehashed, deps.now());
  }
  const publicUser = { id: user.id, username: user.username, createdAt: user.createdAt };
  const withRefreshToken = options.withRefreshToken ?? true;
  if (secondFactor) {
    if (!options.secondFactor) {
      const challenge = await issueChallenge(deps, publicUser, verdict, meta);
      return ok({ kind: 'challenge', ...challenge });
    }
    const { otp } = options.secondFactor;
    const signedIn = await signInWithCode(deps, publicUser, otp, verdict, meta, withRefreshToken);
    return signedIn.ok ? ok({ kind: 'session', session: signedIn.value }) : signedIn;
  }
  await verdict.succeeded();
  const session = await startSession(deps, publicUser, meta, {
    withRefreshToken,
    audit: { event: 'login.success', userId: user.id, username: user.username, ...meta },
  });
  if (!session) {
    // Disabled or deleted by an operator while the password was being checked.
    await audit(deps, {
      event: 'login.failure',
      reason: 'disabled',
      userId: user.id,
      username: user.username,
      ...meta,
    });
    return fail('INVALID_CREDENTIALS');
  }
  return ok({ kind: 'session', session });
}

/**
 * Verifies the current password, stores the new one and ends every other session of the user.
 * Current-password guesses count against the account's login throttle.
 */
export async function changePassword(
  deps: Deps,
  current: { user: UserRecord; sessionId: string },
  input: { currentPassword: string; newPassword: string },
  meta: ClientMeta,
): Promise<Result<null, 'THROTTLED' | 'WRONG_PASSWORD' | 'WEAK_PASSWORD'>> {
  return withPasswordWork(deps, (work) => admittedChangePassword(deps, work, current, input, meta));
}

async function admittedChangePassword(
  deps: Deps,
  work: PasswordWork,
  current: { user: UserRecord; sessionId: string },
  input: { currentPassword: string; newPassword: string },
  meta: ClientMeta,
): Promise<Result<null, 'THROTTLED' | 'WRONG_PASSWORD' | 'WEAK_PASSWORD'>> {
  const { user } = current;
  const checked = await verifyCurrentPassword(deps, work, user, input.currentPassword, meta);
  if (!checked.ok) return checked;
  await checked.value.succeeded();
  const weak = passwordPolicyReason(
    input.newPassword,
    user.username,
    deps.config.passwordMinLength,
  );
  if (weak) return fail('WEAK_PASSWORD', { message: weak });
  const hash = await work.hash(input.newPassword);
  const ended = await auditedTransaction(deps, async (trx, trail) => {
    await updatePasswordHash(trx, user.id, hash, trail.now);
    const count = await revokeUserSessions(
      trx,
      user.id,
      'password_changed',
      trail.now,
      current.sessionId,
    );
    await trail.record({
      event: 'password.changed',
      userId: user.id,
      username: user.username,
      sessionId: current.sessionId,
      ...meta,
    });
    return count;
  });
  if (ended > 0) await announceRevocation(deps);
  return ok(null);
}
