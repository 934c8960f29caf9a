import type { AddressInfo } from 'node:net';
import { createDb, migrateToLatest, type DbHandle } from '@latchkey/db';
import type { Config } from './config.ts';
import { createHttpApp, createHttpServer } from './http/server.ts';
import { createLogger, type Logger } from './logger.ts';
import { recordSigningKey, startMaintenance } from './maintenance.ts';
import { createDeps, type Deps } from './deps.ts';

export interface AppOptions {
  logger?: Logger;
  now?: () => Date;
  /** Use this database instead of opening config.databaseUrl (tests). Not closed by the app. */
  dbh?: DbHandle;
  spaDir?: string;
}

export interface RunningApp {
  deps: Deps;
  url: string;
  port: number;
  /** Graceful: stop accepting, finish in-flight requests (bounded), close the database. */
  close(): Promise<void>;
}

const DRAIN_TIMEOUT_MS = 10_000;

export async function startApp(config: Config, options: AppOptions = {}): Promise<RunningApp> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const dbh = options.dbh ?? (await createDb(config.databaseUrl));
  const ownsDb = options.dbh === undefined;
  try {
    await migrateToLatest(dbh.db, dbh.schema);
  } catch (error) {
    if (ownsDb) await dbh.close();
    throw error;
  }
  // With PORT=0 the real origin is known only once the server listens (below).
  let origin = config.publicUrl;
  const deps = await createDeps(config, dbh, logger, options.now, () => origin);
  await recordSigningKey(deps);
  const app = createHttpApp(deps, { spaDir: options.spaDir });
  const server = createHttpServer(app);
  const stopMaintenance = startMaintenance(deps);
  deps.liveSessions.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  // The CSRF origin check must use the real origin, not the derived `…:0`.
  if (!config.publicUrlConfigured && config.port === 0) origin = url;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      app.setDraining(true);
      stopMaintenance();
      await deps.liveSessions.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
      await closed;
      clearTimeout(timer);
      await deps.hasher.close();
      if (ownsDb) await dbh.close();
    })());

  return { deps, url, port, close };
}
