import { registerInputSchema, usernameSchema, PASSWORD_MIN_LENGTH_FLOOR } from '@latchkey/shared';
import { insertAuditEvent, type AuditEvent } from '../audit/audit.repository.ts';
import { passwordPolicyReason } from '../auth/password-policy.ts';
import { fail, ok, type Result } from '../result.ts';
import type { Deps } from '../services.ts';
import { announceRevocation } from '../sessions/revocation.ts';
import { revokeUserSessions } from '../sessions/session.repository.ts';
import {
  deleteUser,
  findUserCredentialsByUsername,
  insertUser,
  listUsers,
  setUserDisabled,
  updatePasswordHash,
  type UserRecord,
} from './user.repository.ts';

/** Operator actions (the CLI). Each one is audited; each that locks a user out ends their sessions. */

type AdminFailure = 'INVALID_INPUT' | 'USERNAME_TAKEN' | 'NO_SUCH_USER';

const OPERATOR = { clientAddress: null, userAgent: 'latchkey-cli' };

function canonical(name: string): Result<string, AdminFailure> {
  const parsed = usernameSchema.safeParse(name);
  return parsed.success
    ? ok(parsed.data)
    : fail('INVALID_INPUT', { message: parsed.error.issues[0]?.message ?? 'Invalid username' });
}

async function audit(deps: Deps, event: AuditEvent, userId: string, username: string) {
  await insertAuditEvent(deps.db, { event, userId, username, ...OPERATOR }, deps.now());
}

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
  const user = await insertUser(deps.db, username.value, await deps.hasher.hash(pw.value));
  if (!user) return fail('USERNAME_TAKEN');
  await audit(deps, 'user.created', user.id, user.username);
  return ok(user);
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
  const hash = await deps.hasher.hash(pw.value);
  await updatePasswordHash(deps.db, user.value.id, hash);
  await revokeUserSessions(deps.db, user.value.id, 'password_set', deps.now());
  await announceRevocation(deps);
  await audit(deps, 'user.password_set', user.value.id, user.value.username);
  return ok(null);
}

export async function setDisabled(
  deps: Deps,
  name: string,
  disabled: boolean,
): Promise<Result<null, AdminFailure>> {
  const user = await existing(deps, name);
  if (!user.ok) return user;
  const now = deps.now();
  await setUserDisabled(deps.db, user.value.username, disabled ? now : null);
  if (disabled) await revokeUserSessions(deps.db, user.value.id, 'user_disabled', now);
  await announceRevocation(deps);
  await audit(
    deps,
    disabled ? 'user.disabled' : 'user.enabled',
    user.value.id,
    user.value.username,
  );
  return ok(null);
}

export async function removeUser(deps: Deps, name: string): Promise<Result<null, AdminFailure>> {
  const user = await existing(deps, name);
  if (!user.ok) return user;
  // Sessions go with the user (ON DELETE CASCADE), so its access tokens stop verifying at once.
  await deleteUser(deps.db, user.value.username);
  await announceRevocation(deps);
  await audit(deps, 'user.deleted', user.value.id, user.value.username);
  return ok(null);
}

export async function revokeAllSessions(
  deps: Deps,
  name: string,
): Promise<Result<number, AdminFailure>> {
  const user = await existing(deps, name);
  if (!user.ok) return user;
  const count = await revokeUserSessions(deps.db, user.value.id, 'revoked_by_operator', deps.now());
  await announceRevocation(deps);
  await audit(deps, 'sessions.revoked_all', user.value.id, user.value.username);
  return ok(count);
}

export { listUsers };
