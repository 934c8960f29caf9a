import type { DbHandle } from '@latchkey/db';
import { sql } from 'kysely';
import type { Logger } from '../logger.ts';
import type { Deps } from '../deps.ts';
import type { SessionCache } from './session-cache.ts';

const CHANNEL = 'latchkey_revocation';

/**
 * Call after a revocation has committed: this process forgets every cached live session at once,
 * and on PostgreSQL every other instance is told through NOTIFY. If the notification is lost, the
 * cache's short lifetime still bounds how long another instance can accept the session.
 */
export async function announceRevocation(deps: Deps): Promise<void> {
  deps.sessionCache.clear();
  if (deps.dbh.pool === null) return;
  try {
    await sql`select pg_notify(${CHANNEL}, '')`.execute(deps.db);
  } catch (error) {
    deps.logger.warn({ err: { message: (error as Error).message } }, 'revocation notify failed');
  }
}

/**
 * Listens for other instances' revocations on PostgreSQL (no-op on PGlite, where one process owns
 * the database). Reconnects with backoff; returns the stopper.
 */
export function listenForRevocations(
  dbh: DbHandle,
  cache: SessionCache,
  logger: Logger,
): () => Promise<void> {
  const pool = dbh.pool;
  if (pool === null) return () => Promise.resolve();
  let stopped = false;
  let release: (() => void) | null = null;
  let retry: NodeJS.Timeout | null = null;

  const connect = async (delayMs: number): Promise<void> => {
    if (stopped) return;
    try {
      const client = await pool.connect();
      let released = false;
      const drop = (destroy: boolean) => {
        if (released) return;
        released = true;
        client.removeAllListeners('notification');
        client.release(destroy);
        // Keep swallowing late errors from the discarded connection.
        client.on('error', () => undefined);
      };
      release = () => drop(true);
      client.on('notification', () => cache.clear());
      // `on`, not `once`: a dying connection can emit more than one error, and an unhandled
      // one would take the whole process down during a database outage.
      client.on('error', () => {
        if (released) return;
        drop(true);
        cache.clear();
        schedule(1_000);
      });
      await client.query(`listen ${CHANNEL}`);
    } catch {
      release?.();
      cache.clear();
      schedule(Math.min(delayMs * 2, 30_000));
    }
  };
  const schedule = (delayMs: number) => {
    if (stopped) return;
    logger.warn({ retryMs: delayMs }, 'revocation listener disconnected; retrying');
    retry = setTimeout(() => void connect(delayMs), delayMs);
    retry.unref();
  };
  void connect(1_000);
  return () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    release?.();
    return Promise.resolve();
  };
}
