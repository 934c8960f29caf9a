import type { Db } from '@latchkey/db';
import { sql, type RawBuilder } from 'kysely';
import type { UserRecord } from '../users/user.repository.ts';

export interface NewSession {
  userId: string;
  expiresAt: Date;
  userAgent: string | null;
  clientAddress: string | null;
  now: Date;
  /** RFC 8176 methods of the sign-in (`pwd`, `otp`): every access token of the session says them. */
  amr: readonly string[];
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

/**
 * Locks the user's row until the transaction ends (`FOR NO KEY UPDATE`: plain reads and other
 * tables' foreign-key checks do not wait for it), so sign-ins of one user run one after another.
 */
export async function lockUserForSignIn(db: Db, userId: string): Promise<void> {
  await db.selectFrom('users').select('id').where('id', '=', userId).forNoKeyUpdate().execute();
}

/** CTE bodies recording a sign-in's events, each given the name of the CTE holding session ids. */
export interface SignInEvents {
  started: (source: string) => RawBuilder<unknown>;
  ended: (source: string) => RawBuilder<unknown>;
}

/**
 * A sign-in in one statement: the session, its first refresh token (if any), the revocation of
 * the user's live sessions beyond the `keep - 1` used most recently (the new session, invisible to
 * the statement's own reads, is always the one more), and the events for both. Null, and nothing
 * written, when the user no longer exists or is disabled. Two such statements for one user must
 * not overlap (lockUserForSignIn first, in the same transaction): each counts what it sees.
 */
export async function insertSessionRecorded(
  db: Db,
  s: NewSession,
  firstTokenHash: string | null,
  limit: { keep: number; reason: string; at: LiveAt },
  events: SignInEvents,
): Promise<{ id: string; ended: string[] } | null> {
  const { at } = limit;
  const { rows } = await sql<{ id: string; ended: string[] }>`
    with s as (
      insert into sessions
        (user_id, expires_at, user_agent, client_address, created_at, last_used_at, amr)
      select u.id, ${s.expiresAt}::timestamptz, ${s.userAgent}::text, ${s.clientAddress}::text,
        ${s.now}::timestamptz, ${s.now}::timestamptz, ${[...s.amr]}::text[]
      from users u where u.id = ${s.userId} and u.disabled_at is null
      returning id
    ), r as (
      insert into refresh_tokens (token_hash, session_id, created_at)
      select ${firstTokenHash}::text, s.id, ${s.now}::timestamptz
      from s where ${firstTokenHash}::text is not null
    ), ended as (
      update sessions set revoked_at = ${at.now}::timestamptz, revoked_reason = ${limit.reason}::text
      where id in (
        select id from sessions
        where user_id = ${s.userId} and revoked_at is null and expires_at > ${at.now}::timestamptz
          and last_used_at > ${at.idleCutoff}::timestamptz and exists (select 1 from s)
        order by last_used_at desc, created_at desc, id
        offset ${Math.max(limit.keep - 1, 0)}::int
      )
      returning id
    ), started_event as (
      ${events.started('s')}
    ), ended_event as (
      ${events.ended('ended')}
    )
    select s.id, array(select id::text from ended) as ended from s`.execute(db);
  return rows[0] ?? null;
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

/** Marks a session used; returns its `amr` (for the access token a refresh issues). */
export async function touchSession(db: Db, sessionId: string, now: Date): Promise<string[]> {
  const row = await db
    .updateTable('sessions')
    .set({ last_used_at: now })
    .where('id', '=', sessionId)
    .returning('amr')
    .executeTakeFirst();
  return row?.amr ?? [];
}

/** The `amr` a session was started with (empty when there is no such session). */
export async function findSessionAmr(db: Db, sessionId: string): Promise<string[]> {
  const row = await db
    .selectFrom('sessions')
    .select('amr')
    .where('id', '=', sessionId)
    .executeTakeFirst();
  return row?.amr ?? [];
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
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', at.now)
    .where('last_used_at', '>', at.idleCutoff)
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

/** A session and its user as the request check needs them (see findSessionsForCheck). */
export interface SessionForCheck {
  id: string;
  userId: string;
  username: string;
  userCreatedAt: Date;
  expiresAt: Date;
  lastUsedAt: Date;
}

/**
 * The unrevoked sessions of enabled users among `ids`, with what decides whether they are live
 * (expiry and last use, judged by the caller's clock): one statement for many requests' sessions.
 */
export async function findSessionsForCheck(db: Db, ids: string[]): Promise<SessionForCheck[]> {
  const rows = await db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.id', 's.user_id', 's.expires_at', 's.last_used_at', 'u.username', 'u.created_at'])
    .where('s.id', '=', sql<string>`any(${ids}::uuid[])`)
    .where('s.revoked_at', 'is', null)
    .where('u.disabled_at', 'is', null)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    userId: r.user_id,
    username: r.username,
    userCreatedAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
  }));
}
