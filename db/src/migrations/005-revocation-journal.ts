import { sql, type Kysely } from 'kysely';

/**
 * A journal of revocations that every server instance reads (decision 011): a row per session that
 * stops being live by revocation or deletion, a row per user (session_id null) that is disabled or
 * deleted, a row naming neither for a TRUNCATE of sessions; each is announced on the
 * `latchkey_revocation` channel when its transaction commits. Triggers write it, so every path that ends a session — the server, the operator's CLI, a manual
 * statement — is seen, in the transaction that makes the change. The `WHEN` clauses are evaluated
 * without entering PL/pgSQL, so the refresh path's `last_used_at` updates cost nothing extra, and
 * the purge's deletion of expired sessions writes nothing (an instance refuses those by itself).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('session_revocations')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('session_id', 'uuid')
    .addColumn('user_id', 'uuid')
    .addColumn('revoked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('session_revocations_revoked_at_idx')
    .on('session_revocations')
    .column('revoked_at')
    .execute();

  await sql`
    create function session_revocations_record() returns trigger
    language plpgsql as $fn$
    begin
      if tg_op = 'TRUNCATE' then
        insert into session_revocations (session_id, user_id) values (null, null);
      elsif tg_table_name = 'sessions' then
        insert into session_revocations (session_id, user_id) values (old.id, old.user_id);
      else
        insert into session_revocations (session_id, user_id) values (null, old.id);
      end if;
      perform pg_notify('latchkey_revocation', '');
      return null;
    end
    $fn$`.execute(db);
  await sql`
    create trigger sessions_revoked_journal after update of revoked_at on sessions
    for each row when (old.revoked_at is null and new.revoked_at is not null)
    execute function session_revocations_record()`.execute(db);
  await sql`
    create trigger sessions_deleted_journal after delete on sessions
    for each row when (old.revoked_at is null and old.expires_at > now())
    execute function session_revocations_record()`.execute(db);
  await sql`
    create trigger users_disabled_journal after update of disabled_at on users
    for each row when (old.disabled_at is null and new.disabled_at is not null)
    execute function session_revocations_record()`.execute(db);
  await sql`
    create trigger users_deleted_journal after delete on users
    for each row execute function session_revocations_record()`.execute(db);
  await sql`
    create trigger sessions_truncated_journal after truncate on sessions
    for each statement execute function session_revocations_record()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger sessions_truncated_journal on sessions`.execute(db);
  await sql`drop trigger users_deleted_journal on users`.execute(db);
  await sql`drop trigger users_disabled_journal on users`.execute(db);
  await sql`drop trigger sessions_deleted_journal on sessions`.execute(db);
  await sql`drop trigger sessions_revoked_journal on sessions`.execute(db);
  await sql`drop function session_revocations_record()`.execute(db);
  await db.schema.dropTable('session_revocations').execute();
}
