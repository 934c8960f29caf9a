import { sql } from 'kysely';
import type { Db } from '@latchkey/db';

/** One journal row: a session that stopped being live, or (sessionId null) a user's every session. */
export interface RevocationRow {
  id: number;
  sessionId: string | null;
  userId: string | null;
}

/**
 * Journal rows with an id above `after`, or one of `gaps` (ids skipped by an earlier read, which a
 * transaction still open then may yet commit), in id order, at most `limit` of them.
 */
export async function readRevocations(
  db: Db,
  after: number,
  gaps: number[],
  limit: number,
): Promise<RevocationRow[]> {
  const { rows } = await sql<{ id: number; session_id: string | null; user_id: string | null }>`
    select id, session_id, user_id from session_revocations
    where id > ${after}::bigint or id = any(${gaps}::bigint[])
    order by id limit ${limit}::int`.execute(db);
  return rows.map((r) => ({ id: Number(r.id), sessionId: r.session_id, userId: r.user_id }));
}

/** The highest journal id written so far (0 for an empty journal). */
export async function lastRevocationId(db: Db): Promise<number> {
  const { rows } = await sql<{ id: number | null }>`
    select max(id) as id from session_revocations`.execute(db);
  return Number(rows[0]?.id ?? 0);
}

/** Deletes journal rows written before `before`, at most `limit` per call. */
export async function purgeRevocations(db: Db, before: Date, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('session_revocations')
    .where(
      'id',
      'in',
      db
        .selectFrom('session_revocations')
        .select('id')
        .where('revoked_at', '<', before)
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
