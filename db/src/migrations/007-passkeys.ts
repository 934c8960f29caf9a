import { sql, type Kysely } from 'kysely';

/**
 * Passkeys (issue 15): each user's WebAuthn credentials, the opaque user handle their
 * authenticators hold (never the username, never the user's id), and the ceremonies' challenges,
 * kept in the database so that any instance can finish a ceremony another one began.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webauthn_users')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    // 32 random bytes, base64url: what the authenticator returns as `userHandle` at sign-in.
    .addColumn('handle', 'text', (c) => c.notNull().unique())
    .execute();

  await db.schema
    .createTable('passkeys')
    // The credential id, base64url: a credential registers once, whoever registers it.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // COSE public key as the authenticator sent it.
    .addColumn('public_key', 'bytea', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('transports', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    // 'singleDevice' or 'multiDevice' (synced), and whether it is backed up now.
    .addColumn('device_type', 'text', (c) => c.notNull())
    .addColumn('backed_up', 'boolean', (c) => c.notNull())
    .addColumn('aaguid', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('passkeys_user_id_idx').on('passkeys').column('user_id').execute();

  await db.schema
    .createTable('passkey_challenges')
    // Opaque random id (the sign-in's `challengeId`).
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('challenge', 'text', (c) => c.notNull())
    // Set for a registration (the signed-in user), null for a sign-in.
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('passkey_challenges_expires_at_idx')
    .on('passkey_challenges')
    .column('expires_at')
    .execute();
  await db.schema
    .createIndex('passkey_challenges_user_id_idx')
    .on('passkey_challenges')
    .column('user_id')
    .where(sql.ref('user_id'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('passkey_challenges').execute();
  await db.schema.dropTable('passkeys').execute();
  await db.schema.dropTable('webauthn_users').execute();
}
