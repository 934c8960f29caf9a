import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, uniqueName } from '../../test/helpers.ts';
import { HashProcessError } from './hash-pool.ts';
import { createPasswordHasher, type PasswordHasher } from './password.ts';

const SLOW = { memoryCost: 19_456, timeCost: 20, parallelism: 1 };
const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
const hasProc = existsSync('/proc/self/task');

/** The process a kernel thread belongs to. */
const processOf = (tid: number) =>
  Number(/^Tgid:\s+(\d+)$/m.exec(readFileSync(`/proc/${tid}/status`, 'utf8'))?.[1]);

/** The hashing process's pid, once a job has started it. */
async function hashingPid(hasher: PasswordHasher): Promise<number> {
  for (;;) {
    const [thread] = await hasher.threads();
    if (thread?.tid) return processOf(thread.tid);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Whether a process or thread runs (a zombie, exited but not yet reaped, does not). */
function running(id: number): boolean {
  try {
    const stat = readFileSync(`/proc/${id}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe.runIf(hasProc)('when the hashing process dies', () => {
  it('fails the jobs it had with HashProcessError, and the next job starts a new one', async () => {
    const hasher = await createPasswordHasher(SLOW, { concurrency: 1 });
    try {
      const inFlight = hasher.hash(PASSWORD);
      const pid = await hashingPid(hasher);
      process.kill(pid, 'SIGKILL');
      await expect(inFlight).rejects.toBeInstanceOf(HashProcessError);
      await expect(inFlight).rejects.toThrow('password hashing process stopped');
      await expect(hasher.verify('garbage', PASSWORD)).resolves.toBe(false);
      const replacement = await hashingPid(hasher);
      expect(replacement).not.toBe(pid);
      expect(running(replacement)).toBe(true);
    } finally {
      await hasher.close();
    }
  });

  it('answers the login in flight 500 Internal server error, and the next one normally', async () => {
    const app = await startTestServer({}, { argon2: SLOW, hashConcurrency: 1 });
    const login = () =>
      fetch(`${app.url}/trpc/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: uniqueName('ghost'), password: PASSWORD }),
      });
    try {
      const inFlight = login();
      process.kill(await hashingPid(app.deps.hasher), 'SIGKILL');
      const res = await inFlight;
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(JSON.parse(text)).toMatchObject({ error: { message: 'Internal server error' } });
      expect(text).not.toMatch(/hash|argon|process|stopped/i);
      const next = await login();
      expect(next.status).toBe(401);
      expect(await next.text()).toContain('Incorrect username or password');
    } finally {
      await app.close();
    }
  });
});

describe.runIf(hasProc)('the hashing process and its parent', () => {
  /**
   * Runs `body` as a CLI-shaped script with a `hasher` (cheap parameters, one thread) in scope.
   * Top-level await: Node exits 13 if the event loop empties while the script still waits.
   * spawnSync also waits for the hashing process, which shares the script's stdout and stderr.
   */
  function runScript(body: string) {
    const module = pathToFileURL(fileURLToPath(new URL('./password.ts', import.meta.url))).href;
    const script = `
      const { createPasswordHasher } = await import(${JSON.stringify(module)});
      const hasher = await createPasswordHasher(${JSON.stringify(CHEAP)}, { concurrency: 1 });
      ${body}
    `;
    return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
  }

  it.each([
    ['leaves the hasher open', ''],
    ['closes the hasher', 'await hasher.close();'],
  ])(
    'keeps it alive while it hashes or closes, not while idle, and ends with it: a script that %s',
    async (_, close) => {
      const run = runScript(`
        const hash = await hasher.hash('an idle hasher must not hold the process');
        const [thread] = await hasher.threads();
        ${close}
        console.log(JSON.stringify({ hash, tid: thread?.tid }));
      `);
      expect(run.error).toBeUndefined(); // not killed by the timeout
      expect(run.status).toBe(0);
      const { hash, tid } = JSON.parse(run.stdout) as { hash: string; tid: number };
      expect(hash).toMatch(/^\$argon2id\$/);
      // The hashing process (its thread ids go with it) has ended with its parent.
      const deadline = Date.now() + 5000;
      while (running(tid) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(running(tid)).toBe(false);
      expect(run.stderr).toBe('');
    },
  );

  it('ends quietly when its parent leaves before it has started', () => {
    const run = runScript(`
      void hasher.hash('the parent leaves before the hashing process is ready');
      setTimeout(() => process.exit(0), 5);
    `);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
  });
});
