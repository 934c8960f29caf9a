import { setImmediate } from 'node:timers/promises';
import { lastRecordedSigningKey, purgeAuditEvents } from './audit/audit.repository.ts';
import { recordEvent } from './audit/audit.service.ts';
import type { Deps } from './deps.ts';
import { purgeRevocations } from './sessions/revocation.repository.ts';
import { purgeEndedSessions } from './sessions/session.repository.ts';
import { purgeThrottle } from './throttle/throttle.repository.ts';
import { purgeChallenges } from './mfa/mfa.repository.ts';
import { purgePasskeyChallenges } from './passkeys/passkey.repository.ts';

/** Rows per delete: one short statement, so requests waiting for the database soon get it. */
const BATCH = 1_000;
/** How long one pass may keep deleting; whatever is left waits for the next pass. */
const PASS_BUDGET_MS = 20_000;
const DAY_MS = 86_400_000;

export interface PurgeOptions {
  batch?: number;
  budgetMs?: number;
}

/**
 * One pass of housekeeping: ended sessions (a day after they ended, so recent revocations stay
 * visible), revocation journal rows a day old (no instance remembers a session longer than
 * SESSION_CACHE_MS, at most an hour, so none needs them; decision 011), throttle rows that carry
 * nothing any more, audit events past retention, second-factor challenges a day after they
 * expired, passkey challenges once expired. Each table is deleted from in batches of `batch` rows
 * until none is left or `budgetMs` (wall time) is spent, one batch at least; between batches the
 * event loop and queued queries (PGlite has a single connection) go first. Safe on every instance.
 */
export async function purgeOnce(deps: Deps, options: PurgeOptions = {}): Promise<number> {
  const { batch = BATCH, budgetMs = PASS_BUDGET_MS } = options;
  const deadline = performance.now() + budgetMs;
  const now = deps.now().getTime();
  const { config, db } = deps;
  const ended = new Date(now - DAY_MS);
  const idle = new Date(now - config.refreshIdleTtl * 1000 - DAY_MS);
  const retained = new Date(now - config.auditRetentionDays * DAY_MS);
  const purges = [
    () => purgeEndedSessions(db, ended, idle, batch),
    () => purgeRevocations(db, ended, batch),
    () => purgeThrottle(db, new Date(now), batch),
    () => purgeAuditEvents(db, retained, batch),
    () => purgeChallenges(db, ended, batch),
    () => purgePasskeyChallenges(db, new Date(now), batch),
  ];
  let purged = 0;
  for (const purge of purges) {
    for (;;) {
      const deleted = await purge();
      purged += deleted;
      if (deleted < batch || performance.now() >= deadline) break;
      await setImmediate();
    }
  }
  return purged;
}

/**
 * Runs purgeOnce on an interval that never keeps the process alive, one pass at a time; returns
 * the stopper.
 */
export function startMaintenance(deps: Deps, intervalMs = 10 * 60_000): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    purgeOnce(deps)
      .catch((error: unknown) =>
        deps.logger.warn({ err: { message: (error as Error).message } }, 'purge failed'),
      )
      .finally(() => {
        running = false;
      });
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
