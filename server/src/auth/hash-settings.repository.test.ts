import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, uniqueName, type TestDb } from '../../test/helpers.ts';
import { insertUser } from '../users/user.repository.ts';
import { dummyHash } from './argon2-params.ts';
import { findPasswordHashSettings } from './hash-settings.repository.ts';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(() => db.close());

const A = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const B = { ...A, timeCost: 16 };

describe('findPasswordHashSettings', () => {
  it('is empty without users', async () => {
    expect(await findPasswordHashSettings(db.db)).toEqual([]);
  });

  it('lists each parameter set of the stored hashes once, whatever wrote them', async () => {
    const hashes = [
      dummyHash(A),
      dummyHash(A),
      dummyHash(B),
      // The same set written with the parameters in another order, and as argon2i.
      '$argon2id$v=19$m=19456,p=1,t=2$6YWlbRgwx8nnwV47ucRV+A$Syv8IPtGkKasy658hFASt5tVkZWLCQseavklucT8rG8',
      dummyHash(A).replace('$argon2id$', '$argon2i$'),
      'not an argon2 hash',
    ];
    for (const hash of hashes) await insertUser(db.db, uniqueName(), hash, new Date());
    const sets = await findPasswordHashSettings(db.db);
    expect(sets).toHaveLength(2);
    expect(sets).toEqual(expect.arrayContaining([A, B]));
  });
});
