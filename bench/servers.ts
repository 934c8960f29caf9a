/** Starts the two servers under test and obtains a valid token from each. */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnNode, stopChild, waitReady } from './procs.ts';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 180_000;

export interface RunningServer {
  name: string;
  url: string;
  child: ChildProcess;
  pid: number;
  token: string;
  /** The environment the server was started with (Latchkey only; tokens are minted from it). */
  env: Record<string, string>;
  /** JSON body that logs in successfully. */
  loginBody: string;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (released right away; good enough on a quiet loopback). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function postJson(url: string, body: string): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

function accessToken(reply: unknown): string {
  const token = (reply as { result?: { data?: { accessToken?: unknown } } }).result?.data
    ?.accessToken;
  if (typeof token !== 'string') throw new Error('login reply has no accessToken');
  return token;
}

/**
 * What the benchmark changes from the server's defaults (everything else, LOG_LEVEL=info
 * included, is the default): the login throttle is effectively off, so the login scenarios measure
 * hashing rather than refusals, and access tokens outlive the whole run.
 */
export const LATCHKEY_OVERRIDES = {
  LOGIN_MAX_FAILURES: '1000',
  LOGIN_MAX_PER_CLIENT: '0',
  ACCESS_TOKEN_TTL: '86400',
} as const;

export async function startLatchkey(options: {
  database: string;
  cpu: string | null;
  /** Extra environment (e.g. SESSION_CACHE_MS=0 to check the session on every request). */
  env?: Record<string, string>;
  name?: string;
}): Promise<RunningServer> {
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    PORT: String(port),
    HOST,
    DATABASE_URL: options.database,
    DATA_DIR: dataDir,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ...LATCHKEY_OVERRIDES,
    ...options.env,
  };
  // The built server, as `pnpm start` runs it (run.ts builds it first). Its log lines (one per
  // request at the default level) go to a pipe the benchmark drains, as under a process manager.
  const child = spawnNode('server/dist/bundle/main.js', [], {
    cpu: options.cpu,
    label: options.name ?? 'latchkey',
    tsx: false,
    env,
  });
  child.stdout?.resume();
  const cleanupDir = () => rmSync(dataDir, { recursive: true, force: true });
  process.once('exit', cleanupDir);
  await waitReady(`${url}/readyz`, child, READY_TIMEOUT_MS);

  // Two users: the login scenarios sign one in thousands of times, and each sign-in beyond the
  // live-session limit ends that user's oldest session — the `me` token's must not be among them.
  const credentials = (role: string) =>
    JSON.stringify({
      username: `bench-${role}-${randomBytes(6).toString('hex')}`,
      password: 'benchmark horse battery staple 7',
    });
  const loginBody = credentials('login');
  const meBody = credentials('me');
  await postJson(`${url}/trpc/register`, loginBody);
  await postJson(`${url}/trpc/register`, meBody);
  const token = accessToken(await postJson(`${url}/trpc/login`, meBody));
  return {
    name: options.name ?? 'latchkey',
    url,
    child,
    pid: child.pid ?? 0,
    token,
    env,
    loginBody,
    stop: async () => {
      await stopChild(child, 5000);
      cleanupDir();
    },
  };
}

export async function startBaseline(options: { cpu: string | null }): Promise<RunningServer> {
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  const child = spawnNode('bench/baseline/server.ts', [], {
    cpu: options.cpu,
    label: 'baseline',
    env: {
      PORT: String(port),
      HOST,
      JWT_SECRET: randomBytes(32).toString('base64url'),
      JWT_ISSUER: url,
      JWT_AUDIENCE: 'bench',
    },
  });
  child.stdout?.resume();
  await waitReady(`${url}/trpc/health`, child, READY_TIMEOUT_MS);
  const loginBody = JSON.stringify({ username: 'baseline-user' });
  const token = accessToken(await postJson(`${url}/trpc/login`, loginBody));
  return {
    name: 'baseline',
    url,
    child,
    pid: child.pid ?? 0,
    token,
    env: {},
    loginBody,
    stop: () => stopChild(child),
  };
}
