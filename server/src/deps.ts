import type { DbHandle } from '@latchkey/db';
import type { Config } from './config.ts';
import { findPasswordHashSettings } from './auth/hash-settings.repository.ts';
import { createPasswordHasher, type PasswordHasher } from './auth/password.ts';
import { createTokenIssuer, type TokenIssuer } from './auth/tokens.ts';
import type { Logger } from './logger.ts';
import { LiveSessions } from './sessions/live-sessions.ts';

/** Everything a request handler needs, built once per process. */
export interface Deps {
  config: Config;
  dbh: DbHandle;
  db: DbHandle['db'];
  hasher: PasswordHasher;
  tokens: TokenIssuer;
  logger: Logger;
  /** The clock every rule reads; tests freeze it. */
  now: () => Date;
  /** The revocation check: live sessions in memory, kept honest by the revocation journal. */
  liveSessions: LiveSessions;
  /**
   * The origin the SPA is served from, for the CSRF origin check: PUBLIC_URL, or the address the
   * server listens on when that was derived with PORT=0 (known only after `listen`, see app.ts).
   */
  publicOrigin: () => string;
}

export async function createDeps(
  config: Config,
  dbh: DbHandle,
  logger: Logger,
  now: () => Date = () => new Date(),
  publicOrigin: () => string = () => config.publicUrl,
): Promise<Deps> {
  const hasher = await createPasswordHasher(config.argon2, {
    concurrency: config.hashConcurrency,
    queueLimit: config.hashQueue,
    nice: config.hashNice,
    maxWaitMs: config.hashMaxWaitMs,
    inUse: await findPasswordHashSettings(dbh.db),
  });
  const tokens = await createTokenIssuer(config, () => now().getTime());
  const liveSessions = new LiveSessions({
    dbh,
    logger,
    now,
    maxAgeMs: config.sessionCacheMs,
    idleTtlSeconds: config.refreshIdleTtl,
  });
  return { config, dbh, db: dbh.db, hasher, tokens, logger, now, liveSessions, publicOrigin };
}
