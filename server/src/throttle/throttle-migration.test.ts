import { createMigrator, migrateToLatest } from '@latchkey/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../test/helpers.ts';
import { countAttempt, MAX_STRIKES } from './throttle.repository.ts';

let dbh: TestDb;
beforeAll(async () => {
  dbh = await createTestDb();
});
afterAll(() => dbh.close());

const migrateTo = async (name: string) => {
  const { error } = await createMigrator(dbh.db, dbh.schema).migrateTo(name);
  if (error !== undefined) throw error instanceof Error ? error : new Error(JSON.stringify(error));
};

describe('migration 003 (attempt times instead of fixed windows)', () => {
  it('carries a fixed window in progress over: its lock lasts as long as it did', async () => {
    await migrateTo('002-progressive-lockout');
    const start = new Date('2026-03-01T12:00:00Z');
    await sql`insert into throttle (key, window_start, attempts, strikes) values
        ('user:carried', ${start}::timestamptz, 12, 1),
        ('client:carried', ${start}::timestamptz, 2, 0)`.execute(dbh.db);
    await migrateToLatest(dbh.db, dbh.schema);

    const at = (seconds: number) => new Date(start.getTime() + seconds * 1000);
    const account = { key: 'user:carried', limit: 10, maxStrikes: MAX_STRIKES };
    // Over the limit with one strike: locked for 2 × 60 s from the window's start, as before.
    const locked = await countAttempt(dbh.db, [account], 60, at(30));
    expect(locked).toEqual({ allowed: false, retryAt: at(120), lockoutStarted: true });
    expect((await countAttempt(dbh.db, [account], 60, at(119))).allowed).toBe(false);
    expect((await countAttempt(dbh.db, [account], 60, at(120))).allowed).toBe(true);

    const client = { key: 'client:carried', limit: 3, maxStrikes: 0 };
    expect((await countAttempt(dbh.db, [client], 60, at(10))).allowed).toBe(true);
    expect(await countAttempt(dbh.db, [client], 60, at(11))).toEqual({
      allowed: false,
      retryAt: at(60),
      lockoutStarted: true,
    });
  });

  it('migrates down and up again', async () => {
    await migrateTo('002-progressive-lockout');
    const { rows } = await sql<{ key: string; attempts: number }>`
      select key, attempts from throttle where key like '%:carried' order by key`.execute(dbh.db);
    expect(rows).toEqual([
      { key: 'client:carried', attempts: 3 },
      { key: 'user:carried', attempts: 1 },
    ]);
    await migrateToLatest(dbh.db, dbh.schema);
  });
});
