import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Argon2Params } from '../config.ts';

type Job = { op: 'hash'; password: string } | { op: 'verify'; hash: string; password: string };
type Reply = { id: number; value: string | boolean } | { id: number; error: string };
interface Ready {
  ready: true;
  /** Kernel ids of the process's thread-pool threads (empty without /proc). */
  pool: number[];
  nice: number;
}

/** A hashing job that could not finish: its process died or argon2 refused. No library text. */
export class HashProcessError extends Error {}

/** A job's result and when it ran: from dispatch to the reply (performance.now() milliseconds). */
export interface Timed<T> {
  value: T;
  startedAt: number;
  ms: number;
}

const SCRIPT = fileURLToPath(new URL('./hash-process.cjs', import.meta.url));

/** One hashing process; runs the jobs it is given at once, on `size` pool threads. */
class HashProcess {
  readonly child: ChildProcess;
  /** The process's pool threads and niceness once it has started; null if it died first. */
  readonly ready: Promise<Ready | null>;
  private readonly pending = new Map<
    number,
    { resolve(v: string | boolean): void; reject(e: Error): void }
  >();
  private nextId = 0;
  /** Jobs given to this process and not yet ended, those waiting for it to start included. */
  private assigned = 0;
  dead = false;

  constructor(size: number, nice: number, params: Argon2Params, onDead: () => void) {
    // Plain JavaScript without the parent's preloads (tsx, test hooks, the benchmark's watcher);
    // a pool of exactly `size` threads (the concurrency the parent keeps to).
    const env: NodeJS.ProcessEnv = { ...process.env, UV_THREADPOOL_SIZE: String(size) };
    delete env.NODE_OPTIONS;
    this.child = fork(SCRIPT, [JSON.stringify({ nice, params })], {
      execArgv: [],
      env,
      serialization: 'json',
    });
    // Referenced while it starts: a job is waiting for it.
    let markReady: (ready: Ready | null) => void = () => {};
    this.ready = new Promise((resolve) => (markReady = resolve));
    this.child.on('message', (message: Ready | Reply) => {
      if ('ready' in message) {
        this.idleRefs(this.pending.size > 0);
        return markReady(message);
      }
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (this.pending.size === 0) this.idleRefs(false);
      if ('error' in message) pending.reject(new HashProcessError('password hashing failed'));
      else pending.resolve(message.value);
    });
    const die = () => {
      if (this.dead) return;
      this.dead = true;
      this.child.kill('SIGKILL'); // after an IPC error it may still run, unreachable
      markReady(null);
      for (const job of this.pending.values()) {
        job.reject(new HashProcessError('password hashing process stopped'));
      }
      this.pending.clear();
      onDead();
    };
    this.child.on('error', die);
    this.child.on('exit', die);
  }

  /** Resolves when every job given to it has ended (or the process has died). */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (this.assigned > 0 && !this.dead ? setTimeout(check, 5) : resolve());
      check();
    });
  }

  /** Runs a job once the process is ready; its time starts then. */
  async run(job: Job): Promise<Timed<string | boolean>> {
    this.assigned++;
    try {
      if (!(await this.ready)) throw new HashProcessError('password hashing process stopped');
      const startedAt = performance.now();
      const value = await this.dispatch(job);
      return { value, startedAt, ms: performance.now() - startedAt };
    } finally {
      this.assigned--;
    }
  }

  private dispatch(job: Job): Promise<string | boolean> {
    if (this.dead) return Promise.reject(new HashProcessError('password hashing process stopped'));
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Keeps the parent alive while a job runs (a CLI awaiting a hash), not while idle.
      this.idleRefs(true);
      this.child.send({ id, ...job });
    });
  }

  async stop(): Promise<void> {
    if (this.dead) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.ref(); // whoever awaits this waits for the exit
    this.child.kill('SIGTERM');
    await exited;
  }

  private idleRefs(busy: boolean): void {
    if (busy) {
      this.child.ref();
      this.child.channel?.ref();
    } else {
      this.child.unref();
      this.child.channel?.unref();
    }
  }
}

/** Field 19 of /proc/<tid>/stat (after the command name) is the thread's niceness. */
function niceOf(tid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  } catch {
    return null;
  }
}

/**
 * Password hashing in one child process at a lower CPU priority (`nice`) with `size` threads,
 * started on first use and started again after it dies (the jobs it had fail with
 * HashProcessError). At most `size` jobs run at once; the others wait here in order, and callers
 * bound how many (see BoundedLimiter).
 */
export class HashPool {
  private process: HashProcess | null = null;
  private running = 0;
  private readonly backlog: Array<() => void> = [];

  constructor(
    private readonly size: number,
    private readonly nice: number,
    private readonly params: Argon2Params,
  ) {}

  hash(password: string): Promise<Timed<string>> {
    return this.run({ op: 'hash', password }) as Promise<Timed<string>>;
  }

  /** Resolves false for a mismatch and for a hash in an unknown format. */
  verify(hash: string, password: string): Promise<Timed<boolean>> {
    return this.run({ op: 'verify', hash, password }) as Promise<Timed<boolean>>;
  }

  /**
   * The hashing threads of the running process, each with its niceness as /proc reports it now;
   * empty before the first job. Without /proc: one entry, the process's own report.
   */
  async threadInfo(): Promise<Array<{ tid: number | null; nice: number }>> {
    const ready = await this.process?.ready;
    if (!ready) return [];
    if (ready.pool.length === 0) return [{ tid: null, nice: ready.nice }];
    return ready.pool.map((tid) => ({ tid, nice: niceOf(tid) ?? ready.nice }));
  }

  /**
   * Lets jobs in progress finish (at most `graceMs`; a shutdown should not fail logins it has
   * already admitted), then stops the process. A later job starts a new one.
   */
  async close(graceMs = 5000): Promise<void> {
    const current = this.process;
    this.process = null;
    if (!current) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([current.idle(), grace]);
    clearTimeout(timer);
    await current.stop();
  }

  private async run(job: Job): Promise<Timed<string | boolean>> {
    // A finished job hands its slot to the first in line, so jobs start in the order they came.
    if (this.running >= this.size) {
      await new Promise<void>((resolve) => this.backlog.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await this.current().run(job);
    } finally {
      const next = this.backlog.shift();
      if (next) next();
      else this.running--;
    }
  }

  private current(): HashProcess {
    if (this.process && !this.process.dead) return this.process;
    const created: HashProcess = new HashProcess(this.size, this.nice, this.params, () => {
      if (this.process === created) this.process = null;
    });
    this.process = created;
    return created;
  }
}
