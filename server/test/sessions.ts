import type { DbHandle } from '@latchkey/db';
import { sql } from 'kysely';
import { uniqueName } from './helpers.ts';

export interface SeededSession {
  sessionId: string;
  userId: string;
}

/**
 * `count` live sessions (a day to live, no refresh token), `perUser` to each of fresh users, in
 * two statements: fast enough for tens of thousands.
 */
export async function seedSessions(
  dbh: DbHandle,
  count: number,
  perUser = 1,
): Promise<SeededSession[]> {
  const prefix = uniqueName('seeded');
  const { rows } = await sql<{ session_id: string; user_id: string }>`
    with u as (
      insert into users (username, password_hash)
      select ${prefix} || '-' || g, 'not a hash'
      from generate_series(1, ${Math.ceil(count / perUser)}::int) g
      returning id
    ), numbered as (select id, row_number() over () as n from u)
    insert into sessions (user_id, expires_at)
    select numbered.id, now() + interval '1 day'
    from generate_series(0, ${count - 1}::int) s
    join numbered on numbered.n = s / ${perUser}::int + 1
    returning id as session_id, user_id`.execute(dbh.db);
  return rows.map((r) => ({ sessionId: r.session_id, userId: r.user_id }));
}
