import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { BlockList } from 'node:net';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { PASSWORD_MIN_LENGTH, PASSWORD_MIN_LENGTH_FLOOR } from '@latchkey/shared';
import { z } from 'zod';
import { addressList } from './ip-address.ts';
import { keyGuessesLog10 } from './auth/strength.ts';
import { mfaKeyRing, type MfaKeyRing } from './mfa/keys.ts';

/**
 * Keys published in documentation, tutorials and framework templates: anyone can sign with them.
 * Compared trimmed and lower-cased. The strength floor below refuses most word-made keys anyway;
 * random-looking published keys are caught only here.
 */
const PLACEHOLDER_SECRETS = new Set([
  'your_secret_key',
  'your-secret-key',
  'secret',
  'secretkey',
  'secret_key',
  'mysecret',
  'changeme',
  'change-me',
  'change_me',
  'changethis',
  'supersecret',
  'jwt_secret',
  'jwt-secret',
  // jwt.io's debugger, the old sample and the current one.
  'your-256-bit-secret',
  'your-384-bit-secret',
  'your-512-bit-secret',
  'a-string-secret-at-least-256-bits-long',
  'ys1zdhjpbmctc2vjcmv0lwf0lwxlyxn0lti1ni1iaxrzlwxvbmc=', // the same, base64-encoded
  // The FastAPI OAuth2/JWT tutorial's SECRET_KEY.
  '09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7',
  // The Spring Boot 3 JWT tutorial's key, copied into many projects.
  '404e635266556a586e3272357538782f413f4428472b4b6250645367566b5970',
  // Hasura's JWT documentation and docker-compose examples.
  '3ek6fd+o0+c7tzbnvfjpmkndi2yaraakzqlk8o2ikoxqu4nf7edah8s3twphwrdwt6r',
  // The Supabase CLI's local development JWT secret.
  'super-secret-jwt-token-with-at-least-32-characters-long',
  // NestJS's authentication guide.
  'do not use this value. instead, create a complex secret and keep it safe outside of the source code.',
]);

/**
 * The fewest guesses (log10, see keyGuessesLog10) a signing key must cost. Random keys clear it
 * with room: 32 random bytes score ~10^42 in base64url (10^36 the lowest of 300 draws) and ~10^63
 * in hex; 32 characters of hex or base64 (16 or 24 random bytes) 10^28 at the lowest. Words
 * between separators, sequences and repeats score ≤ 10^25 (`a-string-secret-at-least-256-bits-long`
 * 10^19.5); ten or more words run together can reach 10^30 and pass. 10^26 guesses at 10^13 HMACs
 * a second take ~3 × 10^5 years.
 */
export const KEY_MIN_GUESSES_LOG10 = 26;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

/** OWASP's argon2id minimum (m = 19 MiB, t = 2, p = 1): the defaults and the floor. */
export const ARGON2_DEFAULTS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** The largest LOGIN_MAX_FAILURES and LOGIN_MAX_PER_CLIENT. */
export const MAX_THROTTLE_LIMIT = 1_000;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).default('./.latchkey'),
  JWT_SECRET: z.string().optional(),
  JWT_PREVIOUS_SECRETS: z.string().optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).default('latchkey'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  ACCESS_TOKEN_TTL: int(30, 86_400).default(900),
  REFRESH_TOKEN_TTL: int(60, 31_536_000).default(2_592_000),
  REFRESH_IDLE_TTL: int(60, 31_536_000).default(604_800),
  PASSWORD_MIN_LENGTH: int(PASSWORD_MIN_LENGTH_FLOOR, 64).default(PASSWORD_MIN_LENGTH),
  // Each throttle key keeps the times of up to its limit of attempts: the cap bounds a row.
  LOGIN_MAX_FAILURES: int(1, MAX_THROTTLE_LIMIT).default(10),
  LOGIN_LOCKOUT_SECONDS: int(1, 31_536_000).default(900),
  LOGIN_MAX_PER_CLIENT: int(0, MAX_THROTTLE_LIMIT).default(100),
  TRUST_PROXY: z.string().default('off'),
  CORS_ORIGINS: z.string().default(''),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  MFA_ISSUER: z.string().min(1).max(64).default('Latchkey'),
  // Beyond the contract: tuning knobs with safe defaults.
  MFA_ENCRYPTION_KEY: z.string().optional(),
  MFA_PREVIOUS_ENCRYPTION_KEYS: z.string().optional(),
  ARGON2_MEMORY_KIB: int(19_456, 4_194_304).default(ARGON2_DEFAULTS.memoryCost),
  ARGON2_TIME_COST: int(2, 100).default(ARGON2_DEFAULTS.timeCost),
  ARGON2_PARALLELISM: int(1, 16).default(ARGON2_DEFAULTS.parallelism),
  HASH_CONCURRENCY: int(0, 256).default(0),
  WORKERS: int(0, 256).default(1),
  HASH_QUEUE: int(0, 10_000).default(64),
  HASH_NICE: int(0, 19).default(10),
  HASH_MAX_WAIT_MS: int(100, 60_000).default(3000),
  AUDIT_RETENTION_DAYS: int(1, 36_500).default(365),
  REFRESH_GRACE_SECONDS: int(0, 60).default(10),
  MAX_BODY_BYTES: int(1_024, 10_485_760).default(65_536),
  // How long a live session is remembered without asking the database (0 = ask every time).
  // Revocations reach memory through the journal within 300 ms whatever this is (decision 011);
  // it must stay below the journal's one-day retention.
  SESSION_CACHE_MS: int(0, 3_600_000).default(300_000),
});

/**
 * Who may name the client in X-Forwarded-For: the nearest `hops` proxies, whoever they are (0 =
 * nobody: the socket address is the client), or only peers in `proxies`.
 */
export type TrustProxy = { hops: number } | { proxies: BlockList };

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export interface JwtKey {
  kid: string;
  secret: Uint8Array;
}

export interface Config {
  production: boolean;
  port: number;
  host: string;
  databaseUrl: string;
  dataDir: string;
  publicUrl: string;
  /** False when PUBLIC_URL was derived from HOST and PORT (the server fixes it once it listens). */
  publicUrlConfigured: boolean;
  jwt: {
    signing: JwtKey;
    /** Signing key first, then previous keys; verification selects by `kid`. */
    verification: readonly JwtKey[];
    issuer: string;
    audience: string;
    /** True when the signing key was generated into DATA_DIR (development only). */
    generated: boolean;
  };
  accessTokenTtl: number;
  refreshTokenTtl: number;
  refreshIdleTtl: number;
  refreshGraceSeconds: number;
  passwordMinLength: number;
  loginMaxFailures: number;
  loginLockoutSeconds: number;
  loginMaxPerClient: number;
  trustProxy: TrustProxy;
  corsOrigins: readonly string[];
  logLevel: (typeof logLevels)[number];
  argon2: Argon2Params;
  /** Argon2 computations allowed at once (0 in the environment = one per core). */
  hashConcurrency: number;
  /** Server processes (node:cluster workers) sharing the port; 1 = this process alone. */
  workers: number;
  hashQueue: number;
  /** Niceness of the password-hashing threads: the event loop keeps priority on a busy core. */
  hashNice: number;
  /** Longest expected wait for a hashing thread before logins are refused at once. */
  hashMaxWaitMs: number;
  auditRetentionDays: number;
  maxBodyBytes: number;
  /** How long a live-session answer may be reused (0 = ask the database every time). */
  sessionCacheMs: number;
  mfa: {
    /** Shown in authenticator apps (MFA_ISSUER). */
    issuer: string;
    /** Keys sealing TOTP secrets at rest (mfa/keys.ts). */
    ring: MfaKeyRing;
  };
}

/** The `kid` of a key: a short digest, so it names the key without revealing it. */
export function keyId(secret: Uint8Array): string {
  return createHash('sha256')
    .update('latchkey-kid\0')
    .update(secret)
    .digest('base64url')
    .slice(0, 16);
}

const GUESSABLE = 'is guessable (made of words, sequences or repeats)';

/** Why a key is unacceptable, or null when it is fine. Never quotes the key. */
export function weakSecretReason(value: string): string | null {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes < 32) return `is ${bytes} bytes; at least 32 are required`;
  if (new Set(value).size === 1) return 'is a single repeated character';
  if (PLACEHOLDER_SECRETS.has(value.trim().toLowerCase())) return 'is a published placeholder';
  if (keyGuessesLog10(value) < KEY_MIN_GUESSES_LOG10) return GUESSABLE;
  return null;
}

/** JWT_SECRET checked, or null when it is unset and a development key will be used. */
function givenSigningSecret(value: string | undefined, production: boolean): string | null {
  if (value !== undefined && value !== '') {
    const reason = weakSecretReason(value);
    const hint = reason === GUESSABLE ? '; generate one with pnpm latchkey keys generate' : '';
    if (reason) throw new ConfigError(`JWT_SECRET ${reason}${hint}`);
    return value;
  }
  if (production) throw new ConfigError('JWT_SECRET is required when NODE_ENV=production');
  return null;
}

/**
 * The development signing key kept in `DATA_DIR/jwt-secret`: read when it exists, otherwise
 * generated and written there (mode 0600, creating DATA_DIR). Throws ConfigError for a stored key
 * that is weak, naming the file and never the key.
 */
function loadOrCreateDevelopmentKey(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    const reason = weakSecretReason(stored);
    if (reason) throw new ConfigError(`the key in ${file} ${reason}; delete it`);
    return stored;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return secret;
}

const toKey = (s: string): JwtKey => {
  const bytes = new TextEncoder().encode(s);
  return { kid: keyId(bytes), secret: bytes };
};

/**
 * TRUST_PROXY: `off`/`false`, `on`/`true` (one hop), a hop count, or a comma-separated list of
 * proxy addresses and CIDR ranges. Throws ConfigError naming the first entry that is none of these.
 */
function parseTrustProxy(value: string): TrustProxy {
  const word = value.trim().toLowerCase();
  if (word === 'off' || word === 'false') return { hops: 0 };
  if (word === 'on' || word === 'true') return { hops: 1 };
  if (/^\d{1,2}$/.test(word)) return { hops: Number(word) };
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const parsed = addressList(entries);
  if ('bad' in parsed) {
    throw new ConfigError(
      `TRUST_PROXY entry ${JSON.stringify(parsed.bad)} is not off, on, a hop count, an IP address or a CIDR range`,
    );
  }
  if (entries.length === 0) throw new ConfigError('TRUST_PROXY lists no proxy');
  return { proxies: parsed.list };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const name = issue.path.join('.') || 'environment';
  return `${name} ${issue.message.replace(/^Invalid input: /, '').toLowerCase()}`;
}

/**
 * The configuration as the environment gives it: everything but a development signing key, which
 * withSigningKey adds at start-up. `jwt.signing` is null exactly when `jwt.generated` is true.
 */
export type ParsedConfig = Readonly<
  Omit<Config, 'jwt' | 'mfa'> & {
    jwt: Readonly<
      Omit<Config['jwt'], 'signing' | 'verification'> & {
        signing: JwtKey | null;
        previous: readonly JwtKey[];
      }
    >;
    /** MFA_ENCRYPTION_KEY then MFA_PREVIOUS_ENCRYPTION_KEYS; the ring needs the signing key too. */
    mfa: Readonly<{ issuer: string; explicitKeys: readonly Uint8Array[] }>;
  }
>;

/**
 * Parses the environment once, and only parses: no file is read or written (see withSigningKey).
 * Throws ConfigError with a one-line message naming the variable. The only reader of process.env
 * in the server. The value is frozen.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): ParsedConfig {
  // An empty variable (`PORT=` in a compose file) means unset, not zero.
  const given = Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== '');
  const parsed = envSchema.safeParse(Object.fromEntries(given));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ConfigError(first ? describeIssue(first) : 'invalid environment');
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const databaseUrl = e.DATABASE_URL ?? `pglite:${join(resolve(e.DATA_DIR), 'pgdata')}`;
  const cores = availableParallelism();
  const workers = e.WORKERS === 0 ? cores : e.WORKERS;
  if (workers > 1 && databaseUrl.startsWith('pglite:')) {
    throw new ConfigError(
      'WORKERS above 1 needs DATABASE_URL=postgres://… (the embedded database serves one process)',
    );
  }
  const dataDir = resolve(e.DATA_DIR);
  const publicUrl = new URL(e.PUBLIC_URL ?? `http://${e.HOST}:${e.PORT}`).origin;
  const secret = givenSigningSecret(e.JWT_SECRET, production);
  const previous = (e.JWT_PREVIOUS_SECRETS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const [i, old] of previous.entries()) {
    const reason = weakSecretReason(old);
    if (reason) throw new ConfigError(`JWT_PREVIOUS_SECRETS entry ${i + 1} ${reason}`);
  }
  if (e.MFA_PREVIOUS_ENCRYPTION_KEYS && !e.MFA_ENCRYPTION_KEY) {
    throw new ConfigError('MFA_PREVIOUS_ENCRYPTION_KEYS needs MFA_ENCRYPTION_KEY');
  }
  const mfaKeys = [e.MFA_ENCRYPTION_KEY ?? '', ...(e.MFA_PREVIOUS_ENCRYPTION_KEYS ?? '').split(',')]
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const [i, key] of mfaKeys.entries()) {
    const reason = weakSecretReason(key);
    const name = i === 0 ? 'MFA_ENCRYPTION_KEY' : `MFA_PREVIOUS_ENCRYPTION_KEYS entry ${i}`;
    if (reason) throw new ConfigError(`${name} ${reason}`);
  }
  const corsOrigins: string[] = [];
  for (const origin of e.CORS_ORIGINS.split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    let parsedOrigin: URL;
    try {
      parsedOrigin = new URL(origin);
    } catch {
      throw new ConfigError(`CORS_ORIGINS entry ${JSON.stringify(origin)} is not an origin`);
    }
    if (parsedOrigin.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError(`CORS_ORIGINS entry ${JSON.stringify(origin)} is not an exact origin`);
    }
    corsOrigins.push(parsedOrigin.origin);
  }
  const trustProxy = parseTrustProxy(e.TRUST_PROXY);

  return Object.freeze({
    production,
    port: e.PORT,
    host: e.HOST,
    databaseUrl,
    dataDir,
    publicUrl,
    publicUrlConfigured: e.PUBLIC_URL !== undefined,
    jwt: Object.freeze({
      signing: secret === null ? null : toKey(secret),
      previous: Object.freeze(previous.map(toKey)),
      issuer: e.JWT_ISSUER ?? publicUrl,
      audience: e.JWT_AUDIENCE,
      generated: secret === null,
    }),
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    refreshTokenTtl: e.REFRESH_TOKEN_TTL,
    refreshIdleTtl: e.REFRESH_IDLE_TTL,
    refreshGraceSeconds: e.REFRESH_GRACE_SECONDS,
    passwordMinLength: e.PASSWORD_MIN_LENGTH,
    loginMaxFailures: e.LOGIN_MAX_FAILURES,
    loginLockoutSeconds: e.LOGIN_LOCKOUT_SECONDS,
    loginMaxPerClient: e.LOGIN_MAX_PER_CLIENT,
    trustProxy,
    corsOrigins: Object.freeze(corsOrigins),
    logLevel: e.LOG_LEVEL,
    argon2: Object.freeze({
      memoryCost: e.ARGON2_MEMORY_KIB,
      timeCost: e.ARGON2_TIME_COST,
      parallelism: e.ARGON2_PARALLELISM,
    }),
    // Workers share the cores: by default each hashes on its share of them.
    hashConcurrency:
      e.HASH_CONCURRENCY === 0 && workers > 1
        ? Math.max(1, Math.floor(cores / workers))
        : e.HASH_CONCURRENCY,
    workers,
    hashQueue: e.HASH_QUEUE,
    hashNice: e.HASH_NICE,
    hashMaxWaitMs: e.HASH_MAX_WAIT_MS,
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    sessionCacheMs: e.SESSION_CACHE_MS,
    mfa: Object.freeze({
      issuer: e.MFA_ISSUER,
      explicitKeys: Object.freeze(mfaKeys.map((k) => new TextEncoder().encode(k))),
    }),
  });
}

/**
 * The configuration the server runs with: `parsed` with its signing key, JWT_SECRET's or, when
 * that is unset (never in production), the development key from DATA_DIR, loaded or created (see
 * loadOrCreateDevelopmentKey). Called once at start-up, after loadConfig. Frozen.
 */
export function withSigningKey(parsed: ParsedConfig): Config {
  const { signing, previous, ...jwt } = parsed.jwt;
  const key = signing ?? toKey(loadOrCreateDevelopmentKey(parsed.dataDir));
  const { issuer, explicitKeys } = parsed.mfa;
  const jwtSecrets = [key, ...previous].map((k) => k.secret);
  return Object.freeze({
    ...parsed,
    jwt: Object.freeze({ ...jwt, signing: key, verification: [key, ...previous] }),
    mfa: Object.freeze({ issuer, ring: mfaKeyRing(explicitKeys, jwtSecrets) }),
  });
}
