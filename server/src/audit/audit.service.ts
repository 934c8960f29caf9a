import type { Database } from '@latchkey/db';
import type { RawBuilder, Transaction } from 'kysely';
import type { Deps } from '../deps.ts';
import {
  auditInsertPerRow,
  insertAuditEvents,
  type AuditEntry,
  type AuditEvent,
} from './audit.repository.ts';

/**
 * The one way an authentication event is recorded: a row in the audit table and one JSON log line
 * (`event`, `user`, `clientAddress`, `requestId`, and the logger's `time`). Nothing else writes
 * audit rows, and each way of writing one here also logs it, so no event reaches one without the
 * other. A line names the user by canonical username (or id when no name is known) and never
 * carries a password, code or token: it is built here from the entry's named fields only.
 */

/** Every event has a message, so a new event cannot be added without deciding how it reads. */
const MESSAGES: Record<AuditEvent, string> = {
  'login.success': 'sign-in succeeded',
  'login.failure': 'sign-in failed',
  'login.throttled': 'sign-in throttled',
  register: 'account registered',
  'register.throttled': 'registration throttled',
  'refresh.reuse_detected': 'refresh token reuse: session revoked',
  logout: 'signed out',
  'logout.everywhere': 'signed out everywhere',
  'password.changed': 'password changed',
  'session.revoked': 'session revoked',
  'sessions.revoked_all': 'every session revoked by an operator',
  'user.created': 'user created by an operator',
  'user.disabled': 'user disabled by an operator',
  'user.enabled': 'user enabled by an operator',
  'user.deleted': 'user deleted by an operator',
  'user.password_set': 'password set by an operator',
  'key.rotated': 'signing key recorded in the audit trail',
  'login.mfa_required': 'password verified; second factor required',
  'mfa.enabled': 'two-factor authentication turned on',
  'mfa.disabled': 'two-factor authentication turned off',
  'mfa.failed': 'second factor failed',
  'mfa.recovery_used': 'recovery code used',
  'mfa.recovery_regenerated': 'new recovery codes generated',
  'mfa.reset': 'second factor removed by an operator',
  'passkey.added': 'passkey added',
  'passkey.removed': 'passkey removed',
  'passkey.renamed': 'passkey renamed',
  'passkey.counter_regressed':
    'passkey signature counter went backwards: possible cloned authenticator',
};

/** Events that point at an attack rather than at ordinary use. */
const WARNINGS: ReadonlySet<AuditEvent> = new Set([
  'refresh.reuse_detected',
  'passkey.counter_regressed',
]);

function logEvent(deps: Deps, entry: AuditEntry): void {
  const line = {
    event: entry.event,
    user: entry.username ?? entry.userId ?? null,
    ...(entry.userId != null ? { userId: entry.userId } : {}),
    ...(entry.sessionId != null ? { sessionId: entry.sessionId } : {}),
    ...(entry.reason != null ? { reason: entry.reason } : {}),
    clientAddress: entry.clientAddress ?? null,
    requestId: entry.requestId ?? null,
  };
  if (WARNINGS.has(entry.event)) deps.logger.warn(line, MESSAGES[entry.event]);
  else deps.logger.info(line, MESSAGES[entry.event]);
}

export interface RecordOptions {
  /**
   * `false` logs the event without writing its row: for attempts one client can repeat at will
   * (a throttled sign-in), where a row each would let that client grow the table.
   */
  store?: boolean;
}

/** Records an event that is part of no larger write: its row (unless `store: false`), its line. */
export async function recordEvent(
  deps: Deps,
  entry: AuditEntry,
  options: RecordOptions = {},
): Promise<void> {
  if (options.store !== false) await insertAuditEvents(deps.db, [entry], deps.now());
  logEvent(deps, entry);
}

export interface AuditTrail {
  /** The instant this transaction's writes and events are stamped with (the injected clock). */
  readonly now: Date;
  /** Writes the events' rows in the transaction; their log lines follow only if it commits. */
  record(...entries: AuditEntry[]): Promise<void>;
}

/**
 * Runs `work` in one transaction whose audit events commit or roll back with the rest of it; each
 * event is logged after the commit, so a change that did not happen is never logged.
 */
export async function auditedTransaction<T>(
  deps: Deps,
  work: (trx: Transaction<Database>, trail: AuditTrail) => Promise<T>,
): Promise<T> {
  const now = deps.now();
  const recorded: AuditEntry[] = [];
  const result = await deps.db.transaction().execute((trx) =>
    work(trx, {
      now,
      record: async (...entries) => {
        await insertAuditEvents(trx, entries, now);
        recorded.push(...entries);
      },
    }),
  );
  for (const entry of recorded) logEvent(deps, entry);
  return result;
}

export interface EventPerRow {
  /** The CTE body writing the event once per row of the CTE `source` (its `id`: the session). */
  insertPer: (source: string) => RawBuilder<unknown>;
  /** Logs the event for each session id the statement reported; call once it has committed. */
  log: (sessionIds: readonly string[]) => void;
}

/**
 * An event written by the very statement that makes the change, for the one write that must stay
 * a single round trip (a sign-in: its session, refresh token, the sessions the limit ends, and
 * their events). The statement reports the session ids it recorded; `log` turns them into lines.
 */
export function eventPerRow(deps: Deps, entry: AuditEntry, now: Date): EventPerRow {
  return {
    insertPer: (source) => auditInsertPerRow(source, entry, now),
    log: (sessionIds) => {
      for (const sessionId of sessionIds) logEvent(deps, { ...entry, sessionId });
    },
  };
}
