import type { Db } from '@latchkey/db';
import { auditedTransaction, type AuditTrail } from '../audit/audit.service.ts';
import { fail, ok, type ClientMeta, type Result } from '../result.ts';
import type { Deps } from '../deps.ts';
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
  findSessionAmr,
  insertRefreshToken,
  revokeSession,
  revokeUserSessions,
  touchSession,
  type RotatedTokenRecord,
} from './session.repository.ts';
import { liveAt, type IssuedSession } from './session.service.ts';

/** What the refresh cookie can do: rotate (refresh), and end its session (logout). */

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
      const amr = await touchSession(trx, sessionId, at.now);
      return { kind: 'rotated' as const, sessionId, user, amr };
    }
    const previous = await findRefreshToken(trx, hash);
    if (!previous) return { kind: 'dead' as const };
    switch (standingOf(previous, at.now, deps.config.refreshGraceSeconds)) {
      case 'grace': {
        const user = await findLiveSession(trx, previous.sessionId, at);
        if (!user) return { kind: 'dead' as const };
        const amr = await findSessionAmr(trx, previous.sessionId);
        return { kind: 'grace' as const, sessionId: previous.sessionId, user, amr };
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
  // A refresh keeps the session's amr: a second factor passed at sign-in stays on record.
  const access = await deps.tokens.sign(outcome.user.id, outcome.sessionId, outcome.amr);
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
