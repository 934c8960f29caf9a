import { sql, type Kysely } from 'kysely';

/**
 * The second factor (issue 14): one TOTP factor per user, its recovery codes, the short-lived
 * challenges that sit between a verified password and a finished sign-in, and the authentication
 * methods (`amr`) of each session, which a refresh keeps.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('mfa_totp')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    // AES-256-GCM box of the base32 secret (server/src/mfa/secret-box.ts), never the secret itself.
    .addColumn('secret_box', 'text', (c) => c.notNull())
    // Null while pending (set up but not yet confirmed with a code): not in force.
    .addColumn('enabled_at', 'timestamptz')
    // The last 30 s time step accepted for this user: codes for it or earlier are replays.
    .addColumn('last_step', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('mfa_recovery_codes')
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('mfa_recovery_codes_pkey', ['user_id', 'code_hash'])
    .execute();

  await db.schema
    .createTable('mfa_challenges')
    // SHA-256 of the mfaToken: the token itself is never stored.
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    // Codes tried against this challenge; it is spent at the fifth.
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('mfa_challenges_expires_at_idx')
    .on('mfa_challenges')
    .column('expires_at')
    .execute();

  // RFC 8176 methods the session's sign-in used; a constant default keeps this a catalog change.
  await db.schema
    .alterTable('sessions')
    .addColumn('amr', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{pwd}'::text[]`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('amr').execute();
  await db.schema.dropTable('mfa_challenges').execute();
  await db.schema.dropTable('mfa_recovery_codes').execute();
  await db.schema.dropTable('mfa_totp').execute();
}
