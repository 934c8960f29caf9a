import type { DbHandle } from '@latchkey/db';
import type { Logger } from '../logger.ts';

/** The channel the journal's triggers (migration 005) notify on when a revocation commits. */
const CHANNEL = 'latchkey_revocation';

/**
 * Calls `onNotify` whenever a revocation commits anywhere: through a dedicated LISTEN connection
 * on PostgreSQL (reconnected with backoff), through PGlite's own listener in embedded mode. Only a
 * wake-up: a lost notification delays nothing past the feed's next read. Returns the stopper.
 */
export function listenForRevocations(
  dbh: DbHandle,
  onNotify: () => void,
  logger: Logger,
): () => Promise<void> {
  const pool = dbh.pool;
  if (pool === null) return listenEmbedded(dbh, onNotify, logger);
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
      client.on('notification', onNotify);
      // `on`, not `once`: a dying connection can emit more than one error, and an unhandled
      // one would take the whole process down during a database outage.
      client.on('error', () => {
        if (released) return;
        drop(true);
        schedule(1_000);
      });
      await client.query(`listen ${CHANNEL}`);
    } catch {
      release?.();
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

function listenEmbedded(dbh: DbHandle, onNotify: () => void, logger: Logger): () => Promise<void> {
  const pglite = dbh.pglite;
  if (pglite === null) return () => Promise.resolve();
  const listening = pglite.listen(CHANNEL, onNotify).catch((error: unknown) => {
    logger.warn({ err: { message: (error as Error).message } }, 'revocation listener failed');
    return null;
  });
  return async () => {
    const unlisten = await listening;
    await unlisten?.().catch(() => undefined);
  };
}
