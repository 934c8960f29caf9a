import { registerInputSchema, usernameSchema, PASSWORD_MIN_LENGTH_FLOOR } from '@latchkey/shared';
import type { AuditEntry, AuditEvent } from '../audit/audit.repository.ts';
import { auditedTransaction } from '../audit/audit.service.ts';
import { passwordPolicyReason } from '../auth/password-policy.ts';
import { withPasswordWork } from '../auth/password-work.ts';
import { fail, ok, type Result } from '../result.ts';
import type { Deps } from '../deps.ts';
import { announceRevocation } from '../sessions/revocation.ts';
import { revokeUserSessions } from '../sessions/session.repository.ts';
import { deleteFactor } from '../mfa/mfa.repository.ts';
import {
  deleteUser,
  findUserCredentialsByUsername,
  insertUser,
  listUsers,
  setUserDisabled,
  updatePasswordHash,
  type UserRecord,
} from './user.repository.ts';

/**
 * Operator actions (the CLI). Each one changes the user, ends the sessions it must end and writes
 * its audit event in one transaction: a failure anywhere leaves everything as it was, never a new
 * password with the old sessions alive. Revocations are announced only after the commit.
 */

type AdminFailure = 'INVALID_INPUT' | 'USERNAME_TAKEN' | 'NO_SUCH_USER';

const OPERATOR = { clientAddress: null, userAgent: 'latchkey-cli' };

function canonical(name: string): Result<string, AdminFailure> {
  const parsed = usernameSchema.safeParse(name);
  return parsed.success
    ? ok(parsed.data)
    : fail('INVALID_INPUT', { message: parsed.error.issues[0]?.message ?? 'Invalid username' });
}

const operatorEvent = (event: AuditEvent, user: { id: string; username: string }): AuditEntry => ({
  event,
  userId: user.id,
  username: user.username,
  ...OPERATOR,
});

function checkNewPassword(
  deps: Deps,
  username: string,
  password: string,
): Result<string, AdminFailure> {
  const parsed = registerInputSchema(PASSWORD_MIN_LENGTH_FLOOR).safeParse({ username, password });
  if (!parsed.success) {
    return fail('INVALID_INPUT', { message: parsed.error.issues[0]?.message ?? 'Invalid input' });
  }
  const weak = passwordPolicyReason(
    parsed.data.password,
    parsed.data.username,
    deps.config.passwordMinLength,
  );
  return weak ? fail('INVALID_INPUT', { message: weak }) : ok(parsed.data.password);
}

export async function createUser(
  deps: Deps,
  name: string,
  password: string,
): Promise<Result<UserRecord, AdminFailure>> {
  const username = canonical(name);
  if (!username.ok) return username;
  const pw = checkNewPassword(deps, username.value, password);
  if (!pw.ok) return pw;
  const hash = await withPasswordWork(deps, (work) => work.hash(pw.value));
  const user = await auditedTransaction(deps, async (trx, trail) => {
    const created = await insertUser(trx, username.value, hash, trail.now);
    if (created) await trail.record(operatorEvent('user.created', created));
    return created;
  });
  return user ? ok(user) : fail('USERNAME_TAKEN');
}

async function existing(deps: Deps, name: string) {
  const username = canonical(name);
  if (!username.ok) return fail('NO_SUCH_USER');
  const user = await findUserCredentialsByUsername(deps.db, username.value);
  return user ? ok(user) : fail('NO_SUCH_USER');
}

export async function setPassword(
  deps: Deps,
  name: string,
  password: string,
): Promise<Result<null, AdminFailure>> {
  const user = await existing(deps, name);
  if (!user.ok) return user;
  const pw = checkNewPassword(deps, user.value.username, password);
  if (!pw.ok) return pw;
  const hash = await withPasswordWork(deps, (work) => work.hash(pw.value));
  const ended = await auditedTransaction(deps, async (trx, trail) => {
    if (!(await updatePasswordHash(trx, user.value.id, hash, trail.now))) return null;
    const count = await revokeUserSessions(trx, user.value.id, 'password_set', trail.now);
    await trail.record(operatorEvent('user.password_set', user.value));
    return count;
  });
  if (ended === null) return fail('NO_SUCH_USER');
  if (ended > 0) await announceRevocation(deps);
  return ok(null);
}

export async function setDisabled(
  deps: Deps,
  name: string,
  disabled: boolean,
): Promise<Result<null, AdminFailure>> {
  const user = await existing(deps, name);
  if (!user.ok) return user;
  const changed = await auditedTransaction(deps, async (trx, trail) => {
    if (!(await setUserDisabled(trx, user.value.id, disabled, trail.now))) return false;
    if (disabled) await revokeUserSessions(trx, user.value.id, 'user_disabled', trail.now);
    await trail.record(operatorEvent(disabled ? 'user.disabled' : 'user.enabled', user.value));
    return true;
  });
  if (!changed) return fail('NO_SUCH_USER');
  // Even with no session to revoke, another instance may hold this user's sessions in its cache.
  if (disabled) await announceRevocation(deps);
  return ok(null);
}

export async function removeUser(deps: Deps, name: string): Promise<Result<null, AdminFailure>> {
  const user = await existing(deps, name);
  if (!user.ok) return user;
  // Sessions go with the user (ON DELETE CASCADE), so its access tokens stop verifying at once.
  const deleted = await auditedTransaction(deps, async (trx, trail) => {
    if (!(await deleteUser(trx, user.value.id))) return false;
    await trail.record(operatorEvent('user.deleted', user.value));
    return true;
  });
  if (!deleted) return fail('NO_SUCH_USER');
  await announceRevocation(deps);
  return ok(null);
}

export async function revokeAllSessions(
  deps: Deps,
  name: string,
): Promise<Result<number, AdminFailure>> {
  const user = await existing(deps, name);
  if (!user.ok) return user;
  const count = await auditedTransaction(deps, async (trx, trail) => {
    const ended = await revokeUserSessions(trx, user.value.id, 'revoked_by_operator', trail.now);
    await trail.record(operatorEvent('sessions.revoked_all', user.value));
    return ended;
  });
  if (count > 0) await announceRevocation(deps);
  return ok(count);
}

/**
 * `user reset-mfa`: removes the TOTP factor (pending or active), its recovery codes and open
 * sign-in challenges, and ends every session, with an `mfa.reset` event; for a user who lost their
 * authenticator and recovery codes. Returns whether there was a factor.
 */
export async function resetSecondFactor(
  deps: Deps,
  name: string,
): Promise<Result<boolean, AdminFailure>> {
  const user = await existing(deps, name);
  if (!user.ok) return user;
  const removed = await auditedTransaction(deps, async (trx, trail) => {
    const had = await deleteFactor(trx, user.value.id);
    await revokeUserSessions(trx, user.value.id, 'mfa_reset', trail.now);
    await trail.record({ ...operatorEvent('mfa.reset', user.value), reason: had ? null : 'none' });
    return had;
  });
  await announceRevocation(deps);
  return ok(removed);
}

export { listUsers };
