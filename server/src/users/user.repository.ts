import type { Db } from '@latchkey/db';

export interface UserRecord {
  id: string;
  username: string;
  createdAt: Date;
}

export interface UserCredentialRecord extends UserRecord {
  passwordHash: string;
  disabledAt: Date | null;
}

/** The users columns a credential check reads. */
export interface UserCredentialRow {
  id: string;
  username: string;
  created_at: Date;
  password_hash: string;
  disabled_at: Date | null;
}

export const credentialRecord = (row: UserCredentialRow): UserCredentialRecord => ({
  id: row.id,
  username: row.username,
  createdAt: row.created_at,
  passwordHash: row.password_hash,
  disabledAt: row.disabled_at,
});

async function findUserCredentials(
  db: Db,
  column: 'username' | 'id',
  value: string,
): Promise<UserCredentialRecord | null> {
  const row = await db
    .selectFrom('users')
    .select(['id', 'username', 'created_at', 'password_hash', 'disabled_at'])
    .where(column, '=', value)
    .executeTakeFirst();
  return row ? credentialRecord(row) : null;
}

export const findUserCredentialsByUsername = (db: Db, username: string) =>
  findUserCredentials(db, 'username', username);

export const findUserCredentialsById = (db: Db, id: string) => findUserCredentials(db, 'id', id);

/** Inserts a user; null when the canonical username is taken (no exception, no partial write). */
export async function insertUser(
  db: Db,
  username: string,
  passwordHash: string,
  now: Date,
): Promise<UserRecord | null> {
  const row = await db
    .insertInto('users')
    .values({ username, password_hash: passwordHash, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('username').doNothing())
    .returning(['id', 'username', 'created_at'])
    .executeTakeFirst();
  return row ? { id: row.id, username: row.username, createdAt: row.created_at } : null;
}

/** Replaces a password hash; false when there is no such user. */
export async function updatePasswordHash(
  db: Db,
  id: string,
  passwordHash: string,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ password_hash: passwordHash, updated_at: now })
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Disables a user (from `now`) or enables one; false when there is no such user. */
export async function setUserDisabled(
  db: Db,
  id: string,
  disabled: boolean,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ disabled_at: disabled ? now : null, updated_at: now })
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes a user, and with it (ON DELETE CASCADE) every session; false when there is none. */
export async function deleteUser(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function listUsers(db: Db): Promise<Array<UserRecord & { disabledAt: Date | null }>> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'username', 'created_at', 'disabled_at'])
    .orderBy('username')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    username: r.username,
    createdAt: r.created_at,
    disabledAt: r.disabled_at,
  }));
}
