import { sql } from 'kysely';
import type { Db } from '../users/user.repository.ts';

export interface WindowCount {
  attempts: number;
  windowStart: Date;
  /** Seconds the current window lasts (the base length, doubled per strike). */
  windowSeconds: number;
}

/** Lockout windows grow ×2 per consecutive lockout, at most ×16 (15 min → 4 h by default). */
export const MAX_STRIKES = 4;

/**
 * Counts one attempt against `key` in a fixed window, atomically (one upsert), and returns the
 * count including this attempt. When the window has passed, a new one starts at 1; with
 * `progressive`, a window that ended over `limit` adds a strike (the next window is twice as long)
 * and one that ended within it clears them.
 */
export async function countAttempt(
  db: Db,
  key: string,
  options: { windowSeconds: number; limit: number; progressive: boolean },
  now: Date,
): Promise<WindowCount> {
  const { windowSeconds, limit, progressive } = options;
  const expired = sql<boolean>`throttle.window_start + make_interval(secs => ${windowSeconds}::float8 * power(2, throttle.strikes)) <= ${now}::timestamptz`;
  const nextStrikes = progressive
    ? sql<number>`case when throttle.attempts > ${limit}::int then least(throttle.strikes + 1, ${MAX_STRIKES}::int) else 0 end`
    : sql<number>`0`;
  const row = await db
    .insertInto('throttle')
    .values({ key, window_start: now, attempts: 1, strikes: 0 })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        strikes: sql<number>`case when ${expired} then ${nextStrikes} else throttle.strikes end`,
        attempts: sql<number>`case when ${expired} then 1 else throttle.attempts + 1 end`,
        window_start: sql<Date>`case when ${expired} then ${now}::timestamptz else throttle.window_start end`,
      }),
    )
    .returning(['attempts', 'window_start', 'strikes'])
    .executeTakeFirstOrThrow();
  return {
    attempts: row.attempts,
    windowStart: row.window_start,
    windowSeconds: windowSeconds * 2 ** row.strikes,
  };
}

/** Forgets the attempts against `key` (a successful login clears its account counter). */
export async function clearAttempts(db: Db, key: string): Promise<void> {
  await db.deleteFrom('throttle').where('key', '=', key).execute();
}

/** Gives one attempt back (a successful login is not a failure for the per-client counter). */
export async function refundAttempt(db: Db, key: string): Promise<void> {
  await db
    .updateTable('throttle')
    .set({ attempts: sql<number>`greatest(attempts - 1, 0)` })
    .where('key', '=', key)
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
