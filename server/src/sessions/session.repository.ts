import type { Database } from '@latchkey/db';
import { sql, type ExpressionBuilder } from 'kysely';
import type { Db, UserRecord } from '../users/user.repository.ts';

export interface NewSession {
  userId: string;
  expiresAt: Date;
  userAgent: string | null;
  clientAddress: string | null;
  now: Date;
}

export interface SessionRecord {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  userAgent: string | null;
}

/** Liveness cutoffs computed by the caller's clock so that frozen time in tests is honoured. */
export interface LiveAt {
  now: Date;
  idleCutoff: Date;
}

/** A session that can still be used: not revoked, not past its absolute or idle lifetime. */
const isLive = (eb: ExpressionBuilder<Database, 'sessions'>, at: LiveAt) =>
  eb.and([
    eb('revoked_at', 'is', null),
    eb('expires_at', '>', at.now),
    eb('last_used_at', '>', at.idleCutoff),
  ]);

/**
 * Inserts a session and its first refresh token (if any) in one statement, after locking the
 * user's row (`FOR NO KEY UPDATE`, held until the transaction ends): sign-ins of one user queue
 * here, so whatever the caller's transaction does next sees every earlier sign-in committed.
 * Null, and nothing written, when the user no longer exists or is disabled.
 */
export async function insertSessionLocked(
  db: Db,
  s: NewSession,
  firstTokenHash: string | null,
): Promise<string | null> {
  const { rows } = await sql<{ id: string }>`
    with u as (
      select id from users where id = ${s.userId} and disabled_at is null for no key update
    ), s as (
      insert into sessions (user_id, expires_at, user_agent, client_address, created_at, last_used_at)
      select u.id, ${s.expiresAt}::timestamptz, ${s.userAgent}::text, ${s.clientAddress}::text,
        ${s.now}::timestamptz, ${s.now}::timestamptz
      from u
      returning id
    ), r as (
      insert into refresh_tokens (token_hash, session_id, created_at)
      select ${firstTokenHash}::text, s.id, ${s.now}::timestamptz
      from s where ${firstTokenHash}::text is not null
    )
    select id from s`.execute(db);
  return rows[0]?.id ?? null;
}

/**
 * Revokes the user's live sessions beyond the `keep` used most recently, counting `newSessionId`
 * as one of those kept whatever its timestamps; returns the ids revoked. Run it after
 * insertSessionLocked in the same transaction, so concurrent sign-ins cannot both keep `keep`.
 */
export async function revokeSessionsBeyond(
  db: Db,
  userId: string,
  newSessionId: string,
  keep: number,
  reason: string,
  at: LiveAt,
): Promise<string[]> {
  const rows = await db
    .updateTable('sessions')
    .set({ revoked_at: at.now, revoked_reason: reason })
    .where(
      'id',
      'in',
      db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', userId)
        .where('id', '!=', newSessionId)
        .where((eb) => isLive(eb, at))
        .orderBy('last_used_at', 'desc')
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .offset(Math.max(keep - 1, 0)),
    )
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export async function insertRefreshToken(
  db: Db,
  sessionId: string,
  tokenHash: string,
  now: Date,
): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({ token_hash: tokenHash, session_id: sessionId, created_at: now })
    .execute();
}

/** Marks a refresh token used, atomically: only one caller ever gets its session id back. */
export async function consumeRefreshToken(
  db: Db,
  tokenHash: string,
  successorHash: string,
  now: Date,
): Promise<string | null> {
  const row = await db
    .updateTable('refresh_tokens')
    .set({ rotated_at: now, replaced_by: successorHash })
    .where('token_hash', '=', tokenHash)
    .where('rotated_at', 'is', null)
    .returning('session_id')
    .executeTakeFirst();
  return row?.session_id ?? null;
}

export interface RotatedTokenRecord {
  sessionId: string;
  rotatedAt: Date | null;
  /** True when this token's successor is itself still unused (it is the immediate predecessor). */
  successorUnused: boolean;
}

export async function findRefreshToken(
  db: Db,
  tokenHash: string,
): Promise<RotatedTokenRecord | null> {
  const row = await db
    .selectFrom('refresh_tokens as t')
    .leftJoin('refresh_tokens as next', 'next.token_hash', 't.replaced_by')
    .select([
      't.session_id',
      't.rotated_at',
      'next.rotated_at as next_rotated_at',
      'next.token_hash',
    ])
    .where('t.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return null;
  return {
    sessionId: row.session_id,
    rotatedAt: row.rotated_at,
    successorUnused: row.token_hash !== null && row.next_rotated_at === null,
  };
}

/**
 * The user behind a live session (not revoked, not expired, not idle) of an enabled account, or
 * null. One primary-key lookup joined to users: the revocation check on every protected request.
 * With `userId`, the session must also belong to that user (the token's `sub`).
 */
export async function findLiveSession(
  db: Db,
  sessionId: string,
  at: LiveAt,
  userId?: string,
): Promise<UserRecord | null> {
  let query = db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['u.id', 'u.username', 'u.created_at'])
    .where('s.id', '=', sessionId)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', at.now)
    .where('s.last_used_at', '>', at.idleCutoff)
    .where('u.disabled_at', 'is', null);
  if (userId !== undefined) query = query.where('s.user_id', '=', userId);
  const row = await query.executeTakeFirst();
  return row ? { id: row.id, username: row.username, createdAt: row.created_at } : null;
}

export async function touchSession(db: Db, sessionId: string, now: Date): Promise<void> {
  await db.updateTable('sessions').set({ last_used_at: now }).where('id', '=', sessionId).execute();
}

/**
 * Revokes one session (optionally only if it belongs to `userId`); returns its owner when it was
 * still unrevoked, null otherwise (unknown, someone else's, or already revoked).
 */
export async function revokeSession(
  db: Db,
  sessionId: string,
  reason: string,
  now: Date,
  userId?: string,
): Promise<{ id: string; username: string } | null> {
  let query = db
    .updateTable('sessions as s')
    .from('users as u')
    .set({ revoked_at: now, revoked_reason: reason })
    .whereRef('u.id', '=', 's.user_id')
    .where('s.id', '=', sessionId)
    .where('s.revoked_at', 'is', null);
  if (userId !== undefined) query = query.where('s.user_id', '=', userId);
  const row = await query.returning(['u.id', 'u.username']).executeTakeFirst();
  return row ?? null;
}

/** Revokes every live session of a user except `keepSessionId`; returns how many. */
export async function revokeUserSessions(
  db: Db,
  userId: string,
  reason: string,
  now: Date,
  keepSessionId?: string,
): Promise<number> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (keepSessionId !== undefined) query = query.where('id', '!=', keepSessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The user's live sessions, most recently used first, at most `limit` of them. */
export async function listLiveSessions(
  db: Db,
  userId: string,
  at: LiveAt,
  limit: number,
): Promise<SessionRecord[]> {
  const rows = await db
    .selectFrom('sessions')
    .select(['id', 'created_at', 'last_used_at', 'expires_at', 'user_agent'])
    .where('user_id', '=', userId)
    .where((eb) => isLive(eb, at))
    .orderBy('last_used_at', 'desc')
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    expiresAt: r.expires_at,
    userAgent: r.user_agent,
  }));
}

/**
 * Deletes sessions (and, by cascade, their refresh tokens) that ended before `before`, at most
 * `limit` rows per call so the purge never holds the database for long.
 */
export async function purgeEndedSessions(
  db: Db,
  before: Date,
  idleBefore: Date,
  limit: number,
): Promise<number> {
  const result = await db
    .deleteFrom('sessions')
    .where(
      'id',
      'in',
      db
        .selectFrom('sessions')
        .select('id')
        .where((eb) =>
          eb.or([
            eb('expires_at', '<', before),
            eb('last_used_at', '<', idleBefore),
            eb('revoked_at', '<', before),
          ]),
        )
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
