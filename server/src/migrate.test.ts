import { migrateToLatest } from '@latchkey/db';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../test/helpers.ts';

let dbh: TestDb;
beforeEach(async () => {
  dbh = await createTestDb(); // migrated
});
afterEach(() => dbh.close());

const table = () =>
  dbh.schema ? sql.id(dbh.schema, 'kysely_migration') : sql.id('kysely_migration');
const recorded = async () =>
  (await sql<{ name: string }>`select name from ${table()} order by name`.execute(dbh.db)).rows.map(
    (r) => r.name,
  );

describe('migrateToLatest', () => {
  it('does nothing on a database that has every migration', async () => {
    const before = await recorded();
    expect(before.length).toBeGreaterThan(0);
    await expect(migrateToLatest(dbh.db, dbh.schema)).resolves.toEqual([]);
    expect(await recorded()).toEqual(before);
  });

  it('still refuses a database migrated by a newer version (an unknown migration)', async () => {
    await sql`insert into ${table()} (name, timestamp) values ('999-from-the-future', now()::text)`.execute(
      dbh.db,
    );
    await expect(migrateToLatest(dbh.db, dbh.schema)).rejects.toThrow(/999-from-the-future/);
  });

  it('hands a database missing a migration to the migrator, which runs it', async () => {
    const last = (await recorded()).at(-1) ?? '';
    await sql`delete from ${table()} where name = ${last}`.execute(dbh.db);
    // The migration's changes are already there, so running it again fails: proof it was run.
    await expect(migrateToLatest(dbh.db, dbh.schema)).rejects.toThrow(`migration ${last} failed`);
  });
});
