import type { Db } from '@latchkey/db';
import { findSessionsForCheck, type SessionForCheck } from './session.repository.ts';

/** A load's answer and what was true when it was sent (see LiveSessions). */
export interface Loaded {
  session: SessionForCheck | null;
  /** The revocation feed's epoch when the statement was sent. */
  epoch: number;
  /** Monotonic ms when the statement was sent. */
  sentAt: number;
}

interface Waiter {
  resolve: (loaded: Loaded) => void;
  reject: (error: unknown) => void;
}

/**
 * Loads sessions for the request check, coalescing every load asked for in one turn of the event
 * loop (all the requests read in one poll phase) into a single `id = any($ids)` statement, at most
 * `maxBatch` ids each. Requests for the same session share one row. A failing statement fails
 * every request waiting on it with the same error (a database outage stays a 503).
 */
export class LiveSessionLoader {
  private pending = new Map<string, Waiter[]>();
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly stamp: () => { epoch: number; sentAt: number },
    private readonly maxBatch = 500,
  ) {}

  load(sessionId: string): Promise<Loaded> {
    return new Promise<Loaded>((resolve, reject) => {
      const waiting = this.pending.get(sessionId);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(sessionId, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    const ids = [...pending.keys()];
    for (let i = 0; i < ids.length; i += this.maxBatch) {
      void this.run(ids.slice(i, i + this.maxBatch), pending);
    }
  }

  private async run(ids: string[], pending: Map<string, Waiter[]>): Promise<void> {
    const { epoch, sentAt } = this.stamp();
    let rows: SessionForCheck[];
    try {
      rows = await findSessionsForCheck(this.db, ids);
    } catch (error) {
      for (const id of ids) for (const waiter of pending.get(id) ?? []) waiter.reject(error);
      return;
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const id of ids) {
      const loaded: Loaded = { session: byId.get(id) ?? null, epoch, sentAt };
      for (const waiter of pending.get(id) ?? []) waiter.resolve(loaded);
    }
  }
}
