import type { Logger } from '../logger.ts';
import type { Db } from '@latchkey/db';
import { lastRevocationId, readRevocations, type RevocationRow } from './revocation.repository.ts';

/** What one read of the journal revoked: sessions by id, users (all their sessions) by id. */
export interface RevokedBatch {
  sessions: ReadonlySet<string>;
  users: ReadonlySet<string>;
  /** A row naming neither (a TRUNCATE): everything remembered must go. */
  everything: boolean;
}

export interface RevocationFeedOptions {
  db: Db;
  logger: Logger;
  /** Called, synchronously, with every read's revocations before anyone can see the new position. */
  onRevoked: (batch: RevokedBatch) => void;
  /** Monotonic milliseconds. */
  clock?: () => number;
  /** Time between the starts of two reads. */
  pollMs?: number;
  /** The feed vouches for what is remembered only while its last complete read started this recently. */
  healthyMs?: number;
  /** How long an id skipped by a read is asked for again (its transaction may still commit). */
  gapTimeoutMs?: number;
  /** Rows per read; a full read is followed by another at once. */
  batch?: number;
}

/** Ids below the journal's end read on start, so a transaction open across the start is not missed. */
const START_OVERLAP = 1_000;
/** At most this many skipped ids are watched; a larger jump in the sequence is not a gap to wait on. */
const MAX_GAPS = 10_000;
/** How long applied reads stay available to revokedSince (a load in flight longer is not cached). */
const RECENT_MS = 30_000;

interface Applied {
  epoch: number;
  at: number;
  batch: RevokedBatch;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Follows the revocation journal (migration 005) from one instance: reads it every `pollMs`, and at
 * once when woken (NOTIFY) or asked to catch up (after a revocation made here), and hands each
 * read's revocations to `onRevoked`. A read sees every row committed before it started, except
 * rows whose id a still-open transaction took before a later row was committed: those ids are
 * remembered as gaps and asked for again until they appear or `gapTimeoutMs` passes.
 *
 * `healthy()` is what makes memory trustworthy: true only while the last complete read started
 * less than `healthyMs` ago. A revocation committed at time c is then applied by any instance
 * that is still trusting its memory at c + healthyMs, notification or not; an instance that
 * cannot read the journal stops trusting its memory after healthyMs and asks the database.
 */
export class RevocationFeed {
  private readonly db: Db;
  private readonly logger: Logger;
  private readonly onRevoked: (batch: RevokedBatch) => void;
  private readonly clock: () => number;
  private readonly pollMs: number;
  private readonly healthyMs: number;
  private readonly gapTimeoutMs: number;
  private readonly batch: number;

  /** Highest id read; -1 until the first read has found the journal's end. */
  private position = -1;
  /** Skipped ids → when they were first skipped. */
  private readonly gaps = new Map<number, number>();
  private lastGoodStart: number | null = null;
  private failingSince: number | null = null;
  /** Counts reads that revoked something; loads compare it to know what happened meanwhile. */
  private applied = 0;
  private recent: Applied[] = [];
  /** Epochs at or below this are no longer in `recent`. */
  private forgotten = 0;

  private started = false;
  private stopped = false;
  private reading: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private waiters: Waiter[] = [];

  constructor(options: RevocationFeedOptions) {
    this.db = options.db;
    this.logger = options.logger;
    this.onRevoked = options.onRevoked;
    this.clock = options.clock ?? (() => performance.now());
    this.pollMs = options.pollMs ?? 100;
    this.healthyMs = options.healthyMs ?? 300;
    this.gapTimeoutMs = options.gapTimeoutMs ?? 60_000;
    this.batch = options.batch ?? 1_000;
  }

  /** The epoch of the latest applied revocation; pass it to revokedSince after a load. */
  get epoch(): number {
    return this.applied;
  }

  get isStarted(): boolean {
    return this.started && !this.stopped;
  }

  healthy(at = this.clock()): boolean {
    return (
      this.isStarted && this.lastGoodStart !== null && at - this.lastGoodStart < this.healthyMs
    );
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.reading;
    this.settle(this.waiters, new Error('revocation feed stopped'));
    this.waiters = [];
  }

  /** Read now (a notification arrived). */
  wake(): void {
    this.kick();
  }

  /**
   * Resolves once a read that started after this call has been applied: everything committed
   * before the call is then in effect here. Rejects if that read fails or the feed is stopped.
   */
  catchUp(): Promise<void> {
    if (!this.isStarted) return Promise.reject(new Error('revocation feed not running'));
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  /**
   * Whether a read applied after `epoch` revoked this session or its user: true or false, or null
   * when reads that old are no longer remembered.
   */
  revokedSince(epoch: number, sessionId: string, userId: string): boolean | null {
    if (epoch >= this.applied) return false;
    if (epoch < this.forgotten) return null;
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const entry = this.recent[i] as Applied;
      if (entry.epoch <= epoch) break;
      const { batch } = entry;
      if (batch.everything || batch.sessions.has(sessionId) || batch.users.has(userId)) return true;
    }
    return false;
  }

  /** Starts a read now, or right after the one in flight. */
  private kick(): void {
    if (!this.isStarted) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const started = this.clock();
    const waiters = this.waiters;
    this.waiters = [];
    this.reading = this.readAll(started).then(
      () => {
        this.lastGoodStart = started;
        this.recovered(started);
        this.settle(waiters, null);
      },
      (error: unknown) => {
        this.failed(error, started);
        this.settle(waiters, error);
      },
    );
    void this.reading.finally(() => {
      this.reading = null;
      if (!this.isStarted) return;
      if (this.again) {
        this.again = false;
        this.kick();
        return;
      }
      const wait = Math.max(0, this.pollMs - (this.clock() - started));
      this.timer = setTimeout(() => this.kick(), wait);
      this.timer.unref();
    });
  }

  private settle(waiters: Waiter[], error: unknown): void {
    for (const waiter of waiters) {
      if (error === null) waiter.resolve();
      else waiter.reject(error);
    }
  }

  /** Reads until the journal's end as of `started`; throws on the first failing read. */
  private async readAll(started: number): Promise<void> {
    if (this.position < 0) {
      this.position = Math.max(0, (await lastRevocationId(this.db)) - START_OVERLAP);
    }
    for (;;) {
      const rows = await readRevocations(this.db, this.position, [...this.gaps.keys()], this.batch);
      this.apply(rows, started);
      if (rows.length < this.batch) break;
    }
    for (const [id, since] of this.gaps) {
      if (started - since >= this.gapTimeoutMs) this.gaps.delete(id);
    }
  }

  private apply(rows: RevocationRow[], started: number): void {
    const sessions = new Set<string>();
    const users = new Set<string>();
    let everything = false;
    for (const row of rows) {
      if (row.sessionId !== null) sessions.add(row.sessionId);
      else if (row.userId !== null) users.add(row.userId);
      else everything = true;
      if (row.id <= this.position) {
        this.gaps.delete(row.id);
        continue;
      }
      for (let id = this.position + 1; id < row.id && this.gaps.size < MAX_GAPS; id++) {
        this.gaps.set(id, started);
      }
      this.position = row.id;
    }
    if (sessions.size === 0 && users.size === 0 && !everything) return;
    const batch: RevokedBatch = { sessions, users, everything };
    this.applied += 1;
    this.recent.push({ epoch: this.applied, at: started, batch });
    let drop = 0;
    while (drop < this.recent.length && started - (this.recent[drop] as Applied).at > RECENT_MS) {
      drop += 1;
    }
    if (drop > 0) {
      this.forgotten = (this.recent[drop - 1] as Applied).epoch;
      this.recent = this.recent.slice(drop);
    }
    this.onRevoked(batch);
  }

  private failed(error: unknown, started: number): void {
    if (this.failingSince !== null) return;
    this.failingSince = started;
    this.logger.warn(
      { err: { message: (error as Error).message } },
      'revocation journal unreadable; checking sessions in the database',
    );
  }

  private recovered(started: number): void {
    if (this.failingSince === null) return;
    this.logger.info(
      { downMs: Math.round(started - this.failingSince) },
      'revocation journal readable again',
    );
    this.failingSince = null;
  }
}
