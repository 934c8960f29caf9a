import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createDb, migrateToLatest, type DbHandle } from '@latchkey/db';
import pg from 'pg';
import { TRPCError } from '@trpc/server';
import { expect, inject } from 'vitest';
import { startApp, type RunningApp } from '../src/app.ts';
import { loadConfig, withSigningKey, type Config } from '../src/config.ts';
import type { Context, RequestFacts } from '../src/context.ts';
import { refreshCookieSink } from '../src/http/cookies.ts';
import { createLogger } from '../src/logger.ts';
import { appRouter } from '../src/routers/index.ts';
import { createDeps, type Deps } from '../src/deps.ts';
import { createCallerFactory } from '../src/trpc.ts';

/** Random-looking, as a real key must be: the config refuses keys made of words or sequences. */
export const TEST_SECRET = 'gvYphkPsr1u34OjZ3daXO7Yr950r79Urrm3oQrooY_E';
export const PASSWORD = 'correct horse battery staple';

/** Cheap argon2 for speed; one test elsewhere uses the production parameters. */
const CHEAP_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

export interface TestDb extends DbHandle {
  /**
   * Another connection to the same database, as a second server instance would have: its own pool
   * on PostgreSQL; on PGlite (one process per database) the same handle, which must not be closed.
   */
  reopen(): Promise<DbHandle>;
}

/** PostgreSQL when TEST_DATABASE_URL is set (own schema per file), else PGlite from the snapshot. */
export async function createTestDb(): Promise<TestDb> {
  const url = process.env.TEST_DATABASE_URL;
  if (process.env.LATCHKEY_TEST_DB === 'postgres') {
    if (!url) throw new Error('the postgres project needs TEST_DATABASE_URL');
    const schema = `lk_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    const dbh = await createDb(url, { schema, poolSize: 5 });
    await migrateToLatest(dbh.db, dbh.schema);
    return {
      ...dbh,
      reopen: () => createDb(url, { schema, poolSize: 5 }),
      close: async () => {
        await dbh.close();
        const dropper = new pg.Client({ connectionString: url });
        await dropper.connect();
        await dropper.query(`drop schema ${schema} cascade`);
        await dropper.end();
      },
    };
  }
  const snapshot = readFileSync(inject('pgliteSnapshot'));
  const dbh = await createDb('pglite:memory', { loadDataDir: new Blob([snapshot]) });
  return { ...dbh, reopen: () => Promise.resolve({ ...dbh, close: () => Promise.resolve() }) };
}

export function testConfig(env: Record<string, string> = {}, overrides: Partial<Config> = {}) {
  const config = withSigningKey(
    loadConfig({
      NODE_ENV: 'test',
      JWT_SECRET: TEST_SECRET,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'latchkey-test-')),
      PORT: '0',
      LOG_LEVEL: 'silent',
      ...env,
    }),
  );
  return { ...config, argon2: CHEAP_ARGON2, ...overrides };
}

/** A clock tests move by hand; the server reads all time through it. */
export function testClock(start = Date.now()) {
  let current = start;
  return {
    now: () => new Date(current),
    advance: (seconds: number) => void (current += seconds * 1000),
  };
}

/** Collects log lines so tests can scan them for secrets. */
export function memoryLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, logger: createLogger('trace', stream) };
}

export interface TestEnv {
  deps: Deps;
  dbh: DbHandle;
  clock: ReturnType<typeof testClock>;
  close(): Promise<void>;
}

export async function createTestEnv(
  env: Record<string, string> = {},
  overrides: Partial<Config> = {},
): Promise<TestEnv> {
  const dbh = await createTestDb();
  const clock = testClock();
  const deps = await createDeps(testConfig(env, overrides), dbh, memoryLog().logger, clock.now);
  deps.liveSessions.start();
  return {
    deps,
    dbh,
    clock,
    close: async () => {
      await deps.liveSessions.stop();
      await deps.hasher.close();
      await dbh.close();
    },
  };
}

const createCaller = createCallerFactory(appRouter);

export interface CallerOptions extends Partial<RequestFacts> {
  token?: string;
  cookies?: string[];
}

/** A procedure-level caller with the request facts a browser would send. */
export function callerFor(deps: Deps, options: CallerOptions = {}) {
  const { token, cookies = [], ...facts } = options;
  const req: RequestFacts = {
    authorization: token !== undefined ? [`Bearer ${token}`] : [],
    refreshToken: null,
    clientAddress: '203.0.113.7',
    userAgent: 'vitest',
    origin: null,
    secFetchSite: null,
    csrfHeader: '1',
    contentType: 'application/json',
    requestId: null,
    ...facts,
  };
  const ctx: Context = { deps, req, res: refreshCookieSink((c) => void cookies.push(c)) };
  return createCaller(ctx);
}

/** The refresh token from the last Set-Cookie that set one. */
export function refreshTokenFrom(cookies: string[]): string | null {
  for (const cookie of [...cookies].reverse()) {
    const match = /^__Host-latchkey_rt=([^;]*)/.exec(cookie);
    if (match) return match[1] === '' ? null : (match[1] ?? null);
  }
  return null;
}

export async function startTestServer(
  env: Record<string, string> = {},
  overrides: Partial<Config> = {},
  database?: DbHandle,
): Promise<RunningApp & { dbh: DbHandle; log: string[] }> {
  const dbh = database ?? (await createTestDb());
  const log = memoryLog();
  const app = await startApp(testConfig({ HOST: '127.0.0.1', ...env }, overrides), {
    dbh,
    logger: log.logger,
  });
  return {
    ...app,
    dbh,
    log: log.lines,
    close: async () => {
      await app.close();
      await dbh.close();
    },
  };
}

export function uniqueName(prefix = 'user'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** The TRPCError a call was refused with; fails the test if it succeeded or threw anything else. */
export async function trpcErrorOf(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

/** A `login` answer that signed in, not a second-factor challenge; fails the test otherwise. */
export function tokensOf<T extends object>(answer: T): Exclude<T, { mfaRequired: true }> {
  if ('mfaRequired' in answer) throw new Error('expected a session, got a second-factor challenge');
  return answer as Exclude<T, { mfaRequired: true }>;
}
