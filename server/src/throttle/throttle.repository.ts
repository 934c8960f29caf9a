import type { Db } from '@latchkey/db';
import { sql, type RawBuilder } from 'kysely';
import {
  credentialRecord,
  type UserCredentialRecord,
  type UserCredentialRow,
} from '../users/user.repository.ts';

/** Locks grow ×2 per consecutive lockout, at most ×16 (15 min → 4 h by default). */
export const MAX_STRIKES = 4;

export interface ThrottleKey {
  key: string;
  /** Attempts allowed in any span of the window. */
  limit: number;
  /** 0 for a plain sliding window; MAX_STRIKES for progressive lockouts. */
  maxStrikes: number;
}

export interface AttemptOutcome {
  allowed: boolean;
  /** When a refused attempt's lock ends (null when allowed). */
  retryAt: Date | null;
  /** True only for the refusal that started a lockout: later refusals of the same lock are not. */
  lockoutStarted: boolean;
}

interface OutcomeRow {
  allowed: boolean;
  retry_at: Date | null;
  lockout_started: boolean;
}

const outcome = (row: OutcomeRow): AttemptOutcome => ({
  allowed: row.allowed,
  retryAt: row.retry_at,
  lockoutStarted: row.lockout_started,
});

/**
 * The `throttle_attempt` call (migration 003) for `keys` in order: the first key that refuses ends
 * the attempt without touching the keys after it, and a hit is recorded only when all allow.
 */
function attemptCall(
  keys: readonly ThrottleKey[],
  windowSeconds: number,
  now: Date,
): RawBuilder<OutcomeRow> {
  const texts = sql.join(keys.map((k) => sql`${k.key}::text`));
  const limits = sql.join(keys.map((k) => sql`${k.limit}::int`));
  const strikes = sql.join(keys.map((k) => sql`${k.maxStrikes}::int`));
  return sql<OutcomeRow>`throttle_attempt(array[${texts}], array[${limits}], array[${strikes}],
    ${windowSeconds}::float8, ${now}::timestamptz)`;
}

/** Judges and records one attempt against `keys` (see attemptCall), atomically. */
export async function countAttempt(
  db: Db,
  keys: readonly ThrottleKey[],
  windowSeconds: number,
  now: Date,
): Promise<AttemptOutcome> {
  const { rows } = await sql<OutcomeRow>`select allowed, retry_at, lockout_started
    from ${attemptCall(keys, windowSeconds, now)}`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('throttle attempt returned no row');
  return outcome(row);
}

export interface LoginAttemptCount extends AttemptOutcome {
  /** The user named by the attempt, as stored (null when there is no such user). */
  user: UserCredentialRecord | null;
  /**
   * Whether that user has a TOTP factor in force. Read for every attempt alike, in the same
   * statement, and acted on only once the password verified: it reveals nothing before.
   */
  secondFactor: boolean;
}

/**
 * A login attempt's database work before its password check, in one statement: judges and
 * records it against `keys` (see countAttempt) and finds the user it names.
 */
export async function countAttemptAndFindUser(
  db: Db,
  username: string,
  keys: readonly ThrottleKey[],
  windowSeconds: number,
  now: Date,
): Promise<LoginAttemptCount> {
  const { rows } = await sql<
    OutcomeRow & {
      id: string | null;
      username: string | null;
      created_at: Date | null;
      password_hash: string | null;
      disabled_at: Date | null;
      second_factor: boolean;
    }
  >`select t.allowed, t.retry_at, t.lockout_started,
      u.id, u.username, u.created_at, u.password_hash, u.disabled_at,
      m.enabled_at is not null as second_factor
    from ${attemptCall(keys, windowSeconds, now)} t
      left join users u on u.username = ${username}
      left join mfa_totp m on m.user_id = u.id`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('login attempt count returned no row');
  // The left join gives every users column or none.
  const user = row.id === null ? null : credentialRecord(row as UserCredentialRow);
  return { ...outcome(row), user, secondFactor: row.second_factor };
}

/** Takes back from `key` one hit recorded at `attemptAt` (an attempt that proved not to fail). */
export async function refundAttempt(db: Db, key: string, attemptAt: Date): Promise<void> {
  const at = sql<number | null>`array_position(hits, ${attemptAt}::timestamptz)`;
  await db
    .updateTable('throttle')
    .set({ hits: sql<Date[]>`hits[:${at} - 1] || hits[${at} + 1:]` })
    .where('key', '=', key)
    .where(at, 'is not', null)
    .execute();
}

/**
 * After a successful login, in one statement: forgets `clearKey` (the account: its hits and
 * strikes) and takes back from `refundKey` (the client) the hit recorded at `attemptAt`, since a
 * success is not a failure.
 */
export async function settleAttempts(
  db: Db,
  clearKey: string,
  refundKey: string | null,
  attemptAt: Date,
): Promise<void> {
  if (refundKey === null) {
    await db.deleteFrom('throttle').where('key', '=', clearKey).execute();
    return;
  }
  // One occurrence of the attempt's time, not all: parallel attempts may share it.
  const at = sql<number | null>`array_position(hits, ${attemptAt}::timestamptz)`;
  await db
    .with('cleared', (qc) => qc.deleteFrom('throttle').where('key', '=', clearKey))
    .updateTable('throttle')
    .set({ hits: sql<Date[]>`hits[:${at} - 1] || hits[${at} + 1:]` })
    .where('key', '=', refundKey)
    .where(at, 'is not', null)
    .execute();
}

/** Deletes up to `limit` rows that carry nothing any more (past `expires_at`), skipping busy ones. */
export async function purgeThrottle(db: Db, now: Date, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('throttle')
    .where(
      'key',
      'in',
      db
        .selectFrom('throttle')
        .select('key')
        .where('expires_at', '<=', now)
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    // Checked again on the row as it is when deleted: an attempt may have renewed it meanwhile.
    .where('expires_at', '<=', now)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
