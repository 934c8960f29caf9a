import { insertAuditEvent, type AuditEntry } from '../audit/audit.repository.ts';
import { fail, ok, type ClientMeta, type Result } from '../result.ts';
import type { Deps } from '../services.ts';
import type { UserRecord } from '../users/user.repository.ts';
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
  revokeSession,
  revokeUserSessions,
  touchSession,
  type LiveAt,
  type SessionRecord,
} from './session.repository.ts';

export interface IssuedSession {
  user: UserRecord;
  sessionId: string;
  accessToken: string;
  expiresIn: number;
  /** The new refresh token for the cookie; null when the cookie must stay as it is (grace). */
  refreshToken: string | null;
}

export function liveAt(deps: Deps): LiveAt {
  const now = deps.now();
  return { now, idleCutoff: new Date(now.getTime() - deps.config.refreshIdleTtl * 1000) };
}

/**
 * Starts a new session (a new refresh-token family) for a user who has just proven who they are,
 * recording `audit` (which names the new session) in the same statement.
 * `withRefreshToken: false` makes an access-token-only session (the seed-compatible /token), which
 * ends when its access token does.
 */
export async function startSession(
  deps: Deps,
  user: UserRecord,
  meta: ClientMeta,
  options: { withRefreshToken: boolean; audit: Omit<AuditEntry, 'sessionId'> },
): Promise<IssuedSession> {
  const now = deps.now();
  const { config } = deps;
  const { withRefreshToken } = options;
  const lifetime = withRefreshToken ? config.refreshTokenTtl : config.accessTokenTtl + 30;
  const refreshToken = withRefreshToken ? generateRefreshToken() : null;
  const sessionId = await insertSessionRecorded(
    deps.db,
    {
      userId: user.id,
      expiresAt: new Date(now.getTime() + lifetime * 1000),
      userAgent: meta.userAgent?.slice(0, 512) ?? null,
      clientAddress: meta.clientAddress,
      now,
    },
    refreshToken === null ? null : hashRefreshToken(refreshToken),
    options.audit,
  );
  const access = await deps.tokens.sign(user.id, sessionId);
  return {
    user,
    sessionId,
    accessToken: access.token,
    expiresIn: access.expiresIn,
    refreshToken,
  };
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
  const at = liveAt(deps);
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const sessionId = await consumeRefreshToken(trx, hash, hashRefreshToken(successor), at.now);
    if (sessionId !== null) {
      const user = await findLiveSession(trx, sessionId, at);
      if (!user) return { kind: 'dead' as const };
      await insertRefreshToken(trx, sessionId, hashRefreshToken(successor), at.now);
      await touchSession(trx, sessionId, at.now);
      return { kind: 'rotated' as const, sessionId, user };
    }
    const previous = await findRefreshToken(trx, hash);
    if (!previous) return { kind: 'unknown' as const };
    const graceMs = deps.config.refreshGraceSeconds * 1000;
    const inGrace =
      previous.rotatedAt !== null &&
      previous.successorUnused &&
      at.now.getTime() - previous.rotatedAt.getTime() <= graceMs;
    if (inGrace) {
      const user = await findLiveSession(trx, previous.sessionId, at);
      return user
        ? { kind: 'grace' as const, sessionId: previous.sessionId, user }
        : { kind: 'dead' as const };
    }
    const revoked = await revokeSession(trx, previous.sessionId, 'refresh_reuse', at.now);
    if (revoked) {
      await insertAuditEvent(
        trx,
        { event: 'refresh.reuse_detected', sessionId: previous.sessionId, ...meta },
        at.now,
      );
    }
    return { kind: 'reused' as const, sessionId: previous.sessionId };
  });
  if (outcome.kind === 'reused') {
    await announceRevocation(deps);
    deps.logger.warn(
      { requestId: meta.requestId ?? null, sessionId: outcome.sessionId },
      'refresh token reuse: session revoked',
    );
  }
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

/** The session a refresh token belongs to, if that session is still live. */
export async function sessionOfRefreshToken(
  deps: Deps,
  presented: string,
): Promise<{ sessionId: string; user: UserRecord } | null> {
  if (!isWellFormedRefreshToken(presented)) return null;
  const token = await findRefreshToken(deps.db, hashRefreshToken(presented));
  if (!token) return null;
  const user = await findLiveSession(deps.db, token.sessionId, liveAt(deps));
  return user ? { sessionId: token.sessionId, user } : null;
}

/** Ends one session, or every session of its user. */
export async function endSession(
  deps: Deps,
  session: { sessionId: string; user: UserRecord },
  everywhere: boolean,
  meta: ClientMeta,
): Promise<void> {
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    if (everywhere) await revokeUserSessions(trx, session.user.id, 'logout_everywhere', now);
    else await revokeSession(trx, session.sessionId, 'logout', now);
    await insertAuditEvent(
      trx,
      {
        event: everywhere ? 'logout.everywhere' : 'logout',
        userId: session.user.id,
        username: session.user.username,
        sessionId: session.sessionId,
        ...meta,
      },
      now,
    );
  });
  await announceRevocation(deps);
}

export async function listSessions(deps: Deps, userId: string): Promise<SessionRecord[]> {
  return listLiveSessions(deps.db, userId, liveAt(deps));
}

/** Revokes one of the user's own sessions; false when it is not theirs or already ended. */
export async function revokeOwnSession(
  deps: Deps,
  user: UserRecord,
  sessionId: string,
  meta: ClientMeta,
): Promise<boolean> {
  const now = deps.now();
  const revoked = await deps.db.transaction().execute(async (trx) => {
    const revoked = await revokeSession(trx, sessionId, 'revoked_by_user', now, user.id);
    if (revoked) {
      await insertAuditEvent(
        trx,
        { event: 'session.revoked', userId: user.id, username: user.username, sessionId, ...meta },
        now,
      );
    }
    return revoked;
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
