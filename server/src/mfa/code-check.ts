import type { Deps } from '../deps.ts';
import type { Db } from '@latchkey/db';
import { acceptStep, spendRecoveryCode, type FactorRecord } from './mfa.repository.ts';
import { canonicalRecoveryCode, hashRecoveryCode } from './recovery-codes.ts';
import { openSecret, sealSecret } from './secret-box.ts';
import { isTotpCode, matchTotp } from './totp.ts';

export type FactorMethod = 'totp' | 'recovery';

/** Longer than any code: refused before any work. */
const MAX_CODE_LENGTH = 64;

/** A code as typed: a 6-digit TOTP code, a recovery code in any case and grouping, or neither. */
export function classifyCode(
  raw: string,
): { method: 'totp'; code: string } | { method: 'recovery'; code: string } | null {
  if (raw.length > MAX_CODE_LENGTH) return null;
  const trimmed = raw.replace(/\s+/g, '');
  if (isTotpCode(trimmed)) return { method: 'totp', code: trimmed };
  const recovery = canonicalRecoveryCode(raw);
  return recovery === null ? null : { method: 'recovery', code: recovery };
}

/**
 * Checks a code against a factor in force and spends it, atomically, in `db`: a TOTP code for the
 * current step or one either side that is later than the last step accepted (so no code passes
 * twice, whatever asked for it), or an unused recovery code. Returns the method that passed, or
 * null for a wrong, malformed or already used code. A secret sealed under an older key is
 * re-sealed under the current one in the same write.
 */
export async function spendCode(
  deps: Deps,
  db: Db,
  userId: string,
  factor: FactorRecord | null,
  raw: string,
): Promise<FactorMethod | null> {
  if (!factor?.enabled) return null;
  const code = classifyCode(raw);
  if (code === null) return null;
  const now = deps.now();
  if (code.method === 'recovery') {
    const spent = await spendRecoveryCode(db, userId, hashRecoveryCode(userId, code.code), now);
    return spent ? 'recovery' : null;
  }
  const ring = deps.config.mfa.ring;
  const opened = openSecret(ring, userId, factor.secretBox);
  if (!opened) return null;
  const step = matchTotp(opened.secret, code.code, now.getTime());
  if (step === null || (factor.lastStep !== null && step <= factor.lastStep)) return null;
  const resealed = opened.stale ? sealSecret(ring, userId, opened.secret) : null;
  return (await acceptStep(db, userId, step, resealed)) ? 'totp' : null;
}
