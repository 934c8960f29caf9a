import type { DbHandle } from '@latchkey/db';
import type { Logger } from '../logger.ts';
import type { UserRecord } from '../users/user.repository.ts';
import { LiveSessionCache, type LiveEntry } from './live-session-cache.ts';
import { LiveSessionLoader, type Loaded } from './live-session-loader.ts';
import {
  RevocationFeed,
  type RevocationFeedOptions,
  type RevokedBatch,
} from './revocation-feed.ts';
import { listenForRevocations } from './revocation-listener.ts';

export interface LiveSessionsOptions {
  dbh: DbHandle;
  logger: Logger;
  /** The clock every rule reads (expiry, idle time); tests freeze it. */
  now: () => Date;
  /** How long a loaded session is believed without asking again (SESSION_CACHE_MS); 0 = never. */
  maxAgeMs: number;
  idleTtlSeconds: number;
  /** Sessions remembered at most (the memory bound). */
  maxEntries?: number;
  feed?: Pick<RevocationFeedOptions, 'pollMs' | 'healthyMs' | 'gapTimeoutMs' | 'batch' | 'clock'>;
}

/** About 300 bytes each: the bound keeps the cache under ~60 MB. */
export const MAX_LIVE_ENTRIES = 200_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The revocation check of every protected request (decision 011). A session loaded from the
 * database is remembered; later requests on it are answered from memory while the revocation
 * feed is healthy (it read the journal less than 300 ms ago), the entry is younger than
 * `maxAgeMs`, and its own expiry and idle time, judged now, still allow it. Everything else asks
 * the database, coalesced with the other requests of the same event-loop turn into one statement.
 * The feed drops revoked sessions from memory; a load that raced a revocation is not remembered.
 */
export class LiveSessions {
  readonly cache: LiveSessionCache;
  readonly feed: RevocationFeed;
  private readonly loader: LiveSessionLoader;
  private readonly clock: () => number;
  private stopListening: (() => Promise<void>) | null = null;

  constructor(private readonly options: LiveSessionsOptions) {
    const { dbh, logger } = options;
    this.clock = options.feed?.clock ?? (() => performance.now());
    this.cache = new LiveSessionCache(options.maxEntries ?? MAX_LIVE_ENTRIES);
    this.feed = new RevocationFeed({
      ...options.feed,
      db: dbh.db,
      logger,
      clock: this.clock,
      onRevoked: (batch) => this.forget(batch),
    });
    this.loader = new LiveSessionLoader(dbh.db, () => ({
      epoch: this.feed.epoch,
      sentAt: this.clock(),
    }));
  }

  /**
   * The user behind a session that is live now and belongs to `userId` (the token's `sub`), or
   * null. Throws only when the database is needed and fails.
   */
  async check(sessionId: string, userId: string): Promise<UserRecord | null> {
    const now = this.options.now().getTime();
    const entry = this.cache.get(sessionId);
    const at = this.clock();
    if (
      entry !== undefined &&
      entry.user.id === userId &&
      this.live(entry, now) &&
      at - entry.loadedAt < this.options.maxAgeMs &&
      this.feed.healthy(at)
    ) {
      return entry.user;
    }
    if (!UUID.test(sessionId)) return null;
    return this.load(sessionId, userId, await this.loader.load(sessionId));
  }

  private load(sessionId: string, userId: string, loaded: Loaded): UserRecord | null {
    const { session } = loaded;
    if (session === null) {
      this.cache.delete(sessionId);
      return null;
    }
    if (session.userId !== userId) return null;
    const entry: LiveEntry = {
      user: { id: session.userId, username: session.username, createdAt: session.userCreatedAt },
      expiresAt: session.expiresAt.getTime(),
      lastUsedAt: session.lastUsedAt.getTime(),
      loadedAt: loaded.sentAt,
    };
    if (!this.live(entry, this.options.now().getTime())) return null;
    const raced = this.feed.revokedSince(loaded.epoch, sessionId, userId);
    if (raced === true) {
      this.cache.delete(sessionId);
      return null;
    }
    if (raced === false && this.options.maxAgeMs > 0) this.cache.set(sessionId, entry);
    return entry.user;
  }

  private live(entry: LiveEntry, now: number): boolean {
    return now < entry.expiresAt && entry.lastUsedAt > now - this.options.idleTtlSeconds * 1000;
  }

  private forget(batch: RevokedBatch): void {
    if (batch.everything) {
      this.cache.clear();
      return;
    }
    for (const sessionId of batch.sessions) this.cache.delete(sessionId);
    this.cache.deleteUsers(batch.users);
  }

  /** Whether this session is in memory (tests). */
  remembers(sessionId: string): boolean {
    return this.cache.get(sessionId) !== undefined;
  }

  /** Follows the journal (and its notifications) until stop(); without it, memory is not used. */
  start(): void {
    if (this.options.maxAgeMs <= 0 || this.feed.isStarted) return;
    this.feed.start();
    this.stopListening = listenForRevocations(
      this.options.dbh,
      () => this.feed.wake(),
      this.options.logger,
    );
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
    this.stopListening = null;
    await this.feed.stop();
    this.cache.clear();
  }

  /**
   * Call after a revocation has committed: once this resolves, the revoked sessions are out of
   * this process's memory (the journal is read at once). Other instances learn of it through the
   * journal's notification, or their next read at the latest.
   */
  async revoked(): Promise<void> {
    if (!this.feed.isStarted) {
      this.cache.clear();
      return;
    }
    try {
      await this.feed.catchUp();
    } catch {
      this.cache.clear();
    }
  }
}
