import type { DbHandle } from '@latchkey/db';
import type { Config } from './config.ts';
import { createPasswordHasher, type PasswordHasher } from './auth/password.ts';
import { createTokenIssuer, type TokenIssuer } from './auth/tokens.ts';
import type { Logger } from './logger.ts';

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
}

export async function createDeps(
  config: Config,
  dbh: DbHandle,
  logger: Logger,
  now: () => Date = () => new Date(),
): Promise<Deps> {
  const hasher = await createPasswordHasher(
    config.argon2,
    config.hashConcurrency,
    config.hashQueue,
  );
  const tokens = await createTokenIssuer(config, () => now().getTime());
  return { config, dbh, db: dbh.db, hasher, tokens, logger, now };
}
