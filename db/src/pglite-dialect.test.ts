import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PREPARED, PreparedPGliteDialect } from './pglite-dialect.ts';

let pg: PGlite;
let db: Kysely<Record<string, never>>;
beforeAll(async () => {
  pg = await PGlite.create();
  db = new Kysely({ dialect: new PreparedPGliteDialect(pg) });
  await pg.exec(`
    create table things (
      id uuid primary key default gen_random_uuid(),
      name text unique not null,
      n int not null,
      big bigint,
      ok boolean not null default true,
      at timestamptz not null,
      doc jsonb,
      tags text[]
    )`);
});
afterAll(() => db.destroy());

const statementCount = async () =>
  Number(
    (await pg.query<{ n: number }>('select count(*)::int as n from pg_prepared_statements')).rows[0]
      ?.n,
  );

describe('PreparedPGliteDialect', () => {
  it('returns what PGlite.query returns, value for value', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const insert = sql<Record<string, unknown>>`
      insert into things (name, n, big, at, doc, tags)
      values (${'alpha'}, ${7}, ${'9007199254740993'}, ${at}, ${JSON.stringify({ a: [1, 'x'] })}, ${['p', 'q']})
      returning *`;
    const inserted = (await insert.execute(db)).rows[0];
    const select = 'select *, n * 2 as twice, null::text as nothing from things where name = $1';
    for (let i = 0; i < 3; i++) {
      // The first run prepares, the next ones reuse the statement.
      const ours = (await sql.raw(select.replace('$1', "'alpha'")).execute(db)).rows[0];
      const byQuery = (await pg.query(select, ['alpha'])).rows[0];
      expect(ours).toEqual(byQuery);
    }
    expect(inserted).toMatchObject({ name: 'alpha', n: 7, ok: true, at, doc: { a: [1, 'x'] } });
    expect(inserted).toEqual(
      (await pg.query('select * from things where name = $1', ['alpha'])).rows[0],
    );
  });

  it('passes parameters as values, never as SQL', async () => {
    const name = "x'); drop table things; --";
    await sql`insert into things (name, n, at) values (${name}, ${1}, ${new Date()})`.execute(db);
    const found = await sql<{ name: string }>`select name from things where name = ${name}`.execute(
      db,
    );
    expect(found.rows).toEqual([{ name }]);
  });

  it('reports affected rows', async () => {
    await sql`insert into things (name, n, at) values ('a1', 1, now()), ('a2', 2, now())`.execute(
      db,
    );
    const updated = await sql`update things set n = n + 1 where name in (${'a1'}, ${'a2'})`.execute(
      db,
    );
    expect(updated.numAffectedRows).toBe(2n);
  });

  it('prepares each statement once and reuses it', async () => {
    const before = await statementCount();
    for (let i = 0; i < 5; i++) {
      await sql`select n from things where name = ${`missing-${i}`}`.execute(db);
    }
    expect(await statementCount()).toBe(before + 1);
  });

  it('keeps at most MAX_PREPARED statements', async () => {
    for (let i = 0; i < MAX_PREPARED + 20; i++) {
      await sql.raw(`select ${i} as k`).execute(db);
    }
    expect(await statementCount()).toBeLessThanOrEqual(MAX_PREPARED);
  });

  it('prepares again when the schema changes under a statement', async () => {
    await pg.exec('create table shifting (a int); insert into shifting values (1)');
    const all = sql.raw<Record<string, unknown>>('select * from shifting');
    expect((await all.execute(db)).rows).toEqual([{ a: 1 }]);
    await pg.exec('alter table shifting add column b text default $$b$$');
    expect((await all.execute(db)).rows).toEqual([{ a: 1, b: 'b' }]);
  });

  it('surfaces errors with their SQLSTATE and keeps working afterwards', async () => {
    await sql`insert into things (name, n, at) values ('dup', 1, now())`.execute(db);
    const duplicate = sql`insert into things (name, n, at) values ('dup', 1, now())`.execute(db);
    await expect(duplicate).rejects.toMatchObject({ code: '23505' });
    await expect(sql.raw('select from nowhere').execute(db)).rejects.toMatchObject({
      code: '42P01',
    });
    const count = await sql<{
      n: number;
    }>`select count(*)::int as n from things where name = 'dup'`.execute(db);
    expect(count.rows).toEqual([{ n: 1 }]);
  });

  it('rolls a failed transaction back whole', async () => {
    const attempt = db.transaction().execute(async (trx) => {
      await sql`insert into things (name, n, at) values ('in-trx', 1, now())`.execute(trx);
      await sql`insert into things (name, n, at) values ('dup', 1, now())`.execute(trx);
    });
    await expect(attempt).rejects.toMatchObject({ code: '23505' });
    const left = await sql<{
      n: number;
    }>`select count(*)::int as n from things where name = 'in-trx'`.execute(db);
    expect(left.rows).toEqual([{ n: 0 }]);
  });

  it('loses no write among concurrent ones', async () => {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        sql`insert into things (name, n, at) values (${`c-${i}`}, ${i}, now())`.execute(db),
      ),
    );
    const count = await sql<{
      n: number;
    }>`select count(*)::int as n from things where name like 'c-%'`.execute(db);
    expect(count.rows).toEqual([{ n: 50 }]);
  });

  it('serves concurrent callers one statement at a time, each its own answer', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sql<{ v: number }>`select ${i}::int as v`.execute(db)),
    );
    expect(answers.map((a) => a.rows[0]?.v)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
