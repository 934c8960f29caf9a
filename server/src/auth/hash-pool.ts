import { Worker } from 'node:worker_threads';
import type { Argon2Params } from '../config.ts';

type Job = { op: 'hash'; password: string } | { op: 'verify'; hash: string; password: string };
type Reply = { id: number; value: string | boolean } | { id: number; error: string };
type Ready = { ready: true; tid: number | null; nice: number };

export class HashThreadError extends Error {}

/** One worker thread; runs one job at a time. */
class HashThread {
  readonly worker: Worker;
  /** The kernel thread id and the niceness it runs at, once it has started. */
  readonly started: Promise<Omit<Ready, 'ready'>>;
  private pending: {
    id: number;
    resolve(v: string | boolean): void;
    reject(e: Error): void;
  } | null = null;
  private nextId = 0;
  dead = false;

  constructor(url: URL, workerData: { nice: number; params: Argon2Params }, onDead: () => void) {
    // A small heap: the thread only passes strings; argon2's memory is allocated natively. No
    // inherited preloads (--import tsx, test hooks): the worker is plain JavaScript.
    this.worker = new Worker(url, {
      workerData,
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    this.worker.unref();
    let markStarted: (info: Omit<Ready, 'ready'>) => void = () => {};
    this.started = new Promise((resolve) => (markStarted = resolve));
    this.worker.on('message', (message: Ready | Reply) => {
      if ('ready' in message) return markStarted({ tid: message.tid, nice: message.nice });
      const pending = this.pending;
      if (!pending || pending.id !== message.id) return;
      this.pending = null;
      this.worker.unref();
      if ('error' in message) pending.reject(new HashThreadError(message.error));
      else pending.resolve(message.value);
    });
    const die = () => {
      if (this.dead) return;
      this.dead = true;
      markStarted({ tid: null, nice: 0 });
      this.pending?.reject(new HashThreadError('password hashing thread stopped'));
      this.pending = null;
      onDead();
    };
    this.worker.on('error', die);
    this.worker.on('exit', die);
  }

  get busy(): boolean {
    return this.pending !== null;
  }

  /** Resolves when the job in progress (if any) has ended. */
  idle(): Promise<void> {
    const pending = this.pending;
    if (!pending) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () =>
        this.pending === pending && !this.dead ? setTimeout(check, 5) : resolve();
      check();
    });
  }

  run(job: Job): Promise<string | boolean> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending = { id, resolve, reject };
      // Keeps the process alive while a job runs (a CLI awaiting a hash), not while idle.
      this.worker.ref();
      this.worker.postMessage({ id, ...job });
    });
  }
}

/**
 * Password hashing on `size` dedicated worker threads at a lower CPU priority (`nice`), started on
 * first use. Jobs beyond the threads wait in order; callers bound how many (see BoundedLimiter).
 * `onJobTime` hears how long each job took on its thread (dispatch to reply, wall time).
 */
export class HashPool {
  private readonly threads: HashThread[] = [];
  private readonly backlog: Array<() => void> = [];
  private readonly url = new URL('./hash-worker.mjs', import.meta.url);

  constructor(
    private readonly size: number,
    private readonly nice: number,
    private readonly params: Argon2Params,
    private readonly onJobTime: (ms: number) => void = () => {},
  ) {}

  hash(password: string): Promise<string> {
    return this.run({ op: 'hash', password }) as Promise<string>;
  }

  /** Resolves false for a mismatch and for a hash in an unknown format. */
  verify(hash: string, password: string): Promise<boolean> {
    return this.run({ op: 'verify', hash, password }) as Promise<boolean>;
  }

  /** Kernel thread ids and niceness of the threads started so far (for tests and diagnostics). */
  threadInfo(): Promise<Array<Omit<Ready, 'ready'>>> {
    return Promise.all(this.threads.map((t) => t.started));
  }

  /**
   * Lets jobs in progress finish (at most `graceMs`; a shutdown should not fail logins it has
   * already admitted), then stops every thread. A later job starts a new one.
   */
  async close(graceMs = 5000): Promise<void> {
    const threads = this.threads.splice(0);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(threads.map((t) => t.idle())), grace]);
    clearTimeout(timer);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private async run(job: Job): Promise<string | boolean> {
    let thread = this.freeThread();
    while (!thread) {
      await new Promise<void>((resolve) => this.backlog.push(resolve));
      thread = this.freeThread();
    }
    const started = performance.now();
    try {
      return await thread.run(job);
    } finally {
      this.onJobTime(performance.now() - started);
      this.backlog.shift()?.();
    }
  }

  /** An idle thread, started if fewer than `size` exist; null when all are busy. */
  private freeThread(): HashThread | null {
    const idle = this.threads.find((t) => !t.busy);
    if (idle) return idle;
    if (this.threads.length >= this.size) return null;
    const created: HashThread = new HashThread(
      this.url,
      { nice: this.nice, params: this.params },
      () => {
        const index = this.threads.indexOf(created);
        if (index >= 0) this.threads.splice(index, 1);
      },
    );
    this.threads.push(created);
    return created;
  }
}
