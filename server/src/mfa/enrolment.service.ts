import { auditedTransaction, recordEvent, type AuditTrail } from '../audit/audit.service.ts';
import { passwordStepUp } from '../auth/step-up.ts';
import { countPasskeys } from '../passkeys/passkey.repository.ts';
import { fail, ok, type ClientMeta, type Result } from '../result.ts';
import type { Deps } from '../deps.ts';
import { announceRevocation } from '../sessions/revocation.ts';
import { revokeUserSessions } from '../sessions/session.repository.ts';
import { countLoginAttemptAndFindUser } from '../throttle/throttle.service.ts';
import type { Db } from '@latchkey/db';
import type { UserRecord } from '../users/user.repository.ts';
import { spendCode, type FactorMethod } from './code-check.ts';
import {
  deleteFactor,
  enableFactor,
  factorStatus,
  findFactor,
  replaceRecoveryCodes,
  savePendingFactor,
} from './mfa.repository.ts';
import {
  generateRecoveryCodes,
  hashRecoveryCode,
  canonicalRecoveryCode,
} from './recovery-codes.ts';
import { openSecret, sealSecret } from './secret-box.ts';
import { matchTotp, newTotpSecret, otpauthUrl } from './totp.ts';

/**
 * Turning the second factor on and off from a signed-in session. Every code checked here counts
 * against the account's login throttle like a sign-in attempt, and every change is one transaction
 * with its audit event.
 */
type StepUpFailure = 'THROTTLED' | 'WRONG_PASSWORD' | 'INVALID_CODE' | 'NOT_ENABLED';

export async function mfaStatus(deps: Deps, userId: string) {
  const [factor, passkeys] = await Promise.all([
    factorStatus(deps.db, userId),
    countPasskeys(deps.db, userId),
  ]);
  return { ...factor, passkeys };
}

function who(user: UserRecord, meta: ClientMeta) {
  return { userId: user.id, username: user.username, ...meta };
}

/** A new pending secret after a password step-up; CONFLICT while a factor is in force. */
export async function setUpTotp(
  deps: Deps,
  user: UserRecord,
  password: string,
  meta: ClientMeta,
): Promise<
  Result<{ secret: string; otpauthUrl: string }, 'THROTTLED' | 'WRONG_PASSWORD' | 'ACTIVE'>
> {
  const checked = await passwordStepUp(deps, user, password, meta);
  if (!checked.ok) return checked;
  await checked.value.succeeded();
  const secret = newTotpSecret();
  const box = sealSecret(deps.config.mfa.ring, user.id, secret);
  if (!(await savePendingFactor(deps.db, user.id, box, deps.now()))) return fail('ACTIVE');
  return ok({ secret, otpauthUrl: otpauthUrl(deps.config.mfa.issuer, user.username, secret) });
}

/** Ten new codes stored as hashes in `trx`; the plain codes are returned once, never stored. */
async function newRecoveryCodes(trx: Db, trail: AuditTrail, userId: string): Promise<string[]> {
  const codes = generateRecoveryCodes();
  const hashes = codes.map((c) => hashRecoveryCode(userId, canonicalRecoveryCode(c) ?? c));
  await replaceRecoveryCodes(trx, userId, hashes, trail.now);
  return codes;
}

/**
 * Confirms the pending factor with a code from it: the factor is in force from now on, ten
 * recovery codes are returned (this once), and every other session of the user ends.
 */
export async function enableTotp(
  deps: Deps,
  current: { user: UserRecord; sessionId: string },
  code: string,
  meta: ClientMeta,
): Promise<
  Result<{ recoveryCodes: string[] }, 'THROTTLED' | 'INVALID_CODE' | 'NOT_SET_UP' | 'ACTIVE'>
> {
  const { user } = current;
  const factor = await findFactor(deps.db, user.id);
  if (!factor) return fail('NOT_SET_UP');
  if (factor.enabled) return fail('ACTIVE');
  const { verdict } = await countLoginAttemptAndFindUser(deps, user.username, meta.clientAddress);
  if (!verdict.allowed) return fail('THROTTLED', { retryAfter: verdict.retryAfter });
  const opened = openSecret(deps.config.mfa.ring, user.id, factor.secretBox);
  const step = opened
    ? matchTotp(opened.secret, code.replace(/\s+/g, ''), deps.now().getTime())
    : null;
  if (step === null) {
    await recordEvent(deps, { event: 'mfa.failed', reason: 'enable', ...who(user, meta) });
    return fail('INVALID_CODE');
  }
  await verdict.succeeded();
  const outcome = await auditedTransaction(deps, async (trx, trail) => {
    if (!(await enableFactor(trx, user.id, factor.secretBox, step, trail.now))) return null;
    const recoveryCodes = await newRecoveryCodes(trx, trail, user.id);
    const ended = await revokeUserSessions(
      trx,
      user.id,
      'mfa_enabled',
      trail.now,
      current.sessionId,
    );
    await trail.record({ event: 'mfa.enabled', sessionId: current.sessionId, ...who(user, meta) });
    return { recoveryCodes, ended };
  });
  if (!outcome) return fail('NOT_SET_UP');
  if (outcome.ended > 0) await announceRevocation(deps);
  return ok({ recoveryCodes: outcome.recoveryCodes });
}

/**
 * The password and a code (TOTP or recovery) before the factor changes; `change` runs in the same
 * transaction as spending the code, so a code that passed is never spent without the change.
 */
async function withPasswordAndCode<T>(
  deps: Deps,
  user: UserRecord,
  input: { password: string; code: string },
  meta: ClientMeta,
  change: (trx: Db, trail: AuditTrail, method: FactorMethod) => Promise<T>,
): Promise<Result<T, StepUpFailure>> {
  const checked = await passwordStepUp(deps, user, input.password, meta);
  if (!checked.ok) return checked;
  const verdict = checked.value;
  const factor = await findFactor(deps.db, user.id);
  if (!factor?.enabled) {
    await verdict.succeeded();
    return fail('NOT_ENABLED');
  }
  const result = await auditedTransaction(deps, async (trx, trail) => {
    const method = await spendCode(deps, trx, user.id, factor, input.code);
    if (method === null) return null;
    if (method === 'recovery')
      await trail.record({ event: 'mfa.recovery_used', ...who(user, meta) });
    return { value: await change(trx, trail, method) };
  });
  if (!result) {
    await recordEvent(deps, { event: 'mfa.failed', reason: 'step_up', ...who(user, meta) });
    return fail('INVALID_CODE');
  }
  await verdict.succeeded();
  return ok(result.value);
}

/** Removes the factor and its recovery codes. */
export async function disableTotp(
  deps: Deps,
  user: UserRecord,
  input: { password: string; code: string },
  meta: ClientMeta,
): Promise<Result<null, StepUpFailure>> {
  return withPasswordAndCode(deps, user, input, meta, async (trx, trail) => {
    await deleteFactor(trx, user.id);
    await trail.record({ event: 'mfa.disabled', ...who(user, meta) });
    return null;
  });
}

/** A new set of ten recovery codes; the previous set stops working. */
export async function regenerateRecoveryCodes(
  deps: Deps,
  user: UserRecord,
  input: { password: string; code: string },
  meta: ClientMeta,
): Promise<Result<{ recoveryCodes: string[] }, StepUpFailure>> {
  return withPasswordAndCode(deps, user, input, meta, async (trx, trail) => {
    const recoveryCodes = await newRecoveryCodes(trx, trail, user.id);
    await trail.record({ event: 'mfa.recovery_regenerated', ...who(user, meta) });
    return { recoveryCodes };
  });
}
