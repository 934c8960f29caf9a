import type { AuditEntry } from '../audit/audit.repository.ts';
import { auditedTransaction, eventPerRow, type AuditTrail } from '../audit/audit.service.ts';
import { fail, ok, type ClientMeta, type Result } from '../result.ts';
import type { Deps } from '../services.ts';
import type { Db, UserRecord } from '../users/user.repository.ts';
import { announceRevocation } from './revocation.ts';
import {
  generateRefreshToken,
  hashRefreshToken,
  isWellFormedRefreshToken,
} from './refresh-token.ts';
import {
  consumeRefreshToken,
  findLiveSession,
  findRefreshToken,
  insertRefreshToken,
  insertSessionRecorded,
  listLiveSessions,
  lockUserForSignIn,
  revokeSession,
  revokeUserSessions,
  touchSession,
  type LiveAt,
  type RotatedTokenRecord,
  type SessionRecord,
} from './session.repository.ts';

/**
 * The most live sessions one user may hold (the contract's number): a sign-in beyond it ends the
 * session used least recently, so `sessions.list` never returns more.
 */
export const MAX_LIVE_SESSIONS = 100;

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
  options: { withRefreshToken: boolean; audit: Omit<AuditEntry, 'sessionId'> },
): Promise<IssuedSession | null> {
  const now = deps.now();
  const { config } = deps;
  const { withRefreshToken } = options;
  const lifetime = withRefreshToken ? config.refreshTokenTtl : config.accessTokenTtl + 30;
  const refreshToken = withRefreshToken ? generateRefreshToken() : null;
  const started = eventPerRow(deps, options.audit, now);
  const ended = eventPerRow(
    deps,
    {
      event: 'session.revoked',
      reason: 'session_limit',
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
      },
      refreshToken === null ? null : hashRefreshToken(refreshToken),
      { keep: MAX_LIVE_SESSIONS, reason: 'session_limit', at: liveAt(deps, now) },
      { started: started.insertPer, ended: ended.insertPer },
    ),
  );
  if (written === null) return null;
  started.log([written.id]);
  ended.log(written.ended);
  if (written.ended.length > 0) await announceRevocation(deps);
  const access = await deps.tokens.sign(user.id, written.id);
  return {
    user,
    sessionId: written.id,
    accessToken: access.token,
    expiresIn: access.expiresIn,
    refreshToken,
  };
}

/**
 * How an existing refresh token stands (RFC 9700 reuse detection, decision 002): not yet rotated;
 * the immediate predecessor within the grace window (two tabs refreshing at once), which still
 * speaks for its session; or any other rotated token, which can only be a stolen copy.
 */
function standingOf(token: RotatedTokenRecord, now: Date, graceSeconds: number) {
  if (token.rotatedAt === null) return 'current' as const;
  const inGrace =
    token.successorUnused && now.getTime() - token.rotatedAt.getTime() <= graceSeconds * 1000;
  return inGrace ? ('grace' as const) : ('reused' as const);
}

/**
 * Revokes the session (the token family) of a reused refresh token and audits it; true only when
 * the session was still unrevoked, the one case with anything to announce.
 */
async function revokeReusedFamily(
  trx: Db,
  trail: AuditTrail,
  sessionId: string,
  meta: ClientMeta,
  presentedTo: 'refresh' | 'logout',
): Promise<boolean> {
  const owner = await revokeSession(trx, sessionId, 'refresh_reuse', trail.now);
  if (!owner) return false;
  await trail.record({
    event: 'refresh.reuse_detected',
    reason: presentedTo,
    userId: owner.id,
    username: owner.username,
    sessionId,
    ...meta,
  });
  return true;
}

/**
 * Rotates a refresh token: one atomic consume, then a successor in the same transaction.
 * Presenting a token that was already rotated revokes the whole session (RFC 9700 reuse
 * detection), except for the immediate predecessor within the grace window, which gets a fresh
 * access token but no second successor (two tabs refreshing at once share the cookie jar).
 */
export async function refreshSession(
  deps: Deps,
  presented: string | null,
  meta: ClientMeta,
): Promise<Result<IssuedSession, 'INVALID_REFRESH_TOKEN'>> {
  if (presented === null || !isWellFormedRefreshToken(presented)) {
    return fail('INVALID_REFRESH_TOKEN');
  }
  const hash = hashRefreshToken(presented);
  const successor = generateRefreshToken();
  const outcome = await auditedTransaction(deps, async (trx, trail) => {
    const at = liveAt(deps, trail.now);
    const sessionId = await consumeRefreshToken(trx, hash, hashRefreshToken(successor), at.now);
    if (sessionId !== null) {
      const user = await findLiveSession(trx, sessionId, at);
      if (!user) return { kind: 'dead' as const };
      await insertRefreshToken(trx, sessionId, hashRefreshToken(successor), at.now);
      await touchSession(trx, sessionId, at.now);
      return { kind: 'rotated' as const, sessionId, user };
    }
    const previous = await findRefreshToken(trx, hash);
    if (!previous) return { kind: 'dead' as const };
    switch (standingOf(previous, at.now, deps.config.refreshGraceSeconds)) {
      case 'grace': {
        const user = await findLiveSession(trx, previous.sessionId, at);
        return user
          ? { kind: 'grace' as const, sessionId: previous.sessionId, user }
          : { kind: 'dead' as const };
      }
      case 'reused': {
        const revoked = await revokeReusedFamily(trx, trail, previous.sessionId, meta, 'refresh');
        return { kind: 'reused' as const, revoked };
      }
      case 'current':
        // The consume above found no unrotated row, and a rotation is never undone.
        return { kind: 'dead' as const };
    }
  });
  // A replay against a session already revoked changed nothing: no instance needs to forget it.
  if (outcome.kind === 'reused' && outcome.revoked) await announceRevocation(deps);
  if (outcome.kind !== 'rotated' && outcome.kind !== 'grace') {
    return fail('INVALID_REFRESH_TOKEN');
  }
  const access = await deps.tokens.sign(outcome.user.id, outcome.sessionId);
  return ok({
    user: outcome.user,
    sessionId: outcome.sessionId,
    accessToken: access.token,
    expiresIn: access.expiresIn,
    refreshToken: outcome.kind === 'rotated' ? successor : null,
  });
}

interface LiveSession {
  sessionId: string;
  user: UserRecord;
}

/** Ends one session, or every session of its user, with its audit event, inside `trx`. */
async function endSessionIn(
  trx: Db,
  trail: AuditTrail,
  session: LiveSession,
  everywhere: boolean,
  meta: ClientMeta,
): Promise<void> {
  if (everywhere) await revokeUserSessions(trx, session.user.id, 'logout_everywhere', trail.now);
  else await revokeSession(trx, session.sessionId, 'logout', trail.now);
  await trail.record({
    event: everywhere ? 'logout.everywhere' : 'logout',
    userId: session.user.id,
    username: session.user.username,
    sessionId: session.sessionId,
    ...meta,
  });
}

/** Ends one session, or every session of its user, named by a live access token. */
export async function endSession(
  deps: Deps,
  session: LiveSession,
  everywhere: boolean,
  meta: ClientMeta,
): Promise<void> {
  await auditedTransaction(deps, (trx, trail) =>
    endSessionIn(trx, trail, session, everywhere, meta),
  );
  await announceRevocation(deps);
}

/**
 * Logout by refresh cookie. The token is judged as `refresh` judges it (decision 002): the current
 * token, or the immediate predecessor within the grace window, ends its session (`everywhere`:
 * every session of the user). Any other rotated token is a stolen copy: its session alone is
 * revoked as reuse and the call refused, so a stale token never ends the user's other sessions.
 */
export async function logoutWithRefreshToken(
  deps: Deps,
  presented: string,
  everywhere: boolean,
  meta: ClientMeta,
): Promise<Result<null, 'INVALID_REFRESH_TOKEN'>> {
  if (!isWellFormedRefreshToken(presented)) return fail('INVALID_REFRESH_TOKEN');
  const hash = hashRefreshToken(presented);
  const outcome = await auditedTransaction(deps, async (trx, trail) => {
    const token = await findRefreshToken(trx, hash);
    if (!token) return { ended: false, revoked: false };
    const at = liveAt(deps, trail.now);
    if (standingOf(token, at.now, deps.config.refreshGraceSeconds) === 'reused') {
      const revoked = await revokeReusedFamily(trx, trail, token.sessionId, meta, 'logout');
      return { ended: false, revoked };
    }
    const user = await findLiveSession(trx, token.sessionId, at);
    if (!user) return { ended: false, revoked: false };
    await endSessionIn(trx, trail, { sessionId: token.sessionId, user }, everywhere, meta);
    return { ended: true, revoked: true };
  });
  if (outcome.revoked) await announceRevocation(deps);
  return outcome.ended ? ok(null) : fail('INVALID_REFRESH_TOKEN');
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
  const at = liveAt(deps);
  const cached = deps.sessionCache.get(claims.sessionId, claims.userId, at.now.getTime());
  if (cached) return { user: cached, sessionId: claims.sessionId };
  const user = await findLiveSession(deps.db, claims.sessionId, at, claims.userId);
  if (!user) return null;
  deps.sessionCache.set(claims.sessionId, user, at.now.getTime());
  return { user, sessionId: claims.sessionId };
}
