import { sql } from 'kysely';
import type { Db } from '../users/user.repository.ts';

export interface WindowCount {
  attempts: number;
  windowStart: Date;
}

/**
 * Counts one attempt against `key` in a fixed window of `windowSeconds`, atomically (one upsert),
 * and returns the count including this attempt. A window that has passed starts again at 1.
 */
export async function countAttempt(
  db: Db,
  key: string,
  windowSeconds: number,
  now: Date,
): Promise<WindowCount> {
  const cutoff = new Date(now.getTime() - windowSeconds * 1000);
  const row = await db
    .insertInto('throttle')
    .values({ key, window_start: now, attempts: 1 })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        attempts: sql<number>`case when throttle.window_start <= ${cutoff} then 1 else throttle.attempts + 1 end`,
        window_start: sql<Date>`case when throttle.window_start <= ${cutoff} then ${now}::timestamptz else throttle.window_start end`,
      }),
    )
    .returning(['attempts', 'window_start'])
    .executeTakeFirstOrThrow();
  return { attempts: row.attempts, windowStart: row.window_start };
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
