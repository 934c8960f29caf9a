import { recordEvent } from '../audit/audit.service.ts';
import type { Deps } from '../deps.ts';
import { fail, ok, type ClientMeta, type Result } from '../result.ts';
import { withPasswordWork, type PasswordWork } from './password-work.ts';
import { countLoginAttemptAndFindUser, type LoginVerdict } from '../throttle/throttle.service.ts';
import { findUserCredentialsById, type UserRecord } from '../users/user.repository.ts';

/**
 * Checks the signed-in user's password again before a sensitive change (a new password, a second
 * factor set up or removed, a passkey removed), in a turn of the caller's password work
 * (password-work.ts), like every other verification. The guess counts against the account's login
 * throttle like a sign-in, and a wrong one is audited; the caller settles the verdict
 * (`succeeded`) once everything it asked for has proven right, so a right password with a wrong
 * code still counts as a failure.
 */
export async function verifyCurrentPassword(
  deps: Deps,
  work: PasswordWork,
  user: UserRecord,
  password: string,
  meta: ClientMeta,
): Promise<Result<LoginVerdict, 'THROTTLED' | 'WRONG_PASSWORD'>> {
  const { verdict, matches } = await work.turn(async (hashing) => {
    const { verdict, user: found } = await countLoginAttemptAndFindUser(
      deps,
      user.username,
      meta.clientAddress,
    );
    if (!verdict.allowed) return { verdict, matches: false };
    // The count already read the account by name; by id only if that found someone else.
    const stored = found?.id === user.id ? found : await findUserCredentialsById(deps.db, user.id);
    const matches = stored !== null && (await hashing.verify(stored.passwordHash, password));
    return { verdict, matches };
  });
  if (!verdict.allowed) return fail('THROTTLED', { retryAfter: verdict.retryAfter });
  if (!matches) {
    await recordEvent(deps, {
      event: 'login.failure',
      reason: 'bad_current_password',
      userId: user.id,
      username: user.username,
      ...meta,
    });
    return fail('WRONG_PASSWORD');
  }
  return ok(verdict);
}

/** verifyCurrentPassword in a password work of its own, for a change that hashes nothing else. */
export function passwordStepUp(
  deps: Deps,
  user: UserRecord,
  password: string,
  meta: ClientMeta,
): Promise<Result<LoginVerdict, 'THROTTLED' | 'WRONG_PASSWORD'>> {
  return withPasswordWork(deps, (work) => verifyCurrentPassword(deps, work, user, password, meta));
}
