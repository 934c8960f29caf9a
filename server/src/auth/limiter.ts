export class OverloadedError extends Error {
  readonly code = 'OVERLOADED';
  constructor(readonly retryAfterSeconds: number) {
    super('hashing capacity exhausted');
  }
}

/**
 * Runs at most `concurrency` tasks at once with at most `queueLimit` waiting; a task beyond that
 * is refused at once with OverloadedError instead of queueing without bound (memory = m × concurrency).
 * A task that has waited longer than `maxWaitMs` when its turn comes is refused then, without
 * running: however the admission estimate lags behind a sudden slowdown, no caller waits for a
 * thread much past `maxWaitMs` (and so into its own timeout).
 */
export class BoundedLimiter {
  private active = 0;
  private readonly waiting: Array<{ since: number; start(): void; refuse(e: Error): void }> = [];

  constructor(
    readonly concurrency: number,
    private readonly queueLimit: number,
    private readonly maxWaitMs = Infinity,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) throw new OverloadedError(1);
      await new Promise<void>((start, refuse) =>
        this.waiting.push({ since: performance.now(), start, refuse }),
      );
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      this.handOver();
    }
  }

  /** Gives the finished task's slot to the first waiter still within its wait, or frees it. */
  private handOver(): void {
    const now = performance.now();
    for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
      if (now - next.since <= this.maxWaitMs) return next.start();
      next.refuse(new OverloadedError(1));
    }
    this.active--;
  }
}

/**
 * How long a newcomer would wait for one of `concurrency` hashing threads, from a moving average
 * of recent jobs' wall time (dispatch to reply). On a contended core that time includes the wait of
 * the low-priority thread for the CPU, which a newcomer would wait for too.
 *
 * An average, not a maximum: one job slowed by a burst of requests must not close the gate, since
 * the refusals that follow keep the event loop busy, keep the hashing thread starved and so keep
 * the gate closed; a small queue of logins then never recovers its full rate. A lasting slowdown
 * (a flood) moves the average within about ten jobs.
 */
export class WaitEstimate {
  private jobMs = 0;

  constructor(
    readonly concurrency: number,
    private readonly weight = 0.1,
  ) {}

  record(ms: number): void {
    this.jobMs = this.jobMs === 0 ? ms : (1 - this.weight) * this.jobMs + this.weight * ms;
  }

  /** Expected wait of one more operation when `admitted` are in (running or queued). */
  expectedMs(admitted: number): number {
    if (admitted < this.concurrency) return 0;
    return ((admitted - this.concurrency + 1) * this.jobMs) / this.concurrency;
  }
}
