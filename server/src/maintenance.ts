import { lastRecordedSigningKey, purgeAuditEvents } from './audit/audit.repository.ts';
import { recordEvent } from './audit/audit.service.ts';
import type { Deps } from './services.ts';
import { purgeEndedSessions } from './sessions/session.repository.ts';
import { MAX_STRIKES, purgeThrottle } from './throttle/throttle.repository.ts';

const BATCH = 1_000;
const DAY_MS = 86_400_000;

/**
 * One bounded pass of housekeeping: ended sessions (a day after they ended, so recent revocations
 * stay visible), stale throttle windows, audit events past retention. Safe on every instance.
 */
export async function purgeOnce(deps: Deps): Promise<number> {
  const now = deps.now().getTime();
  const { config, db } = deps;
  const sessions = await purgeEndedSessions(
    db,
    new Date(now - DAY_MS),
    new Date(now - config.refreshIdleTtl * 1000 - DAY_MS),
    BATCH,
  );
  // Kept for the longest (progressive) window, so a purge never shortens a lockout.
  const throttle = await purgeThrottle(
    db,
    new Date(now - config.loginLockoutSeconds * 1000 * 2 ** MAX_STRIKES),
    BATCH,
  );
  const audit = await purgeAuditEvents(
    db,
    new Date(now - config.auditRetentionDays * DAY_MS),
    BATCH,
  );
  return sessions + throttle + audit;
}

/** Runs purgeOnce on an interval that never keeps the process alive; returns the stopper. */
export function startMaintenance(deps: Deps, intervalMs = 10 * 60_000): () => void {
  const timer = setInterval(() => {
    purgeOnce(deps).catch((error: unknown) =>
      deps.logger.warn({ err: { message: (error as Error).message } }, 'purge failed'),
    );
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Records a key.rotated audit event (reason = the new `kid`) when this instance signs with a key
 * other than the last one recorded, so key changes show up in the audit trail.
 */
export async function recordSigningKey(deps: Deps): Promise<void> {
  const kid = deps.config.jwt.signing.kid;
  if ((await lastRecordedSigningKey(deps.db)) === kid) return;
  await recordEvent(deps, { event: 'key.rotated', reason: kid, userAgent: 'latchkey-server' });
}
