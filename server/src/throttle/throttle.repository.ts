import { sql } from 'kysely';
import {
  credentialRecord,
  type Db,
  type UserCredentialRecord,
  type UserCredentialRow,
} from '../users/user.repository.ts';

export interface WindowCount {
  attempts: number;
  windowStart: Date;
  /** Seconds the current window lasts (the base length, doubled per strike). */
  windowSeconds: number;
}

/** Lockout windows grow ×2 per consecutive lockout, at most ×16 (15 min → 4 h by default). */
export const MAX_STRIKES = 4;

export interface CounterSpec {
  key: string;
  /** Base window length in seconds. */
  windowSeconds: number;
  limit: number;
  /** Progressive lockout: windows that ended over the limit add strikes (see MAX_STRIKES). */
  progressive: boolean;
}

interface CountRow {
  attempts: number;
  window_start: Date;
  strikes: number;
}

const windowCount = (row: CountRow, spec: CounterSpec): WindowCount => ({
  attempts: row.attempts,
  windowStart: row.window_start,
  windowSeconds: spec.windowSeconds * 2 ** row.strikes,
});

/**
 * The upsert that counts one attempt against `spec.key` in a fixed window, atomically, returning
 * the count including this attempt. When the window has passed, a new one starts at 1; with
 * `progressive`, a window that ended over `limit` adds a strike (the next window is twice as long)
 * and one that ended within it clears them.
 */
function countQuery(db: Db, spec: CounterSpec, now: Date) {
  const { key, windowSeconds, limit, progressive } = spec;
  const expired = sql<boolean>`throttle.window_start + make_interval(secs => ${windowSeconds}::float8 * power(2, throttle.strikes)) <= ${now}::timestamptz`;
  const nextStrikes = progressive
    ? sql<number>`case when throttle.attempts > ${limit}::int then least(throttle.strikes + 1, ${MAX_STRIKES}::int) else 0 end`
    : sql<number>`0`;
  return db
    .insertInto('throttle')
    .values({ key, window_start: now, attempts: 1, strikes: 0 })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        strikes: sql<number>`case when ${expired} then ${nextStrikes} else throttle.strikes end`,
        attempts: sql<number>`case when ${expired} then 1 else throttle.attempts + 1 end`,
        window_start: sql<Date>`case when ${expired} then ${now}::timestamptz else throttle.window_start end`,
      }),
    )
    .returning(['attempts', 'window_start', 'strikes']);
}

/** Counts one attempt against `spec.key` (see countQuery). */
export async function countAttempt(db: Db, spec: CounterSpec, now: Date): Promise<WindowCount> {
  return windowCount(await countQuery(db, spec, now).executeTakeFirstOrThrow(), spec);
}

export interface LoginAttemptCount {
  account: WindowCount;
  client: WindowCount | null;
  /** The user named by the attempt, as stored (null when there is no such user). */
  user: UserCredentialRecord | null;
}

/**
 * A login attempt's database work before its password check, in one statement: counts it against
 * the account and (when given) the client, and finds the user it names.
 */
export async function countLoginAttempt(
  db: Db,
  username: string,
  account: CounterSpec,
  client: CounterSpec | null,
  now: Date,
): Promise<LoginAttemptCount> {
  const noClient = sql`select null::int as attempts, null::timestamptz as window_start, null::int as strikes`;
  const { rows } = await sql<{
    a_attempts: number;
    a_window_start: Date;
    a_strikes: number;
    c_attempts: number | null;
    c_window_start: Date | null;
    c_strikes: number | null;
    id: string | null;
    username: string | null;
    created_at: Date | null;
    password_hash: string | null;
    disabled_at: Date | null;
  }>`
    with a as (${countQuery(db, account, now)}),
      c as (${client ? countQuery(db, client, now) : noClient})
    select a.attempts as a_attempts, a.window_start as a_window_start, a.strikes as a_strikes,
      c.attempts as c_attempts, c.window_start as c_window_start, c.strikes as c_strikes,
      u.id, u.username, u.created_at, u.password_hash, u.disabled_at
    from a cross join c left join users u on u.username = ${username}`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('login attempt count returned no row');
  const a = { attempts: row.a_attempts, window_start: row.a_window_start, strikes: row.a_strikes };
  const c =
    client && row.c_attempts !== null && row.c_window_start !== null && row.c_strikes !== null
      ? { attempts: row.c_attempts, window_start: row.c_window_start, strikes: row.c_strikes }
      : null;
  // The left join gives every users column or none.
  const user = row.id === null ? null : credentialRecord(row as UserCredentialRow);
  return {
    account: windowCount(a, account),
    client: client && c ? windowCount(c, client) : null,
    user,
  };
}

/**
 * After a successful login, in one statement: forgets the attempts against `clearKey` (the
 * account) and gives one back to `refundKey` (the client: a success is not a failure).
 */
export async function settleAttempts(
  db: Db,
  clearKey: string,
  refundKey: string | null,
): Promise<void> {
  if (refundKey === null) {
    await db.deleteFrom('throttle').where('key', '=', clearKey).execute();
    return;
  }
  await db
    .with('cleared', (qc) => qc.deleteFrom('throttle').where('key', '=', clearKey))
    .updateTable('throttle')
    .set({ attempts: sql<number>`greatest(attempts - 1, 0)` })
    .where('key', '=', refundKey)
    .execute();
}

export async function purgeThrottle(db: Db, before: Date, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('throttle')
    .where(
      'key',
      'in',
      db.selectFrom('throttle').select('key').where('window_start', '<', before).limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
