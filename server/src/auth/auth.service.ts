import { insertAuditEvent, type AuditEntry } from '../audit/audit.repository.ts';
import { fail, ok, type ClientMeta, type Result } from '../result.ts';
import type { Deps } from '../services.ts';
import { announceRevocation } from '../sessions/revocation.ts';
import { revokeUserSessions } from '../sessions/session.repository.ts';
import { startSession, type IssuedSession } from '../sessions/session.service.ts';
import {
  refundRegistration,
  throttleLogin,
  throttleRegistration,
} from '../throttle/throttle.service.ts';
import {
  findUserCredentialsById,
  findUserCredentialsByUsername,
  insertUser,
  updatePasswordHash,
  type UserRecord,
} from '../users/user.repository.ts';
import { OverloadedError } from './limiter.ts';
import { passwordPolicyReason } from './password.ts';

/** Inputs here are already canonical (username) and NFKC-normalised (passwords) by the schemas. */
export interface CredentialsInput {
  username: string;
  password: string;
}

async function audit(deps: Deps, entry: AuditEntry): Promise<void> {
  await insertAuditEvent(deps.db, entry, deps.now());
}

/**
 * Runs the hashing step of an attempt that was already counted against a throttle. When hashing
 * refuses it (it waited too long for a thread) the attempt was never judged: its counts are given
 * back before the 503 goes out, so a busy server leaves nothing behind.
 */
async function judged<T>(step: () => Promise<T>, refund: () => Promise<void>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof OverloadedError) await refund();
    throw error;
  }
}

export async function register(
  deps: Deps,
  input: CredentialsInput,
  meta: ClientMeta,
): Promise<Result<UserRecord, 'THROTTLED' | 'WEAK_PASSWORD' | 'USERNAME_TAKEN'>> {
  const release = deps.hasher.admit();
  try {
    return await admittedRegister(deps, input, meta);
  } finally {
    release();
  }
}

async function admittedRegister(
  deps: Deps,
  input: CredentialsInput,
  meta: ClientMeta,
): Promise<Result<UserRecord, 'THROTTLED' | 'WEAK_PASSWORD' | 'USERNAME_TAKEN'>> {
  const wait = await throttleRegistration(deps, meta.clientAddress);
  if (wait > 0) {
    await audit(deps, { event: 'register.throttled', username: input.username, ...meta });
    return fail('THROTTLED', { retryAfter: wait });
  }
  const weak = passwordPolicyReason(input.password, input.username, deps.config.passwordMinLength);
  if (weak) return fail('WEAK_PASSWORD', { message: weak });
  const hash = await judged(
    () => deps.hasher.hash(input.password),
    () => refundRegistration(deps, meta.clientAddress),
  );
  const user = await insertUser(deps.db, input.username, hash);
  if (!user) return fail('USERNAME_TAKEN');
  await audit(deps, { event: 'register', userId: user.id, username: user.username, ...meta });
  return ok(user);
}

/**
 * Checks a username and password and starts a session. Unknown user, wrong password and disabled
 * user take the same path through one argon2 verification and fail with the same code.
 */
export async function login(
  deps: Deps,
  input: CredentialsInput,
  meta: ClientMeta,
  options: { withRefreshToken?: boolean } = {},
): Promise<Result<IssuedSession, 'THROTTLED' | 'INVALID_CREDENTIALS'>> {
  // Under a flood, refuse before touching the database: the hash could not run anyway.
  const release = deps.hasher.admit();
  try {
    return await admittedLogin(deps, input, meta, options);
  } finally {
    release();
  }
}

async function admittedLogin(
  deps: Deps,
  input: CredentialsInput,
  meta: ClientMeta,
  options: { withRefreshToken?: boolean },
): Promise<Result<IssuedSession, 'THROTTLED' | 'INVALID_CREDENTIALS'>> {
  const verdict = await throttleLogin(deps, input.username, meta.clientAddress);
  if (!verdict.allowed) {
    await audit(deps, { event: 'login.throttled', username: input.username, ...meta });
    return fail('THROTTLED', { retryAfter: verdict.retryAfter });
  }
  const user = await findUserCredentialsByUsername(deps.db, input.username);
  const matches = await judged(
    () =>
      user
        ? deps.hasher.verify(user.passwordHash, input.password)
        : deps.hasher.verifyDummy(input.password).then(() => false),
    () => verdict.refund(),
  );
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
  await verdict.succeeded();
  if (deps.hasher.needsRehash(user.passwordHash)) {
    // Parameters changed since this hash was made: upgrade it while the password is at hand.
    await updatePasswordHash(deps.db, user.id, await deps.hasher.hash(input.password));
  }
  const publicUser = { id: user.id, username: user.username, createdAt: user.createdAt };
  const session = await startSession(deps, publicUser, meta, {
    withRefreshToken: options.withRefreshToken ?? true,
    audit: { event: 'login.success', userId: user.id, username: user.username, ...meta },
  });
  return ok(session);
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
  const { user } = current;
  const verdict = await throttleLogin(deps, user.username, meta.clientAddress);
  if (!verdict.allowed) return fail('THROTTLED', { retryAfter: verdict.retryAfter });
  const stored = await findUserCredentialsById(deps.db, user.id);
  const matches =
    stored !== null &&
    (await judged(
      () => deps.hasher.verify(stored.passwordHash, input.currentPassword),
      () => verdict.refund(),
    ));
  if (!matches) {
    await audit(deps, {
      event: 'login.failure',
      reason: 'bad_current_password',
      userId: user.id,
      username: user.username,
      ...meta,
    });
    return fail('WRONG_PASSWORD');
  }
  await verdict.succeeded();
  const weak = passwordPolicyReason(
    input.newPassword,
    user.username,
    deps.config.passwordMinLength,
  );
  if (weak) return fail('WEAK_PASSWORD', { message: weak });
  const hash = await deps.hasher.hash(input.newPassword);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await updatePasswordHash(trx, user.id, hash);
    await revokeUserSessions(trx, user.id, 'password_changed', now, current.sessionId);
    await insertAuditEvent(
      trx,
      {
        event: 'password.changed',
        userId: user.id,
        username: user.username,
        sessionId: current.sessionId,
        ...meta,
      },
      now,
    );
  });
  await announceRevocation(deps);
  return ok(null);
}
