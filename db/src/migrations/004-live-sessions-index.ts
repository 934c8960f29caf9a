import { sql, type Kysely } from 'kysely';

/**
 * A user's unrevoked sessions, without the ended ones that wait a day for the purge: every sign-in
 * reads them to apply the live-session limit, and `sessions.list` lists them. Keyed on user_id
 * alone, so the last_used_at update of each refresh stays a heap-only (HOT) update.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('sessions_user_unrevoked_idx')
    .on('sessions')
    .column('user_id')
    .where(sql.ref('revoked_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('sessions_user_unrevoked_idx').execute();
}
