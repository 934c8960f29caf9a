export * from './schema.ts';
export { createDb, parseDatabaseUrl } from './create-db.ts';
export type { CreateDbOptions, DatabaseTarget, DbHandle } from './create-db.ts';
export { DataDirLockedError } from './lock.ts';
export { createMigrator, migrateToLatest } from './migrate.ts';
export { isDatabaseUnavailable } from './errors.ts';
