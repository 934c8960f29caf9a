import type { Db } from '@latchkey/db';
import { sql } from 'kysely';
import type { Argon2Params } from '../config.ts';
import { argon2Settings, paramsKey } from './argon2-params.ts';

/** An encoded hash without its last two fields (salt and digest): `$argon2id$v=19$m=…,t=…,p=…`. */
const SALT_AND_DIGEST = '\\$[^$]*\\$[^$]*$';

/**
 * The distinct argon2 parameter sets of the stored password hashes. One pass over `users`, read
 * at start-up (PasswordHasher's timing, decision 005); unreadable hashes are left out.
 */
export async function findPasswordHashSettings(db: Db): Promise<Argon2Params[]> {
  const rows = await db
    .selectFrom('users')
    .select(sql<string>`regexp_replace(password_hash, ${SALT_AND_DIGEST}, '')`.as('head'))
    .distinct()
    .execute();
  const sets = new Map<string, Argon2Params>();
  for (const { head } of rows) {
    const s = argon2Settings(head);
    if (s) {
      const params = { memoryCost: s.memoryCost, timeCost: s.timeCost, parallelism: s.parallelism };
      sets.set(paramsKey(params), params);
    }
  }
  return [...sets.values()];
}
