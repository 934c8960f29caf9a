import type { Db } from '@latchkey/db';
import type { AuditEntry } from '../audit/audit.repository.ts';
import { auditedTransaction, eventPerRow } from '../audit/audit.service.ts';
import type { ClientMeta } from '../result.ts';
import type { Deps } from '../deps.ts';
import type { UserRecord } from '../users/user.repository.ts';
import { PASSWORD_AMR } from '../auth/tokens.ts';
import { announceRevocation } from './revocation.ts';
import { generateRefreshToken, hashRefreshToken } from './refresh-token.ts';
import {
  insertSessionRecorded,
  listLiveSessions,
  lockUserForSignIn,
  revokeSession,
  type LiveAt,
  type SessionRecord,
} from './session.repository.ts';

/**
 * The most live sessions one user may hold (the contract's number): a sign-in beyond it ends the
 * session used least recently, so `sessions.list` never returns more.
 */
export const MAX_LIVE_SESSIONS = 100;
const LIMIT_REASON = 'session_limit';

export interface IssuedSession {
  user: UserRecord;
  sessionId: string;
  accessToken: string;
  expiresIn: number;
  /** The new refresh token for the cookie; null when the cookie must stay as it is (grace). */
  refreshToken: string | null;
}

export function liveAt(deps: Deps, now = deps.now()): LiveAt {
  return { now, idleCutoff: new Date(now.getTime() - deps.config.refreshIdleTtl * 1000) };
}

/**
 * Runs a sign-in's statement so that sign-ins of one user never overlap. On PostgreSQL: in a
 * transaction that first locks the user's row, so the statement's snapshot holds every earlier
 * sign-in. Embedded PGlite runs one statement at a time on its only connection, so the statement
 * alone is already serialised, and a transaction would add two exchanges on the event loop.
 */
async function serialisedPerUser<T>(
  deps: Deps,
  userId: string,
  run: (db: Db) => Promise<T>,
): Promise<T> {
  if (deps.dbh.target.kind !== 'postgres') return run(deps.db);
  return deps.db.transaction().execute(async (trx) => {
    await lockUserForSignIn(trx, userId);
    return run(trx);
  });
}

/**
 * Starts a new session (a new refresh-token family) for a user who has just proven who they are,
 * recording `audit` (which names the new session) in the same statement. When the user already
 * holds MAX_LIVE_SESSIONS live sessions, the least recently used ones end (`session_limit`, each
 * audited) in that statement too, and every instance is told once it has committed.
 * `withRefreshToken: false` makes an access-token-only session (the seed-compatible /token), which
 * ends when its access token does. Null, and nothing written, when the user was deleted or
 * disabled since the password was checked.
 */
export async function startSession(
  deps: Deps,
  user: UserRecord,
  meta: ClientMeta,
  options: {
    withRefreshToken: boolean;
    audit: Omit<AuditEntry, 'sessionId'>;
    /** How the user proved who they are (RFC 8176); a password alone by default. */
    amr?: readonly string[];
  },
): Promise<IssuedSession | null> {
  const now = deps.now();
  const { config } = deps;
  const { withRefreshToken, amr = PASSWORD_AMR } = options;
  const lifetime = withRefreshToken ? config.refreshTokenTtl : config.accessTokenTtl + 30;
  const refreshToken = withRefreshToken ? generateRefreshToken() : null;
  const started = eventPerRow(deps, options.audit, now);
  const ended = eventPerRow(
    deps,
    {
      event: 'session.revoked',
      reason: LIMIT_REASON,
      userId: user.id,
      username: user.username,
      ...meta,
    },
    now,
  );
  const written = await serialisedPerUser(deps, user.id, (db) =>
    insertSessionRecorded(
      db,
      {
        userId: user.id,
        expiresAt: new Date(now.getTime() + lifetime * 1000),
        userAgent: meta.userAgent?.slice(0, 512) ?? null,
        clientAddress: meta.clientAddress,
        now,
        amr,
      },
      refreshToken === null ? null : hashRefreshToken(refreshToken),
      { keep: MAX_LIVE_SESSIONS, reason: LIMIT_REASON, at: liveAt(deps, now) },
      { started: started.insertPer, ended: ended.insertPer },
    ),
  );
  if (written === null) return null;
  started.log([written.id]);
  ended.log(written.ended);
  if (written.ended.length > 0) await announceRevocation(deps);
  const access = await deps.tokens.sign(user.id, written.id, amr);
  return {
    user,
    sessionId: written.id,
    accessToken: access.token,
    expiresIn: access.expiresIn,
    refreshToken,
  };
}

export async function listSessions(deps: Deps, userId: string): Promise<SessionRecord[]> {
  return listLiveSessions(deps.db, userId, liveAt(deps), MAX_LIVE_SESSIONS);
}

/** Revokes one of the user's own sessions; false when it is not theirs or already ended. */
export async function revokeOwnSession(
  deps: Deps,
  user: UserRecord,
  sessionId: string,
  meta: ClientMeta,
): Promise<boolean> {
  const revoked = await auditedTransaction(deps, async (trx, trail) => {
    const owner = await revokeSession(trx, sessionId, 'revoked_by_user', trail.now, user.id);
    if (owner) {
      await trail.record({
        event: 'session.revoked',
        userId: user.id,
        username: user.username,
        sessionId,
        ...meta,
      });
    }
    return owner !== null;
  });
  if (revoked) await announceRevocation(deps);
  return revoked;
}

/**
 * The user behind an access token whose session is still live: the whole protected-request check.
 * Null for every failure (bad token, revoked or expired session, disabled or deleted user).
 */
export async function authenticate(
  deps: Deps,
  token: string,
): Promise<{ user: UserRecord; sessionId: string } | null> {
  const claims = await deps.tokens.verify(token);
  if (!claims) return null;
  const user = await deps.liveSessions.check(claims.sessionId, claims.userId);
  return user ? { user, sessionId: claims.sessionId } : null;
}
