/** Child processes of the benchmark: pinned spawning, readiness, RSS sampling and cleanup. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './load.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const children = new Set<ChildProcess>();
const PARENT_WATCH = new URL('./parent-watch.mjs', import.meta.url).href;

/** Whether `taskset` exists; decided once. */
export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

export interface SpawnOptions {
  /** CPU list for taskset ('0', '1'), or null not to pin. */
  cpu: string | null;
  env?: Record<string, string>;
  /** Echo the child's stderr (prefixed) to ours. */
  label: string;
  /** Load the script through tsx (TypeScript sources); false for plain JavaScript. */
  tsx?: boolean;
  /** Start the process at this niceness (`nice -n`), every thread included. */
  nice?: number;
}

/**
 * `node [--import tsx] <script> ...args` (taskset execs node, so the pid is node's own), with
 * parent-watch.mjs preloaded so the child exits when we do.
 */
export function spawnNode(script: string, args: string[], options: SpawnOptions): ChildProcess {
  const loader = options.tsx === false ? [] : ['--import', 'tsx'];
  const node = [process.execPath, ...loader, '--import', PARENT_WATCH, script, ...args];
  const pinned =
    options.cpu !== null && hasTaskset ? ['taskset', '-c', options.cpu, ...node] : node;
  const [command, ...rest] = options.nice
    ? ['nice', '-n', String(options.nice), ...pinned]
    : pinned;
  const child = spawn(command ?? process.execPath, rest, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) =>
    process.stderr.write(`[${options.label}] ${line}\n`),
  );
  return child;
}

/** Kill every child still running. Synchronous, so it also works from an 'exit' handler. */
export function killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

/** Ask a child to stop, then kill it if it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Kill children on exit, on error and on SIGINT/SIGTERM. */
export function installCleanup(): void {
  process.on('exit', () => killAll('SIGKILL'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children\n`);
      killAll('SIGKILL');
      process.exit(130);
    });
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Poll `url` until it answers 200; fail early if the process dies. */
export async function waitReady(url: string, child: ChildProcess, timeoutMs: number, pollMs = 200) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${url}: server exited (${child.exitCode ?? child.signalCode}) before ready`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(pollMs);
  }
  throw new Error(`${url}: not ready after ${timeoutMs / 1000} s`);
}

/** The name the server's password-hashing process gives itself (server/src/auth/hash-process.cjs). */
const HASH_PROCESS = 'latchkey-hash';

/** Processes started by any thread of `pid`, read from /proc/<pid>/task/<tid>/children. */
function childPids(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.flatMap((tid) => {
    try {
      const list = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      return list === '' ? [] : list.split(' ').map(Number);
    } catch {
      return [];
    }
  });
}

/** The server's hashing process (none before its first password operation). */
export function hashProcessPids(pid: number): number[] {
  return childPids(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/comm`, 'utf8').trim() === HASH_PROCESS;
    } catch {
      return false;
    }
  });
}

/** Resident set size of a process in MB, or null when it cannot be read. */
export function rssMb(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** RSS of a server and its hashing process together, in MB; null when the server's is unreadable. */
export function serverRssMb(pid: number): number | null {
  const own = rssMb(pid);
  if (own === null) return null;
  return hashProcessPids(pid).reduce((sum, child) => sum + (rssMb(child) ?? 0), own);
}

/**
 * Samples a server's RSS (with its hashing process) every `everyMs` until stopped; returns the
 * maximum seen (MB).
 */
export function sampleRss(pid: number, everyMs = 100): () => number | null {
  let max: number | null = serverRssMb(pid);
  const timer = setInterval(() => {
    const now = serverRssMb(pid);
    if (now !== null && (max === null || now > max)) max = now;
  }, everyMs);
  return () => {
    clearInterval(timer);
    const last = serverRssMb(pid);
    return last !== null && (max === null || last > max) ? last : max;
  };
}

export interface LoadHandle {
  /** Resolves once the load generator has started sending. */
  started: Promise<void>;
  /** Resolves with the results when the load ends (after its duration, or after stop()). */
  done: Promise<LoadResult>;
  stop(): void;
}

/** Runs bench/load.ts in a child process (pinned to the load core). */
export function startLoad(spec: LoadSpec, cpu: string | null, label: string, nice = 0): LoadHandle {
  const child = spawnNode('bench/load.ts', [JSON.stringify(spec)], { cpu, label, nice });
  let onStart: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (onStart = resolve));
  const done = new Promise<LoadResult>((resolve, reject) => {
    let result: LoadResult | null = null;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const message = JSON.parse(line) as { event: string; result?: LoadResult };
      if (message.event === 'start') onStart();
      if (message.event === 'done' && message.result) result = message.result;
    });
    child.once('close', (code, signal) => {
      onStart();
      if (result) resolve(result);
      else reject(new Error(`load worker ${label} exited (${code ?? signal}) without results`));
    });
  });
  return { started, done, stop: () => void child.kill('SIGTERM') };
}

/** CPU time (user + system) in a /proc stat file so far, in seconds; null if unreadable. */
function statCpuSeconds(path: string): number | null {
  try {
    const stat = readFileSync(path, 'utf8');
    // Fields after "(comm)": state is [0], utime [11], stime [12], in clock ticks (100 Hz).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** CPU time a server has used so far, its hashing process included, in seconds; null if unreadable. */
export function cpuSeconds(pid: number): number | null {
  const own = statCpuSeconds(`/proc/${pid}/stat`);
  if (own === null) return null;
  return hashProcessPids(pid).reduce(
    (sum, c) => sum + (statCpuSeconds(`/proc/${c}/stat`) ?? 0),
    own,
  );
}

/** CPU seconds (user + system) of a server's threads so far, split by what they do. */
export interface ThreadCpu {
  /** The main thread: the event loop (and PGlite, which runs on it). */
  eventLoop: number;
  /**
   * The hashing process, all of it (argon2 on its pool threads, named `latchkey-hash`, and the
   * little else it does: receiving jobs, V8's helpers); see server/src/auth/hash-process.cjs.
   */
  hash: number;
  /** Everything else in the server process: V8's GC and compiler helpers, libuv's pool. */
  other: number;
}

export function threadCpu(pid: number): ThreadCpu | null {
  const sum: ThreadCpu = { eventLoop: 0, hash: 0, other: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  for (const tid of tids) {
    // null: the thread ended meanwhile
    const seconds = statCpuSeconds(`/proc/${pid}/task/${tid}/stat`) ?? 0;
    if (tid === String(pid)) sum.eventLoop += seconds;
    else sum.other += seconds;
  }
  for (const child of hashProcessPids(pid)) sum.hash += statCpuSeconds(`/proc/${child}/stat`) ?? 0;
  return sum;
}

/**
 * Waits until every process uses less than `maxCores` of a core over a `windowMs` window, so work
 * left over from one scenario (e.g. logins queued by a flood) does not run during the next one.
 * Returns the seconds waited (gives up after `timeoutMs`).
 */
export async function waitIdle(pids: number[], maxCores = 0.1, windowMs = 500, timeoutMs = 60_000) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const before = pids.map(cpuSeconds);
    await sleep(windowMs);
    const busy = pids.some((pid, i) => {
      const a = before[i];
      const b = cpuSeconds(pid);
      return a != null && b !== null && (b - a) / (windowMs / 1000) > maxCores;
    });
    if (!busy) break;
  }
  return (Date.now() - started) / 1000;
}
