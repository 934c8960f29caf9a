import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PreparedPGliteDialect } from './pglite-dialect.ts';
import pg from 'pg';
import { lockDataDir } from './lock.ts';
import type { Database } from './schema.ts';

export type DatabaseTarget =
  { kind: 'postgres'; url: string } | { kind: 'pglite'; dir: string | null };

/** Parses a DATABASE_URL as the contract defines it. Throws a one-line error on anything else. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  if (url === 'pglite:memory') return { kind: 'pglite', dir: null };
  if (url.startsWith('pglite:') && url.length > 'pglite:'.length) {
    return { kind: 'pglite', dir: resolve(url.slice('pglite:'.length)) };
  }
  throw new Error('DATABASE_URL must start with postgres://, postgresql:// or pglite:');
}

export interface CreateDbOptions {
  /** Connections in the pg pool (PGlite always has exactly one). */
  poolSize?: number;
  /** PostgreSQL only: put every connection on this schema (test isolation). */
  schema?: string;
  /** PGlite only: start from this dump (from `dumpDataDir`) instead of running initdb. */
  loadDataDir?: Blob;
  /** PostgreSQL only: how long a query may wait for a pool connection before failing. */
  connectionTimeoutMillis?: number;
  /** PostgreSQL only: server-side statement timeout, so an outage fails fast instead of hanging. */
  statementTimeoutMillis?: number;
}

export interface DbHandle {
  db: Kysely<Database>;
  target: DatabaseTarget;
  /** The PGlite instance in embedded mode (for dumps and LISTEN), null on PostgreSQL. */
  pglite: PGlite | null;
  /** The pg pool on PostgreSQL (for LISTEN), null in embedded mode. */
  pool: pg.Pool | null;
  /** The schema every connection is pinned to, when one was given. */
  schema: string | null;
  /** True when a trivial query succeeds. Never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

// int8 (count(*), bigserial) as a number on both drivers; PGlite already does this.
const INT8_OID = 20;
const parseInt8 = (value: string) => Number(value);
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? parseInt8
      : (pg.types.getTypeParser(
          oid,
          format ?? 'text',
        ) as unknown)) as typeof pg.types.getTypeParser,
};

const EMBEDDED_POSTGRESQL_CONF = 'shared_buffers = 16MB';

export async function createDb(url: string, options: CreateDbOptions = {}): Promise<DbHandle> {
  const target = parseDatabaseUrl(url);
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: target.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? 2_000,
      statement_timeout: options.statementTimeoutMillis ?? 10_000,
      options: options.schema ? `-c search_path=${options.schema}` : undefined,
      types: pgTypes,
    });
    // A client losing its connection (server restart, outage) emits 'error' — idle clients to the
    // pool, checked-out ones to themselves. Unhandled, either would crash the process; the query
    // in flight fails on its own and the pool replaces the client.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      target,
      pglite: null,
      pool,
      schema: options.schema ?? null,
      ping: () => ping(db),
      close: () => db.destroy(),
    };
  }

  let release = (): void => undefined;
  if (target.dir !== null) {
    mkdirSync(dirname(target.dir), { recursive: true });
    release = lockDataDir(`${target.dir}.lock`);
  }
  let pglite: PGlite;
  try {
    pglite = await PGlite.create({
      // The default 128 MB of shared buffers is sized for a server; an embedded auth database
      // is small, and this takes ~130 MB off the process's resident memory.
      postgresqlconf: EMBEDDED_POSTGRESQL_CONF,
      ...(target.dir !== null ? { dataDir: target.dir } : {}),
      ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    });
  } catch (error) {
    release();
    throw error;
  }
  const db = new Kysely<Database>({ dialect: new PreparedPGliteDialect(pglite) });
  return {
    db,
    target,
    pglite,
    pool: null,
    schema: null,
    ping: () => ping(db),
    close: async () => {
      await db.destroy();
      release();
    },
  };
}

async function ping(db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
