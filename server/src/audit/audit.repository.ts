import type { Db } from '@latchkey/db';
import { sql, type RawBuilder } from 'kysely';

/** Security events recorded in the audit trail (stable codes; see the README's Security section). */
export type AuditEvent =
  | 'login.success'
  | 'login.failure'
  | 'login.throttled'
  | 'register'
  | 'register.throttled'
  | 'refresh.reuse_detected'
  | 'logout'
  | 'logout.everywhere'
  | 'password.changed'
  | 'session.revoked'
  | 'sessions.revoked_all'
  | 'user.created'
  | 'user.disabled'
  | 'user.enabled'
  | 'user.deleted'
  | 'user.password_set'
  | 'key.rotated'
  | 'login.mfa_required'
  | 'mfa.enabled'
  | 'mfa.disabled'
  | 'mfa.failed'
  | 'mfa.recovery_used'
  | 'mfa.recovery_regenerated'
  | 'mfa.reset'
  | 'passkey.added'
  | 'passkey.removed'
  | 'passkey.renamed'
  | 'passkey.counter_regressed';

export interface AuditEntry {
  event: AuditEvent;
  reason?: string | null;
  userId?: string | null;
  username?: string | null;
  sessionId?: string | null;
  clientAddress?: string | null;
  userAgent?: string | null;
  /** The request that caused the event: logged with it, not stored in the audit table. */
  requestId?: string | null;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'requestId'>> {
  id: number;
  occurredAt: Date;
}

const MAX_TEXT = 512;
const clip = (v: string | null | undefined) => (v == null ? null : v.slice(0, MAX_TEXT));

/** The row an audit entry becomes (texts clipped to 512 characters). */
function auditRow(entry: AuditEntry, now: Date) {
  return {
    occurred_at: now,
    event: entry.event,
    reason: entry.reason ?? null,
    user_id: entry.userId ?? null,
    username: clip(entry.username),
    session_id: entry.sessionId ?? null,
    client_address: clip(entry.clientAddress),
    user_agent: clip(entry.userAgent),
  };
}

/** Only audit.service.ts calls this and the next: it also logs each event, once committed. */
export async function insertAuditEvents(
  db: Db,
  entries: readonly AuditEntry[],
  now: Date,
): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto('audit_events')
    .values(entries.map((entry) => auditRow(entry, now)))
    .execute();
}

/**
 * `entry` as one audit row per row of the CTE named `source`, whose `id` becomes the row's
 * session: the body of a CTE, for a statement that records events about the sessions it writes.
 */
export function auditInsertPerRow(
  source: string,
  entry: AuditEntry,
  now: Date,
): RawBuilder<unknown> {
  const a = auditRow(entry, now);
  return sql`insert into audit_events
      (occurred_at, event, reason, user_id, username, session_id, client_address, user_agent)
    select ${a.occurred_at}::timestamptz, ${a.event}::text, ${a.reason}::text, ${a.user_id}::uuid,
      ${a.username}::text, ${sql.id(source, 'id')}, ${a.client_address}::text, ${a.user_agent}::text
    from ${sql.id(source)}`;
}

export async function listAuditEvents(
  db: Db,
  filter: { username?: string; since?: Date; limit: number },
): Promise<AuditRecord[]> {
  let query = db
    .selectFrom('audit_events')
    .select([
      'id',
      'occurred_at',
      'event',
      'reason',
      'user_id',
      'username',
      'session_id',
      'client_address',
      'user_agent',
    ])
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit);
  if (filter.username !== undefined) query = query.where('username', '=', filter.username);
  if (filter.since !== undefined) query = query.where('occurred_at', '>=', filter.since);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: Number(r.id),
    occurredAt: r.occurred_at,
    event: r.event as AuditEvent,
    reason: r.reason,
    userId: r.user_id,
    username: r.username,
    sessionId: r.session_id,
    clientAddress: r.client_address,
    userAgent: r.user_agent,
  }));
}

export async function purgeAuditEvents(db: Db, before: Date, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('audit_events')
    .where(
      'id',
      'in',
      db.selectFrom('audit_events').select('id').where('occurred_at', '<', before).limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The `kid` recorded by the most recent key.rotated event, or null when none was recorded. */
export async function lastRecordedSigningKey(db: Db): Promise<string | null> {
  const row = await db
    .selectFrom('audit_events')
    .select('reason')
    .where('event', '=', 'key.rotated')
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.reason ?? null;
}
