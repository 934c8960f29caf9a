import { sql } from 'kysely';
import { auditRow, type AuditEntry } from '../audit/audit.repository.ts';
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

/**
 * Inserts a session, its first refresh token (if any) and the audit event that started it (which
 * names the new session) in one statement: all of them exist or none does, in one round trip.
 */
export async function insertSessionRecorded(
  db: Db,
  s: NewSession,
  firstTokenHash: string | null,
  audit: Omit<AuditEntry, 'sessionId'>,
): Promise<string> {
  const a = auditRow(audit, s.now);
  const { rows } = await sql<{ id: string }>`
    with s as (
      insert into sessions (user_id, expires_at, user_agent, client_address, created_at, last_used_at)
      values (${s.userId}, ${s.expiresAt}, ${s.userAgent}, ${s.clientAddress}, ${s.now}, ${s.now})
      returning id
    ), r as (
      insert into refresh_tokens (token_hash, session_id, created_at)
      select ${firstTokenHash}::text, s.id, ${s.now}::timestamptz
      from s where ${firstTokenHash}::text is not null
    ), a as (
      insert into audit_events
        (occurred_at, event, reason, user_id, username, session_id, client_address, user_agent)
      select ${a.occurred_at}::timestamptz, ${a.event}::text, ${a.reason}::text, ${a.user_id}::uuid,
        ${a.username}::text, s.id, ${a.client_address}::text, ${a.user_agent}::text
      from s
    )
    select id from s`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('session insert returned no row');
  return row.id;
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

/** Revokes one session (optionally only if it belongs to `userId`); returns whether it was live. */
export async function revokeSession(
  db: Db,
  sessionId: string,
  reason: string,
  now: Date,
  userId?: string,
): Promise<boolean> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null);
  if (userId !== undefined) query = query.where('user_id', '=', userId);
  const result = await query.executeTakeFirst();
  return result.numUpdatedRows > 0n;
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

export async function listLiveSessions(
  db: Db,
  userId: string,
  at: LiveAt,
): Promise<SessionRecord[]> {
  const rows = await db
    .selectFrom('sessions')
    .select(['id', 'created_at', 'last_used_at', 'expires_at', 'user_agent'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', at.now)
    .where('last_used_at', '>', at.idleCutoff)
    .orderBy('last_used_at', 'desc')
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
