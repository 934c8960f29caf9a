import cluster from 'node:cluster';
import { ConfigError, loadConfig, withSigningKey } from './config.ts';
import { createLogger } from './logger.ts';

/** Process entry: one-line reasons on failure, graceful shutdown on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = withSigningKey(loadConfig());
  } catch (error) {
    const reason = error instanceof ConfigError ? error.message : (error as Error).message;
    process.stderr.write(`latchkey: configuration error: ${reason}\n`);
    process.exit(1);
  }
  const clustered = config.workers > 1;
  const base = createLogger(config.logLevel);
  // In a cluster every line says which worker wrote it.
  const logger = clustered && cluster.isWorker ? base.child({ worker: cluster.worker?.id }) : base;
  if (config.jwt.generated && cluster.isPrimary) {
    logger.warn(
      { dataDir: config.dataDir },
      'JWT_SECRET is not set: using a generated development key kept in DATA_DIR',
    );
  }
  if (clustered && cluster.isPrimary) {
    try {
      const { runPrimary } = await import('./cluster.ts');
      await runPrimary(config, logger);
    } catch (error) {
      process.stderr.write(`latchkey: cannot start: ${(error as Error).message}\n`);
      process.exit(1);
    }
    return;
  }
  let app;
  try {
    // Loaded only after the configuration is known to be good, so a bad one fails fast.
    const { startApp } = await import('./app.ts');
    app = await startApp(config, { logger });
  } catch (error) {
    process.stderr.write(`latchkey: cannot start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  if (!clustered) logger.info({ url: app.url, database: app.deps.dbh.target.kind }, 'listening');
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    app
      .close()
      .then(() => {
        logger.flush();
        process.exit(0);
      })
      .catch(() => process.exit(1));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

void main();
