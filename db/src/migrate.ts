import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as m001 from './migrations/001-initial.ts';
import * as m002 from './migrations/002-progressive-lockout.ts';
import * as m003 from './migrations/003-sliding-throttle.ts';
import * as m004 from './migrations/004-live-sessions-index.ts';
import * as m005 from './migrations/005-revocation-journal.ts';
import * as m006 from './migrations/006-second-factor.ts';
import * as m007 from './migrations/007-passkeys.ts';
import type { Database } from './schema.ts';

/** Migrations are listed here (not read from disk) so bundlers and tsx see the same set. */
const migrations: Record<string, Migration> = {
  '001-initial': m001,
  '002-progressive-lockout': m002,
  '003-sliding-throttle': m003,
  '004-live-sessions-index': m004,
  '005-revocation-journal': m005,
  '006-second-factor': m006,
  '007-passkeys': m007,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };

/**
 * `schema` pins Kysely's own bookkeeping tables to the schema the connection uses; without it the
 * Migrator's existence check would see a `kysely_migration` table in any other schema.
 */
export function createMigrator(db: Kysely<Database>, schema?: string | null): Migrator {
  return new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
}

/**
 * True when the migrations recorded as applied are exactly the ones listed here, read with one
 * query (false when the table does not exist yet). Kysely's Migrator checks the same thing through
 * catalog introspection under a lock, which costs most of a second on an embedded database's cold
 * start even when there is nothing to do; anything other than an exact match still goes to it.
 */
async function upToDate(db: Kysely<Database>, schema?: string | null): Promise<boolean> {
  const table = schema ? sql.id(schema, 'kysely_migration') : sql.id('kysely_migration');
  let applied: string[];
  try {
    const { rows } = await sql<{ name: string }>`select name from ${table}`.execute(db);
    applied = rows.map((r) => r.name);
  } catch {
    return false;
  }
  const known = Object.keys(migrations);
  return applied.length === known.length && known.every((name) => applied.includes(name));
}

async function currentSchema(db: Kysely<Database>): Promise<string | null> {
  const { rows } = await sql<{ name: string | null }>`select current_schema() as name`.execute(db);
  return rows[0]?.name ?? null;
}

/**
 * Applies every pending migration; throws with the failing migration's name. Without `schema`, the
 * bookkeeping goes to the connection's current schema (its `search_path`, as a `DATABASE_URL` with
 * `options=-c search_path=…` sets it), never to a `kysely_migration` table another schema holds.
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  schema?: string | null,
): Promise<string[]> {
  const target = schema ?? (await currentSchema(db));
  if (await upToDate(db, target)) return [];
  const { error, results } = await createMigrator(db, target).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error !== undefined) {
    const reason = error instanceof Error ? error.message : JSON.stringify(error);
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${reason}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
