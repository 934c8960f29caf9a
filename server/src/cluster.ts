import cluster, { type Worker } from 'node:cluster';
import { createDb, migrateToLatest } from '@latchkey/db';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

/** More unexpected exits than this within RESTART_WINDOW_MS is a crash loop: give up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** How long workers get to drain on SIGTERM before they are killed. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * The primary of `WORKERS` server processes sharing one port (node:cluster hands connections to
 * the workers in turn). It migrates the database once, starts the workers, replaces a worker that
 * dies (unless they keep dying), and on SIGTERM/SIGINT lets every worker drain, then exits 0.
 * It serves no requests itself. Sessions, throttles and revocations already live in PostgreSQL,
 * so the workers need nothing from each other.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const dbh = await createDb(config.databaseUrl, { poolSize: 1 });
  try {
    await migrateToLatest(dbh.db, dbh.schema);
  } finally {
    await dbh.close();
  }

  let stopping = false;
  const exits: number[] = [];
  const fork = () => cluster.fork();
  let listening = 0;
  cluster.on('listening', (_worker, address) => {
    listening++;
    if (listening === config.workers) {
      logger.info(
        { workers: config.workers, url: `http://${config.host}:${address.port}` },
        'listening',
      );
    }
  });
  cluster.on('exit', (worker: Worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    exits.push(now);
    while (exits.length > 0 && (exits[0] ?? now) < now - RESTART_WINDOW_MS) exits.shift();
    if (exits.length > MAX_RESTARTS) {
      logger.error({ code, signal }, 'workers keep exiting; stopping');
      stop(1);
      return;
    }
    logger.warn({ worker: worker.id, code, signal }, 'worker exited; starting another');
    fork();
  });

  const stop = (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    const timer = setTimeout(() => {
      for (const w of workers) w.process.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    let left = workers.length;
    const done = () => {
      clearTimeout(timer);
      logger.flush();
      process.exit(exitCode);
    };
    if (left === 0) return done();
    for (const w of workers) {
      w.once('exit', () => {
        if (--left === 0) done();
      });
      w.process.kill('SIGTERM');
    }
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      stop(0);
    });
  }
  for (let i = 0; i < config.workers; i++) fork();
}
