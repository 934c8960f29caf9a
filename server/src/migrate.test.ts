import { randomBytes } from 'node:crypto';
import { createDb, migrateToLatest } from '@latchkey/db';
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

describe('migrateToLatest without a schema', () => {
  it("keeps its bookkeeping in the connection's own schema, whatever table another schema holds", async () => {
    const url = process.env.TEST_DATABASE_URL;
    const onPostgres = process.env.LATCHKEY_TEST_DB === 'postgres' && url !== undefined;
    const decoy = `lk_decoy_${randomBytes(6).toString('hex')}`;
    const own = `lk_own_${randomBytes(6).toString('hex')}`;
    // Another application's migrations, in a schema of its own; then a database whose
    // search_path (not an option of ours) names the schema Latchkey is to use.
    const fresh = onPostgres ? await createDb(url, {}) : await createTestDb();
    try {
      await sql`create schema ${sql.id(decoy)}`.execute(fresh.db);
      await sql`create table ${sql.id(decoy, 'kysely_migration')} (name varchar(255) primary key, timestamp varchar(255) not null)`.execute(
        fresh.db,
      );
      await sql`insert into ${sql.id(decoy, 'kysely_migration')} values ('001-other-app', now()::text)`.execute(
        fresh.db,
      );
      await sql`create schema ${sql.id(own)}`.execute(fresh.db);
      const target = onPostgres
        ? await createDb(`${url}${url.includes('?') ? '&' : '?'}options=-c%20search_path%3D${own}`)
        : fresh;
      try {
        if (!onPostgres) await sql`set search_path to ${sql.id(own)}`.execute(fresh.db);
        const applied = await migrateToLatest(target.db);
        expect(applied.length).toBeGreaterThan(0);
        expect(applied[0]).toBe('001-initial');
        const { rows } = await sql<{
          name: string;
        }>`select name from ${sql.id(own, 'kysely_migration')}`.execute(target.db);
        expect(rows.map((r) => r.name)).toEqual(applied);
        await expect(migrateToLatest(target.db)).resolves.toEqual([]);
      } finally {
        if (target !== fresh) await target.close();
      }
    } finally {
      await sql`drop schema if exists ${sql.id(decoy)} cascade`.execute(fresh.db);
      await sql`drop schema if exists ${sql.id(own)} cascade`.execute(fresh.db);
      await fresh.close();
    }
  });
});
