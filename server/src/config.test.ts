import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  keyId,
  loadConfig,
  MAX_THROTTLE_LIMIT,
  weakSecretReason,
  withSigningKey,
} from './config.ts';
import { run } from './cli/commands.ts';

const GOOD_SECRET = 'Vq3mY8k2LxN0pR7tW4zB6cD1fH9jK5sA-_eGuIoQwEr'; // 43 characters
const FASTAPI_SAMPLE_KEY = '09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7';
const JWT_IO_SAMPLE_KEY = 'a-string-secret-at-least-256-bits-long';
const GUESSABLE = 'is guessable (made of words, sequences or repeats)';
const GUESSABLE_KEY = `JWT_SECRET ${GUESSABLE}; generate one with pnpm latchkey keys generate`;
const tempDir = () => mkdtempSync(join(tmpdir(), 'latchkey-config-'));

function configError(env: Record<string, string>): ConfigError {
  let caught: unknown = null;
  try {
    withSigningKey(loadConfig({ DATA_DIR: tempDir(), ...env }));
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const error = caught as ConfigError;
  expect(error.code).toBe('CONFIG_INVALID');
  expect(error.message).not.toMatch(/[\r\n]/);
  return error;
}

describe('WORKERS', () => {
  it('refuses more than one worker on the embedded database, naming the variable', () => {
    expect(configError({ JWT_SECRET: GOOD_SECRET, WORKERS: '2' }).message).toMatch(
      /^WORKERS above 1 needs DATABASE_URL=postgres:/,
    );
  });

  it('gives each worker its share of the cores for hashing', () => {
    const config = loadConfig({
      DATA_DIR: tempDir(),
      JWT_SECRET: GOOD_SECRET,
      DATABASE_URL: 'postgres://localhost/latchkey',
      WORKERS: '64',
    });
    expect(config.workers).toBe(64);
    expect(config.hashConcurrency).toBe(1);
    const one = loadConfig({ DATA_DIR: tempDir(), JWT_SECRET: GOOD_SECRET });
    expect(one.workers).toBe(1);
    expect(one.hashConcurrency).toBe(0); // one thread per core, decided by the hasher
  });
});

describe('defaults', () => {
  it('match the contract table', () => {
    const config = loadConfig({ DATA_DIR: tempDir(), JWT_SECRET: GOOD_SECRET });
    expect(config).toMatchObject({
      production: false,
      port: 3000,
      host: '127.0.0.1',
      publicUrl: 'http://127.0.0.1:3000',
      accessTokenTtl: 900,
      refreshTokenTtl: 2_592_000,
      refreshIdleTtl: 604_800,
      passwordMinLength: 15,
      loginMaxFailures: 10,
      loginLockoutSeconds: 900,
      loginMaxPerClient: 100,
      trustProxy: { hops: 0 },
      corsOrigins: [],
      logLevel: 'info',
      jwt: { issuer: 'http://127.0.0.1:3000', audience: 'latchkey', generated: false },
    });
    expect(config.argon2).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(config.databaseUrl).toBe(`pglite:${join(config.dataDir, 'pgdata')}`);
  });

  it('derive the issuer and public URL from HOST and PORT', () => {
    const config = loadConfig({
      DATA_DIR: tempDir(),
      JWT_SECRET: GOOD_SECRET,
      HOST: 'localhost',
      PORT: '8080',
    });
    expect([config.publicUrl, config.jwt.issuer]).toEqual([
      'http://localhost:8080',
      'http://localhost:8080',
    ]);
  });

  // An empty variable (`LOGIN_MAX_PER_CLIENT=` in a compose file) must not silently become 0:
  // for LOGIN_MAX_PER_CLIENT 0 turns the per-client limit off, for PORT it means a random port.
  it.each([
    ['LOGIN_MAX_PER_CLIENT', 'loginMaxPerClient', 100],
    ['PORT', 'port', 3000],
  ] as const)('an empty %s means its default, not 0', (name, field, expected) => {
    const config = loadConfig({ DATA_DIR: tempDir(), JWT_SECRET: GOOD_SECRET, [name]: '' });
    expect(config[field]).toBe(expected);
  });
});

describe('TRUST_PROXY', () => {
  const trustOf = (value: string) =>
    loadConfig({ DATA_DIR: tempDir(), JWT_SECRET: GOOD_SECRET, TRUST_PROXY: value }).trustProxy;

  it.each([
    ['off', 0],
    ['FALSE', 0],
    ['0', 0],
    ['on', 1],
    ['true', 1],
    ['3', 3],
  ])('reads %s as %i hops', (value, hops) => {
    expect(trustOf(value)).toEqual({ hops });
  });

  it('reads a list of addresses and CIDR ranges, IPv4 and IPv6', () => {
    const trust = trustOf(' 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::1');
    if (!('proxies' in trust)) throw new Error('expected a proxy list');
    expect(trust.proxies.check('10.200.1.1', 'ipv4')).toBe(true);
    expect(trust.proxies.check('192.0.2.7', 'ipv4')).toBe(true);
    expect(trust.proxies.check('192.0.2.8', 'ipv4')).toBe(false);
    expect(trust.proxies.check('2001:db8:ffff::1', 'ipv6')).toBe(true);
    expect(trust.proxies.check('2001:db9::1', 'ipv6')).toBe(false);
    expect(trust.proxies.check('::1', 'ipv6')).toBe(true);
  });

  it.each([
    'yes',
    '100',
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0.1,proxy.internal',
    '10.0.0/8',
    ',',
  ])('stops the server on %j with one line naming TRUST_PROXY', (value) => {
    expect(configError({ JWT_SECRET: GOOD_SECRET, TRUST_PROXY: value }).message).toMatch(
      /^TRUST_PROXY /,
    );
  });
});

describe('throttle limits', () => {
  it.each(['LOGIN_MAX_FAILURES', 'LOGIN_MAX_PER_CLIENT'])(
    'caps %s at MAX_THROTTLE_LIMIT, naming the variable',
    (name) => {
      const at = loadConfig({ DATA_DIR: tempDir(), JWT_SECRET: GOOD_SECRET, [name]: '1000' });
      expect([at.loginMaxFailures, at.loginMaxPerClient]).toContain(MAX_THROTTLE_LIMIT);
      expect(configError({ JWT_SECRET: GOOD_SECRET, [name]: '1001' }).message).toMatch(
        new RegExp(`^${name} `),
      );
    },
  );
});

describe('the signing key in production', () => {
  it.each([
    ['absent', undefined, 'JWT_SECRET is required when NODE_ENV=production'],
    ['empty', '', 'JWT_SECRET is required when NODE_ENV=production'],
    ['31 bytes', 'k'.repeat(30) + 'z', 'JWT_SECRET is 31 bytes; at least 32 are required'],
    ["'a' × 40", 'a'.repeat(40), 'JWT_SECRET is a single repeated character'],
    ['your_secret_key', 'your_secret_key', 'JWT_SECRET is 15 bytes; at least 32 are required'],
    ['secret', 'secret', 'JWT_SECRET is 6 bytes; at least 32 are required'],
    ['changeme', 'changeme', 'JWT_SECRET is 8 bytes; at least 32 are required'],
    ['the FastAPI sample key', FASTAPI_SAMPLE_KEY, 'JWT_SECRET is a published placeholder'],
    [
      'the FastAPI sample key upper-cased',
      FASTAPI_SAMPLE_KEY.toUpperCase(),
      'JWT_SECRET is a published placeholder',
    ],
    ["jwt.io's sample key", JWT_IO_SAMPLE_KEY, 'JWT_SECRET is a published placeholder'],
    [
      "jwt.io's sample key with spaces around, upper-cased",
      ` ${JWT_IO_SAMPLE_KEY.toUpperCase()} `,
      'JWT_SECRET is a published placeholder',
    ],
    [
      "the Spring Boot tutorial's key",
      '404E635266556A586E3272357538782F413F4428472B4B6250645367566B5970',
      'JWT_SECRET is a published placeholder',
    ],
    [
      "the Supabase CLI's key",
      'super-secret-jwt-token-with-at-least-32-characters-long',
      'JWT_SECRET is a published placeholder',
    ],
    [
      "Hasura's documented key",
      '3EK6FD+o0+c7tzBNVfjpMkNDi2yARAAKzQlk8O2IKoxQu4nF7EdAh8s3TwpHwrdWT6R',
      'JWT_SECRET is a published placeholder',
    ],
    ['words and sequences', 'test-signing-key-0123456789-abcdefghijklmnop', GUESSABLE_KEY],
    ['a sentence', 'this is my super secret signing key for production', GUESSABLE_KEY],
    ['a dated name', 'my-company-jwt-secret-key-2024-production-do-not-share', GUESSABLE_KEY],
    ['a word repeated', 'passwordpasswordpasswordpassword', GUESSABLE_KEY],
    ['the alphabet and digits', 'abcdefghijklmnopqrstuvwxyz0123456789', GUESSABLE_KEY],
    ['two characters', 'k'.repeat(30) + 'zz', GUESSABLE_KEY],
    ['a variant of a published key', `${JWT_IO_SAMPLE_KEY}-for-real`, GUESSABLE_KEY],
  ])('refuses to start when it is %s', (_, secret, message) => {
    const env: Record<string, string> = { NODE_ENV: 'production' };
    if (secret !== undefined) env.JWT_SECRET = secret;
    const error = configError(env);
    expect(error.message).toBe(message);
    if (secret) expect(error.message).not.toContain(secret.trim());
  });

  it('accepts keys generate output and random hex or base64 keys', async () => {
    const generated: string[] = [];
    for (let i = 0; i < 20; i++) await run(['keys', 'generate'], (line) => generated.push(line));
    const keys = [
      ...generated,
      ...Array.from({ length: 20 }, () => randomBytes(32).toString('hex')),
      ...Array.from({ length: 20 }, () => randomBytes(32).toString('hex').toUpperCase()),
      ...Array.from({ length: 20 }, () => randomBytes(32).toString('base64')),
      ...Array.from({ length: 20 }, () => randomBytes(48).toString('base64url')),
      // 32 characters of hex hold only 16 random bytes, still far beyond guessing.
      ...Array.from({ length: 20 }, () => randomBytes(16).toString('hex')),
    ];
    expect(generated.every((key) => /^[A-Za-z0-9_-]{43}$/.test(key))).toBe(true);
    expect(keys.filter((key) => weakSecretReason(key) !== null)).toEqual([]);
  });

  it('accepts a good 43-character key, signs with it and names it by keyId', () => {
    const dataDir = tempDir();
    const config = withSigningKey(
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: GOOD_SECRET,
        DATA_DIR: dataDir,
      }),
    );
    const bytes = new TextEncoder().encode(GOOD_SECRET);
    expect(config.production).toBe(true);
    expect(config.jwt.generated).toBe(false);
    expect(Buffer.from(config.jwt.signing.secret).equals(Buffer.from(bytes))).toBe(true);
    expect(config.jwt.signing.kid).toBe(keyId(bytes));
    expect(config.jwt.signing.kid).not.toContain(GOOD_SECRET.slice(0, 8));
    expect(weakSecretReason(GOOD_SECRET)).toBeNull();
  });

  it('refuses a weak previous key and names JWT_PREVIOUS_SECRETS', () => {
    const error = configError({
      JWT_SECRET: GOOD_SECRET,
      JWT_PREVIOUS_SECRETS: `${GOOD_SECRET}x,changeme`,
    });
    expect(error.message).toBe('JWT_PREVIOUS_SECRETS entry 2 is 8 bytes; at least 32 are required');
    const guessable = 'rotated-signing-key-9876543210-zyxwvutsrqpo';
    const second = configError({
      JWT_SECRET: GOOD_SECRET,
      JWT_PREVIOUS_SECRETS: `${JWT_IO_SAMPLE_KEY}, ${guessable}`,
    });
    expect(second.message).toBe('JWT_PREVIOUS_SECRETS entry 1 is a published placeholder');
    const third = configError({ JWT_SECRET: GOOD_SECRET, JWT_PREVIOUS_SECRETS: guessable });
    expect(third.message).toBe(`JWT_PREVIOUS_SECRETS entry 1 ${GUESSABLE}`);
    expect(third.message).not.toContain(guessable);
  });
});

describe('outside production without JWT_SECRET', () => {
  it('generates a key into DATA_DIR/jwt-secret with mode 0600 and reuses it', () => {
    const dataDir = join(tempDir(), 'nested');
    const first = withSigningKey(loadConfig({ DATA_DIR: dataDir }));
    const file = join(dataDir, 'jwt-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = readFileSync(file, 'utf8').trim();
    expect(stored).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.jwt.generated).toBe(true);
    expect(Buffer.from(first.jwt.signing.secret).toString('utf8')).toBe(stored);

    const second = withSigningKey(loadConfig({ DATA_DIR: dataDir }));
    expect(second.jwt.signing.kid).toBe(first.jwt.signing.kid);
    expect(withSigningKey(loadConfig({ DATA_DIR: tempDir() })).jwt.signing.kid).not.toBe(
      first.jwt.signing.kid,
    );
  });

  it('refuses a stored key that is guessable, naming the file and not the key', () => {
    const dataDir = tempDir();
    const stored = 'this is my super secret signing key for production';
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'jwt-secret'), `${stored}\n`, { mode: 0o600 });
    const error = configError({ DATA_DIR: dataDir });
    expect(error.message).toBe(`the key in ${join(dataDir, 'jwt-secret')} ${GUESSABLE}; delete it`);
    expect(error.message).not.toContain(stored);
  });
});

describe('bad values name the variable on one line', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT expected number, received nan'],
    [{ PORT: '70000' }, 'PORT too big: expected number to be <=65535'],
    [{ PASSWORD_MIN_LENGTH: '7' }, 'PASSWORD_MIN_LENGTH too small: expected number to be >=8'],
    [
      { LOG_LEVEL: 'loud' },
      'LOG_LEVEL invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"',
    ],
    [
      { CORS_ORIGINS: 'https://a.example/path' },
      'CORS_ORIGINS entry "https://a.example/path" is not an exact origin',
    ],
  ])('%o', (env, message) => {
    expect(configError({ JWT_SECRET: GOOD_SECRET, ...env }).message).toBe(message);
  });
});

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function runServer(env: Record<string, string>) {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>(
    (resolve) => {
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      });
    },
  );
}

describe('the real entry point', () => {
  it.each([
    ['no JWT_SECRET', {}, 'JWT_SECRET is required when NODE_ENV=production'],
    ['a placeholder', { JWT_SECRET: FASTAPI_SAMPLE_KEY }, 'JWT_SECRET is a published placeholder'],
    [
      "jwt.io's sample key",
      { JWT_SECRET: JWT_IO_SAMPLE_KEY },
      'JWT_SECRET is a published placeholder',
    ],
  ])('exits non-zero with one line and no stack trace for %s', async (_, extra, reason) => {
    const result = await runServer({ NODE_ENV: 'production', DATA_DIR: tempDir(), ...extra });
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.ms).toBeLessThan(10_000);
    expect(result.stderr).toBe(`latchkey: configuration error: ${reason}\n`);
    expect(result.stdout).toBe('');
  });
});
