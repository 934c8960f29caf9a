import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerFor,
  createTestEnv,
  memoryLog,
  PASSWORD,
  uniqueName,
  type TestEnv,
} from '../../test/helpers.ts';
import { createDeps } from '../deps.ts';
import { createPasswordHasher, type PasswordHasher } from './password.ts';

const PRODUCTION = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
describe('hashing with the production parameters', () => {
  it('is argon2id m=19456,t=2,p=1, verifies, and never throws on a bad hash', async () => {
    const hasher = await createPasswordHasher(PRODUCTION, { concurrency: 1 });
    const hash = await hasher.hash(PASSWORD);
    expect(hash).toMatch(
      /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
    );
    expect(await hasher.hash(PASSWORD)).not.toBe(hash); // salted
    await expect(hasher.verify(hash, PASSWORD)).resolves.toBe(true);
    await expect(hasher.verify(hash, `${PASSWORD} `)).resolves.toBe(false);
    await expect(hasher.verify(hash, PASSWORD.toUpperCase())).resolves.toBe(false);
    for (const garbage of [
      '',
      'garbage',
      '$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB',
      '$2b$10$abc',
    ]) {
      await expect(hasher.verify(garbage, PASSWORD)).resolves.toBe(false);
    }
    expect(hasher.needsRehash(hash)).toBe(false);
    expect(hasher.needsRehash(hash.replace('m=19456', 'm=1024'))).toBe(true);
    expect(hasher.needsRehash('garbage')).toBe(true);
    await hasher.close();
  });

  describe('hashes written before', () => {
    const secret = 'correct horse battery staple';
    let hasher: PasswordHasher;
    beforeAll(async () => {
      hasher = await createPasswordHasher(PRODUCTION, { concurrency: 1 });
    });
    afterAll(() => hasher.close());

    it.each([
      // This project's library before `argon2`: existing users keep signing in.
      [
        '@node-rs/argon2 2.2.1',
        false,
        '$argon2id$v=19$m=19456,t=2,p=1$SiJrc1waZ2R/mQ3blfBSLw$DM6mNtqaK2UcPmJWFHU1mruom/Lfe4PMDZ8TMmMreMs',
      ],
      [
        '@node-rs/argon2 2.2.1 at older parameters',
        true,
        '$argon2id$v=19$m=1024,t=1,p=1$wskYGOO845W+qgJ6vVvE9Q$et/0Pd/q0yp8Su+tMqVbo54fu6vuXIxtVWCvl5v3Mj8',
      ],
      // An older release of the `argon2` npm package, which ordered the parameters m,p,t.
      [
        'an older argon2 package',
        false,
        '$argon2id$v=19$m=19456,p=1,t=2$6YWlbRgwx8nnwV47ucRV+A$Syv8IPtGkKasy658hFASt5tVkZWLCQseavklucT8rG8',
      ],
      // Not argon2id: rehashed at the next login.
      [
        'argon2i',
        true,
        '$argon2i$v=19$m=19456,p=1,t=2$FkRfG8UfVjPk5MyV31BmZw$9BwRDJsZrpyw6vMtvP7u1Ei9VFPRPk4bH41ofp8VGp4',
      ],
    ])('written by %s: verifies; needsRehash is %s', async (_, outdated, hash) => {
      await expect(hasher.verify(hash, secret)).resolves.toBe(true);
      await expect(hasher.verify(hash, `${secret}!`)).resolves.toBe(false);
      expect(hasher.needsRehash(hash)).toBe(outdated);
    });

    it('and the hasher upgrades its own (argon2) hashes the same way', async () => {
      const cheap = await createPasswordHasher(CHEAP, { concurrency: 1 });
      const older = await cheap.hash(secret);
      await cheap.close();
      await expect(hasher.verify(older, secret)).resolves.toBe(true);
      expect(hasher.needsRehash(older)).toBe(true);
      expect(hasher.needsRehash(await hasher.hash(secret))).toBe(false);
    });
  });
});

describe('the hashing process', () => {
  /** Field 19 of /proc/<tid>/stat is the thread's niceness. */
  function niceOf(tid: number): number {
    const stat = readFileSync(`/proc/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  }

  it.runIf(existsSync('/proc/thread-self'))(
    'hashes on threads of its own at the configured niceness, never on the event loop',
    async () => {
      const hasher = await createPasswordHasher(CHEAP, { concurrency: 2, nice: 7 });
      expect(await hasher.threads()).toEqual([]); // started on first use
      const [a, b] = await Promise.all([hasher.hash(PASSWORD), hasher.hash(PASSWORD)]);
      expect(a).not.toBe(b);
      const threads = await hasher.threads();
      expect(threads).toHaveLength(2);
      for (const { tid, nice } of threads) {
        expect(tid).not.toBe(process.pid);
        expect(nice).toBe(7);
        expect(niceOf(tid ?? 0)).toBe(7);
        // A thread of the hashing process (not of this one), named for `top -H` and the benchmark.
        const status = readFileSync(`/proc/${tid}/status`, 'utf8');
        expect(/^Tgid:\s+(\d+)$/m.exec(status)?.[1]).not.toBe(String(process.pid));
        expect(readFileSync(`/proc/${tid}/comm`, 'utf8').trim()).toBe('latchkey-hash');
      }
      expect(niceOf(process.pid)).toBe(0); // the event loop keeps its priority
      await hasher.close();
    },
  );

  it('fails the job in progress when it stops, and starts again for the next', async () => {
    const hasher = await createPasswordHasher(
      { memoryCost: 19_456, timeCost: 50, parallelism: 1 },
      { concurrency: 1 },
    );
    const slow = hasher.hash(PASSWORD);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await hasher.close(0); // no grace: the job in progress is cut short
    await expect(slow).rejects.toThrow('password hashing process stopped');
    await expect(hasher.verify('garbage', PASSWORD)).resolves.toBe(false);
    await hasher.close();
  });

  it('lets a job in progress finish when closed with a grace period', async () => {
    const hasher = await createPasswordHasher(
      { memoryCost: 19_456, timeCost: 10, parallelism: 1 },
      { concurrency: 1 },
    );
    const job = hasher.hash(PASSWORD);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await hasher.close(10_000);
    await expect(job).resolves.toMatch(/^\$argon2id\$v=19\$m=19456,t=10,p=1\$/);
  });
});

describe('hash upgrade on login', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(() => env.close());

  const storedHash = async (username: string) =>
    (
      await env.dbh.db
        .selectFrom('users')
        .select('password_hash')
        .where('username', '=', username)
        .executeTakeFirstOrThrow()
    ).password_hash;

  it('rehashes with the new parameters when they changed, and only then', async () => {
    const username = uniqueName();
    await callerFor(env.deps).register({ username, password: PASSWORD });
    const before = await storedHash(username);
    expect(before).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);

    const stronger = { memoryCost: 2048, timeCost: 2, parallelism: 1 };
    const upgraded = await createDeps(
      { ...env.deps.config, argon2: stronger },
      env.dbh,
      memoryLog().logger,
      env.clock.now,
    );
    const login = () => callerFor(upgraded).login({ username, password: PASSWORD });

    await expect(login()).resolves.toMatchObject({ user: { username } });
    const after = await storedHash(username);
    expect(after).toMatch(/^\$argon2id\$v=19\$m=2048,t=2,p=1\$/);
    expect(after).not.toBe(before);

    await expect(login()).resolves.toMatchObject({ user: { username } });
    expect(await storedHash(username)).toBe(after);
    await upgraded.hasher.close();

    const wrong = callerFor(upgraded).login({ username, password: `${PASSWORD}!` });
    await expect(wrong).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'Incorrect username or password',
    });
    expect(await storedHash(username)).toBe(after);
  });
});
