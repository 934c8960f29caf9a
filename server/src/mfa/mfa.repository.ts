import { sql } from 'kysely';
import type { Db } from '@latchkey/db';

/** A user's TOTP factor as stored: the sealed secret, whether it is in force, the replay guard. */
export interface FactorRecord {
  secretBox: string;
  enabled: boolean;
  /** Last accepted time step; codes for it or any earlier step are refused. */
  lastStep: number | null;
}

const toStep = (value: string | number | null): number | null =>
  value === null ? null : Number(value);

export async function findFactor(db: Db, userId: string): Promise<FactorRecord | null> {
  const row = await db
    .selectFrom('mfa_totp')
    .select(['secret_box', 'enabled_at', 'last_step'])
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    secretBox: row.secret_box,
    enabled: row.enabled_at !== null,
    lastStep: toStep(row.last_step),
  };
}

/**
 * Stores a pending factor, replacing a pending one; false (and nothing written) while a factor is
 * in force, so a second set-up can never overwrite an active secret.
 */
export async function savePendingFactor(
  db: Db,
  userId: string,
  secretBox: string,
  now: Date,
): Promise<boolean> {
  const row = await db
    .insertInto('mfa_totp')
    .values({ user_id: userId, secret_box: secretBox, created_at: now })
    .onConflict((oc) =>
      oc
        .column('user_id')
        .doUpdateSet({ secret_box: secretBox, created_at: now, last_step: null })
        .where('mfa_totp.enabled_at', 'is', null),
    )
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Puts the pending factor sealed as `secretBox` in force with `step` as its last accepted step;
 * false when it is no longer that pending factor (replaced by a new set-up, or enabled already).
 */
export async function enableFactor(
  db: Db,
  userId: string,
  secretBox: string,
  step: number,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('mfa_totp')
    .set({ enabled_at: now, last_step: step })
    .where('user_id', '=', userId)
    .where('secret_box', '=', secretBox)
    .where('enabled_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Records `step` as used, atomically: true only for the first caller with a step later than every
 * step accepted before, so two requests with one code cannot both pass. `resealed` replaces the box
 * in the same write (a secret sealed under an older key).
 */
export async function acceptStep(
  db: Db,
  userId: string,
  step: number,
  resealed: string | null,
): Promise<boolean> {
  const result = await db
    .updateTable('mfa_totp')
    .set({
      last_step: step,
      ...(resealed === null ? {} : { secret_box: resealed }),
    })
    .where('user_id', '=', userId)
    .where('enabled_at', 'is not', null)
    .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', String(step))]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Removes the factor, its recovery codes and its open challenges; true when there was a factor. */
export async function deleteFactor(db: Db, userId: string): Promise<boolean> {
  await db.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  await db.deleteFrom('mfa_challenges').where('user_id', '=', userId).execute();
  const result = await db.deleteFrom('mfa_totp').where('user_id', '=', userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Replaces the user's recovery codes with these hashes: the previous set stops working. */
export async function replaceRecoveryCodes(
  db: Db,
  userId: string,
  hashes: readonly string[],
  now: Date,
): Promise<void> {
  await db.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  await db
    .insertInto('mfa_recovery_codes')
    .values(hashes.map((code_hash) => ({ user_id: userId, code_hash, created_at: now })))
    .execute();
}

/** Spends a recovery code, atomically: true for the one caller that found it unused. */
export async function spendRecoveryCode(
  db: Db,
  userId: string,
  codeHash: string,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('mfa_recovery_codes')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Whether a factor is in force and how many unused recovery codes remain, in one statement. */
export async function factorStatus(
  db: Db,
  userId: string,
): Promise<{ totp: boolean; recoveryCodesLeft: number }> {
  const { rows } = await sql<{ totp: boolean; left: number }>`select
      exists (select 1 from mfa_totp where user_id = ${userId} and enabled_at is not null) as totp,
      (select count(*)::int from mfa_recovery_codes where user_id = ${userId} and used_at is null)
        as left`.execute(db);
  const row = rows[0];
  return { totp: row?.totp ?? false, recoveryCodesLeft: row?.totp ? row.left : 0 };
}

export async function insertChallenge(
  db: Db,
  tokenHash: string,
  userId: string,
  expiresAt: Date,
  now: Date,
): Promise<void> {
  await db
    .insertInto('mfa_challenges')
    .values({ token_hash: tokenHash, user_id: userId, expires_at: expiresAt, created_at: now })
    .execute();
}

/** A live challenge claimed for one attempt, with what checking that attempt needs. */
export interface ClaimedChallenge {
  userId: string;
  username: string;
  /** Attempts including this one. */
  attempts: number;
  factor: FactorRecord | null;
}

/**
 * Counts one attempt against a live challenge (unused, unexpired, fewer than `maxAttempts`
 * attempts so far) and returns its user and factor, in one statement: parallel attempts each take
 * one of the allowed tries, never more. Null when the challenge is not live.
 */
export async function claimChallenge(
  db: Db,
  tokenHash: string,
  now: Date,
  maxAttempts: number,
): Promise<ClaimedChallenge | null> {
  const { rows } = await sql<{
    user_id: string;
    username: string;
    attempts: number;
    secret_box: string | null;
    enabled_at: Date | null;
    last_step: string | null;
  }>`update mfa_challenges c set attempts = c.attempts + 1
    from users u left join mfa_totp m on m.user_id = u.id
    where c.token_hash = ${tokenHash} and u.id = c.user_id and c.used_at is null
      and c.expires_at > ${now}::timestamptz and c.attempts < ${maxAttempts}::int
    returning c.user_id, u.username, c.attempts, m.secret_box, m.enabled_at, m.last_step`.execute(
    db,
  );
  const row = rows[0];
  if (!row) return null;
  return {
    userId: row.user_id,
    username: row.username,
    attempts: row.attempts,
    factor:
      row.secret_box === null
        ? null
        : {
            secretBox: row.secret_box,
            enabled: row.enabled_at !== null,
            lastStep: toStep(row.last_step),
          },
  };
}

/** Marks a challenge used; true for the one caller that found it unused. */
export async function finishChallenge(db: Db, tokenHash: string, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('mfa_challenges')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes up to `limit` challenges that expired before `before`. */
export async function purgeChallenges(db: Db, before: Date, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('mfa_challenges')
    .where(
      'token_hash',
      'in',
      db
        .selectFrom('mfa_challenges')
        .select('token_hash')
        .where('expires_at', '<', before)
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Every stored factor's sealed secret (for re-sealing under a new key). */
export async function listFactorBoxes(
  db: Db,
): Promise<Array<{ userId: string; secretBox: string }>> {
  const rows = await db.selectFrom('mfa_totp').select(['user_id', 'secret_box']).execute();
  return rows.map((r) => ({ userId: r.user_id, secretBox: r.secret_box }));
}

/** Replaces a sealed secret if it is still `previous`; true when replaced. */
export async function resealFactor(
  db: Db,
  userId: string,
  previous: string,
  next: string,
): Promise<boolean> {
  const result = await db
    .updateTable('mfa_totp')
    .set({ secret_box: next })
    .where('user_id', '=', userId)
    .where('secret_box', '=', previous)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
