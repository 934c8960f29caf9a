/**
 * Databases for the benchmark: a fresh one per server and run (a PGlite data directory, or a
 * PostgreSQL database created next to the one `--database` names), optionally seeded with many
 * live sessions, and access tokens for them minted by the server's own token module.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, migrateToLatest, type DbHandle } from '../db/src/index.ts';
import { createTokenIssuer } from '../server/src/auth/tokens.ts';
import { loadConfig, withSigningKey } from '../server/src/config.ts';

export type DatabaseKind = 'pglite' | 'postgres';

/** One SQL statement with positional parameters, on either driver; returns its rows. */
async function query<Row>(dbh: DbHandle, text: string, params: unknown[] = []): Promise<Row[]> {
  if (dbh.pglite) return (await dbh.pglite.query<Row>(text, params)).rows;
  if (dbh.pool) return (await dbh.pool.query(text, params)).rows as Row[];
  throw new Error('no driver');
}

/** A statement on the PostgreSQL server `spec` names (its own database), e.g. CREATE DATABASE. */
async function onServer(spec: string, text: string): Promise<void> {
  const dbh = await createDb(spec, { poolSize: 1 });
  try {
    await query(dbh, text);
  } finally {
    await dbh.close();
  }
}

export interface BenchDatabase {
  kind: DatabaseKind;
  /** The server's DATABASE_URL. */
  url: string;
  /** PostgreSQL: the database's name. */
  name?: string;
  /** Drops the database (PostgreSQL) or removes the data directory (PGlite). */
  drop(): Promise<void>;
}

/** `pglite`, `pglite:memory` or a postgres:// URL naming the server (its database is not touched). */
export function databaseKind(spec: string): DatabaseKind {
  if (spec === 'pglite' || spec.startsWith('pglite:')) return 'pglite';
  if (/^postgres(ql)?:\/\//.test(spec)) return 'postgres';
  throw new Error(`--database: expected pglite or postgres://…, got ${JSON.stringify(spec)}`);
}

/**
 * A new, empty database for one server. PGlite: a data directory of its own (the embedded
 * default's kind of database, `DATA_DIR/pgdata`). PostgreSQL: `CREATE DATABASE` on the server
 * `spec` points at, dropped by `drop()` when the benchmark ends (a killed run leaves it behind).
 */
export async function freshDatabase(spec: string, label: string): Promise<BenchDatabase> {
  const suffix = `${label.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
  if (databaseKind(spec) === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), `latchkey-bench-db-${suffix}-`));
    const remove = () => rmSync(dir, { recursive: true, force: true });
    process.once('exit', remove);
    return {
      kind: 'pglite',
      url: `pglite:${join(dir, 'pgdata')}`,
      drop: () => Promise.resolve(remove()),
    };
  }
  const name = `latchkey_bench_${suffix}`;
  await onServer(spec, `create database ${name}`);
  const url = new URL(spec);
  url.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await onServer(spec, `drop database if exists ${name} with (force)`);
  };
  return { kind: 'postgres', url: url.toString(), name, drop };
}

export interface Seeded {
  users: number;
  /** Live sessions as [userId, sessionId], shuffled. */
  sessions: [string, string][];
  seconds: number;
}

/**
 * Migrates `url` and adds `users` users with `sessions` live sessions spread evenly over them,
 * in a few set-based statements. Their password hash is not a valid one: nobody logs in as them.
 */
export async function seedSessions(url: string, users: number, sessions: number): Promise<Seeded> {
  const t0 = Date.now();
  const dbh = await createDb(url, { poolSize: 1, statementTimeoutMillis: 600_000 });
  try {
    await migrateToLatest(dbh.db);
    await query(
      dbh,
      `insert into users (username, password_hash)
       select 'many-' || g, 'not-a-hash' from generate_series(1, $1::int) g`,
      [users],
    );
    // Session k belongs to user (k mod users): every user gets sessions ÷ users of them.
    await query(
      dbh,
      `insert into sessions (user_id, expires_at, user_agent)
       select u.id, now() + interval '30 days', 'bench'
       from generate_series(0, $1::int - 1) k
       join users u on u.username = 'many-' || (k % $2::int + 1)`,
      [sessions, users],
    );
    await query(dbh, 'analyze');
    const rows = await query<{ id: string; user_id: string }>(
      dbh,
      `select id, user_id from sessions where user_agent = 'bench'`,
    );
    const pairs = rows.map((r): [string, string] => [r.user_id, r.id]);
    for (let i = pairs.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [pairs[i], pairs[j]] = [pairs[j] as [string, string], pairs[i] as [string, string]];
    }
    return { users, sessions: pairs, seconds: (Date.now() - t0) / 1000 };
  } finally {
    await dbh.close();
  }
}

/**
 * Access tokens for `sessions`, one per line in a new file, signed exactly as the server signs
 * them: its configuration parsed from the environment the server gets, its token module.
 */
export async function mintTokens(
  serverEnv: Record<string, string>,
  sessions: [string, string][],
  dir: string,
): Promise<string> {
  const issuer = await createTokenIssuer(withSigningKey(loadConfig(serverEnv)));
  const lines: string[] = [];
  for (const [userId, sessionId] of sessions) {
    lines.push((await issuer.sign(userId, sessionId)).token);
  }
  const file = join(dir, `tokens-${randomBytes(4).toString('hex')}.txt`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * Pins the PostgreSQL backends serving `databases` (found in pg_stat_activity: one per pooled
 * connection) to `cpu`, every thread of each; returns their pids. Backends opened later are not
 * pinned, so this runs before every run.
 */
export async function pinPostgres(
  spec: string,
  databases: string[],
  cpu: string,
): Promise<number[]> {
  const dbh = await createDb(spec, { poolSize: 1 });
  try {
    const rows = await query<{ pid: number }>(
      dbh,
      'select pid from pg_stat_activity where datname = any($1::text[])',
      [databases],
    );
    const pids = rows.map((r) => r.pid);
    for (const pid of pids) {
      const result = spawnSync('taskset', ['-a', '-p', '-c', cpu, String(pid)]);
      if (result.status !== 0)
        throw new Error(`taskset ${pid}: ${result.stderr.toString().trim()}`);
    }
    return pids;
  } finally {
    await dbh.close();
  }
}

export interface PostgresCounters {
  /** Committed transactions: each autocommit statement is one, so one round trip each. */
  transactions: number;
  /** Rows fetched by index scans, and buffer hits and reads. */
  tupFetched: number;
  blksHit: number;
  blksRead: number;
}

/** The database's counters in pg_stat_database (updated by each backend within a second or so). */
export async function postgresCounters(spec: string, database: string): Promise<PostgresCounters> {
  const dbh = await createDb(spec, { poolSize: 1 });
  try {
    const [row] = await query<Record<string, string>>(
      dbh,
      `select xact_commit + xact_rollback as transactions, tup_fetched, blks_hit, blks_read
       from pg_stat_database where datname = $1`,
      [database],
    );
    return {
      transactions: Number(row?.transactions ?? NaN),
      tupFetched: Number(row?.tup_fetched ?? NaN),
      blksHit: Number(row?.blks_hit ?? NaN),
      blksRead: Number(row?.blks_read ?? NaN),
    };
  } finally {
    await dbh.close();
  }
}
