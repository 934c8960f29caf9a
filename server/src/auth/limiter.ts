export class OverloadedError extends Error {
  readonly code = 'OVERLOADED';
  constructor(readonly retryAfterSeconds: number) {
    super('hashing capacity exhausted');
  }
}

/**
 * Runs at most `concurrency` tasks at once with at most `queueLimit` waiting; a task beyond that
 * is refused at once with OverloadedError instead of queueing without bound (memory = m × concurrency).
 */
export class BoundedLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly concurrency: number,
    private readonly queueLimit: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) throw new OverloadedError(1);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
