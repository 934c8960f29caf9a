import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, TEST_SECRET, uniqueName } from '../../test/helpers.ts';

/**
 * The real CLI as a child process. On the postgres project it runs against PostgreSQL (a schema
 * of its own); the lock test always uses the embedded database, which is what the lock guards.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA_DIR = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
const SCHEMA = `lk_cli_${randomBytes(6).toString('hex')}`;
const PG_URL =
  process.env.LATCHKEY_TEST_DB === 'postgres' ? process.env.TEST_DATABASE_URL : undefined;
const BASE_ENV = {
  DATA_DIR,
  JWT_SECRET: TEST_SECRET,
  LOG_LEVEL: 'silent',
  PATH: process.env.PATH ?? '',
};
/** Each run opens the database (PGlite: seconds); a loaded machine needs the headroom. */
const TIMEOUT = 120_000;
const STACK = /^\s+at .+[:(]/m;

async function admin(query: string) {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(query);
  await client.end();
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], stdin = '', embedded = false): Promise<Run> {
  const dbEnv =
    PG_URL && !embedded
      ? {
          DATABASE_URL: `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=-c%20search_path%3D${SCHEMA}`,
        }
      : {};
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...BASE_ENV, ...dbEnv },
  });
  child.stdin.end(stdin);
  return collect(child);
}

function collect(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => void (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => void (stderr += c.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectOk(run: Run): string[] {
  expect(run.stderr, run.stderr).toBe('');
  expect(run.code).toBe(0);
  return run.stdout.split('\n').filter(Boolean);
}

/** Exit 1 and exactly one line on stderr, no stack trace. */
function expectRefused(run: Run, reason: RegExp) {
  expect(run.code).toBe(1);
  expect(run.stderr).not.toMatch(STACK);
  expect(run.stderr.endsWith('\n')).toBe(true);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(/^latchkey: /);
  expect(run.stderr).toMatch(reason);
}

beforeAll(async () => {
  if (PG_URL) await admin(`create schema ${SCHEMA}`);
  expect(expectOk(await cli(['migrate']))).toEqual(['migrations applied']);
}, 120_000);

afterAll(async () => {
  if (PG_URL) await admin(`drop schema ${SCHEMA} cascade`);
  rmSync(DATA_DIR, { recursive: true, force: true });
});

describe('latchkey CLI', () => {
  it(
    'creates a user from stdin, refuses a duplicate, lists it',
    async () => {
      const name = uniqueName('alice');
      const created = expectOk(await cli(['user', 'create', name.toUpperCase()], `${PASSWORD}\n`));
      expect(created).toEqual([expect.stringMatching(new RegExp(`^created ${name} \\(\\S+\\)$`))]);
      expectRefused(await cli(['user', 'create', name], `${PASSWORD}\n`), /already taken/);
      const list = expectOk(await cli(['user', 'list']));
      const row = list.find((line) => line.startsWith(`${name}\t`));
      expect(row?.split('\t')).toEqual([name, expect.any(String), expect.any(String), 'enabled']);
    },
    TIMEOUT,
  );

  it(
    'refuses a weak password with one line that gives the reason',
    async () => {
      expectRefused(
        await cli(['user', 'create', uniqueName('weak')], 'password1234567\n'),
        /^latchkey: This is a common password with digits added\n$/,
      );
    },
    TIMEOUT,
  );

  it(
    'disables, enables and sets a password, each audited',
    async () => {
      const name = uniqueName('carol');
      expectOk(await cli(['user', 'create', name], `${PASSWORD}\n`));
      expect(expectOk(await cli(['user', 'disable', name]))).toEqual([
        `disabled ${name}; sessions ended`,
      ]);
      expect(expectOk(await cli(['user', 'enable', name]))).toEqual([`enabled ${name}`]);
      const newPassword = `${PASSWORD} and then some`;
      expect(expectOk(await cli(['user', 'set-password', name], `${newPassword}\n`))).toEqual([
        `password set for ${name}; their sessions have ended`,
      ]);
      const audit = expectOk(await cli(['audit', '--user', name]));
      const events = audit.map((line) => line.split('\t')[1]);
      expect(events).toEqual(expect.arrayContaining(['user.created', 'user.password_set']));
      expect(audit.every((line) => line.split('\t')[3] === name)).toBe(true);
      expect(audit.join('\n')).not.toContain(newPassword);
    },
    TIMEOUT,
  );

  it(
    'revokes sessions and deletes; an unknown user is refused',
    async () => {
      const name = uniqueName('dave');
      expectOk(await cli(['user', 'create', name], `${PASSWORD}\n`));
      expect(expectOk(await cli(['sessions', 'revoke', name]))).toEqual([
        `revoked 0 session(s) of ${name}`,
      ]);
      expect(expectOk(await cli(['user', 'delete', name]))).toEqual([`deleted ${name}`]);
      expectRefused(await cli(['sessions', 'revoke', name]), new RegExp(`no user named "${name}"`));
    },
    TIMEOUT,
  );

  it(
    'resets a second factor, ending sessions, audited; re-seals TOTP secrets',
    async () => {
      const name = uniqueName('erin');
      expectOk(await cli(['user', 'create', name], `${PASSWORD}\n`));
      expect(expectOk(await cli(['user', 'reset-mfa', name]))).toEqual([
        `no second factor was set for ${name}; their sessions have ended`,
      ]);
      const audit = expectOk(await cli(['audit', '--user', name]));
      expect(audit.map((line) => line.split('\t')[1])).toContain('mfa.reset');
      expectRefused(await cli(['user', 'reset-mfa', `${name}-x`]), /no user named/);
      expect(expectOk(await cli(['mfa', 'rewrap']))).toEqual([
        're-sealed 0 TOTP secret(s) with the current key',
      ]);
    },
    TIMEOUT,
  );

  it(
    'prints a new 256-bit key and refuses unknown commands',
    async () => {
      const [a, b, unknown] = await Promise.all([
        cli(['keys', 'generate']),
        cli(['keys', 'generate']),
        cli(['frobnicate', 'now']),
      ]);
      const keys = [...expectOk(a), ...expectOk(b)];
      expect(keys).toHaveLength(2);
      for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(keys[0]).not.toBe(keys[1]);
      expectRefused(unknown, /unknown command/);
    },
    TIMEOUT,
  );
});

describe('the embedded database lock', () => {
  it('refuses while a running server holds DATA_DIR, with one line', async () => {
    const server = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
      cwd: ROOT,
      env: { ...BASE_ENV, PORT: '0', LOG_LEVEL: 'info' },
    });
    const exited = collect(server);
    try {
      await listening(server);
      const [list, create] = await Promise.all([
        cli(['user', 'list'], '', true),
        cli(['user', 'create', uniqueName('locked')], `${PASSWORD}\n`, true),
      ]);
      for (const run of [list, create]) expectRefused(run, /database is in use/);
    } finally {
      server.kill('SIGTERM');
    }
    const { code, stderr } = await exited;
    expect(code).toBe(0);
    expect(stderr).not.toMatch(STACK);
  }, 120_000);
});

/** Resolves on the server's "listening" JSON log line on stdout. */
function listening(child: ChildProcess): Promise<void> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening`)));
    lines.on('line', (line) => {
      try {
        if ((JSON.parse(line) as { msg?: string }).msg === 'listening') resolve();
      } catch {
        // Not a JSON log line.
      }
    });
  });
}
