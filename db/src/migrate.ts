import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as m001 from './migrations/001-initial.ts';
import * as m002 from './migrations/002-progressive-lockout.ts';
import type { Database } from './schema.ts';

/** Migrations are listed here (not read from disk) so bundlers and tsx see the same set. */
const migrations: Record<string, Migration> = {
  '001-initial': m001,
  '002-progressive-lockout': m002,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };

/**
 * `schema` pins Kysely's own bookkeeping tables to the schema the connection uses; without it the
 * Migrator's existence check would see a `kysely_migration` table in any other schema.
 */
export function createMigrator(db: Kysely<Database>, schema?: string | null): Migrator {
  return new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(
  db: Kysely<Database>,
  schema?: string | null,
): Promise<string[]> {
  const { error, results } = await createMigrator(db, schema).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error !== undefined) {
    const reason = error instanceof Error ? error.message : JSON.stringify(error);
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${reason}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
