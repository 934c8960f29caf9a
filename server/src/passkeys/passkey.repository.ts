import type { Db } from '@latchkey/db';
import { sql } from 'kysely';

/** A passkey as its owner sees it. */
export interface PasskeySummary {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** What verifying an assertion needs: the credential, its owner and the owner's handle. */
export interface StoredCredential {
  id: string;
  publicKey: Uint8Array<ArrayBuffer>;
  counter: number;
  transports: string[];
  userId: string;
  username: string;
  createdAt: Date;
  disabled: boolean;
  handle: string;
}

export interface NewPasskey {
  id: string;
  userId: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
  aaguid: string;
  name: string;
}

const summaryColumns = ['id', 'name', 'created_at', 'last_used_at'] as const;

const summary = (row: {
  id: string;
  name: string;
  created_at: Date;
  last_used_at: Date | null;
}): PasskeySummary => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

/**
 * The user's opaque WebAuthn handle, created on first use. A concurrent first use that inserted it
 * meanwhile is invisible to this statement's snapshot, so it is read again once.
 */
export async function ensureUserHandle(db: Db, userId: string, fresh: string): Promise<string> {
  const { rows } = await sql<{ handle: string }>`with added as (
      insert into webauthn_users (user_id, handle) values (${userId}, ${fresh})
      on conflict (user_id) do nothing returning handle)
    select handle from added
    union all select handle from webauthn_users where user_id = ${userId}`.execute(db);
  const handle =
    rows[0]?.handle ??
    (
      await db
        .selectFrom('webauthn_users')
        .select('handle')
        .where('user_id', '=', userId)
        .executeTakeFirst()
    )?.handle;
  if (handle === undefined) throw new Error('no WebAuthn handle for user');
  return handle;
}

/** The ids and transports of the user's passkeys (registration's `excludeCredentials`). */
export async function listCredentialDescriptors(
  db: Db,
  userId: string,
): Promise<Array<{ id: string; transports: string[] }>> {
  return db
    .selectFrom('passkeys')
    .select(['id', 'transports'])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
}

export async function listPasskeys(db: Db, userId: string): Promise<PasskeySummary[]> {
  const rows = await db
    .selectFrom('passkeys')
    .select(summaryColumns)
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(summary);
}

export async function countPasskeys(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('passkeys')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Stores a challenge. A registration challenge replaces the user's earlier ones (one ceremony at a
 * time per user); expired challenges of anyone are cleared on the way, a few at a time.
 */
export async function insertChallenge(
  db: Db,
  challenge: { id: string; challenge: string; userId: string | null; expiresAt: Date },
  now: Date,
): Promise<void> {
  const { id, userId, expiresAt } = challenge;
  await sql`with replaced as (
      delete from passkey_challenges
      where (${userId}::uuid is not null and user_id = ${userId}::uuid)
        or id in (select id from passkey_challenges where expires_at <= ${now}::timestamptz
                  limit 16)),
    inserted as (
      insert into passkey_challenges (id, challenge, user_id, expires_at, created_at)
      values (${id}, ${challenge.challenge}, ${userId}::uuid, ${expiresAt}::timestamptz,
              ${now}::timestamptz))
    select 1`.execute(db);
}

/** Takes (deletes) a live sign-in challenge by its id: a challenge answers one assertion only. */
export async function takeSignInChallenge(db: Db, id: string, now: Date): Promise<string | null> {
  const row = await db
    .deleteFrom('passkey_challenges')
    .where('id', '=', id)
    .where('user_id', 'is', null)
    .returning(['challenge', 'expires_at'])
    .executeTakeFirst();
  return row && row.expires_at > now ? row.challenge : null;
}

/** Takes (deletes) the user's live registration challenge with this value. */
export async function takeRegistrationChallenge(
  db: Db,
  userId: string,
  challenge: string,
  now: Date,
): Promise<boolean> {
  const row = await db
    .deleteFrom('passkey_challenges')
    .where('user_id', '=', userId)
    .where('challenge', '=', challenge)
    .returning('expires_at')
    .executeTakeFirst();
  return row !== undefined && row.expires_at > now;
}

/** The credential with this id, its owner and the owner's handle; null when unknown. */
export async function findCredential(db: Db, id: string): Promise<StoredCredential | null> {
  const row = await db
    .selectFrom('passkeys as p')
    .innerJoin('users as u', 'u.id', 'p.user_id')
    .innerJoin('webauthn_users as w', 'w.user_id', 'p.user_id')
    .select([
      'p.id',
      'p.public_key',
      'p.counter',
      'p.transports',
      'u.id as user_id',
      'u.username',
      'u.created_at',
      'u.disabled_at',
      'w.handle',
    ])
    .where('p.id', '=', id)
    .executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id,
    // A copy: pg gives a Buffer over its shared pool, PGlite a view.
    publicKey: new Uint8Array(row.public_key),
    counter: Number(row.counter),
    transports: row.transports,
    userId: row.user_id,
    username: row.username,
    createdAt: row.created_at,
    disabled: row.disabled_at !== null,
    handle: row.handle,
  };
}

/**
 * Records a verified use: the new signature counter, the backup state, the time. Refused (false)
 * when the counter did not move forward from the stored one, read in the same statement, so two
 * assertions racing with one counter value cannot both pass. Authenticators that keep no counter
 * send 0 each time; both zero is accepted.
 */
export async function recordUse(
  db: Db,
  id: string,
  use: { counter: number; backedUp: boolean },
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('passkeys')
    .set({ counter: use.counter, backed_up: use.backedUp, last_used_at: now })
    .where('id', '=', id)
    .where(
      sql<boolean>`(counter < ${use.counter}::bigint or (counter = 0 and ${use.counter}::bigint = 0))`,
    )
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Adds a passkey unless its credential id is registered already (to anyone) or the user holds
 * `max` passkeys; null in either case, with `taken` telling which.
 */
export async function insertPasskey(
  db: Db,
  passkey: NewPasskey,
  max: number,
  now: Date,
): Promise<{ added: PasskeySummary } | { added: null; taken: boolean }> {
  const { rows } = await sql<{
    id: string | null;
    name: string | null;
    created_at: Date | null;
    last_used_at: Date | null;
    taken: boolean;
  }>`with added as (
      insert into passkeys (id, user_id, public_key, counter, transports, device_type, backed_up,
                            aaguid, name, created_at)
      select ${passkey.id}, ${passkey.userId}::uuid, ${Buffer.from(passkey.publicKey)}, ${passkey.counter},
             ${passkey.transports}::text[], ${passkey.deviceType}, ${passkey.backedUp},
             ${passkey.aaguid}, ${passkey.name}, ${now}::timestamptz
      where (select count(*) from passkeys where user_id = ${passkey.userId}::uuid) < ${max}
      on conflict (id) do nothing
      returning id, name, created_at, last_used_at)
    select a.id, a.name, a.created_at, a.last_used_at,
           exists (select 1 from passkeys where id = ${passkey.id}) as taken
    from (select 1) one left join added a on true`.execute(db);
  const row = rows[0];
  if (row?.id == null || row.name === null || row.created_at === null) {
    return { added: null, taken: row?.taken ?? false };
  }
  return {
    added: summary({
      id: row.id,
      name: row.name,
      created_at: row.created_at,
      last_used_at: row.last_used_at,
    }),
  };
}

/** Renames one of the user's passkeys; false when the user has none with this id. */
export async function renamePasskey(
  db: Db,
  userId: string,
  id: string,
  name: string,
): Promise<boolean> {
  const result = await db
    .updateTable('passkeys')
    .set({ name })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Removes one of the user's passkeys; false when the user has none with this id. */
export async function deletePasskey(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('passkeys')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Deletes up to `limit` challenges that expired before `before`. */
export async function purgePasskeyChallenges(db: Db, before: Date, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('passkey_challenges')
    .where(
      'id',
      'in',
      db
        .selectFrom('passkey_challenges')
        .select('id')
        .where('expires_at', '<', before)
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
