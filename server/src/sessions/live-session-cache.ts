import type { UserRecord } from '../users/user.repository.ts';

/** What one instance remembers of a live session: enough to answer `me` without the database. */
export interface LiveEntry {
  user: UserRecord;
  /** Absolute end of the session, ms since the epoch (the deps clock). */
  expiresAt: number;
  /** The session's last refresh as of the load, ms since the epoch; it only ever moves forward. */
  lastUsedAt: number;
  /** When the load that produced this entry was sent, monotonic ms. */
  loadedAt: number;
}

/**
 * Live sessions by id, at most `maxEntries` of them: past that, the entry loaded longest ago goes
 * first (a Map iterates in insertion order and a reload re-inserts). Eviction only costs a reload.
 * Holds no policy: LiveSessions decides when an entry may be believed.
 */
export class LiveSessionCache {
  private readonly entries = new Map<string, LiveEntry>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(sessionId: string): LiveEntry | undefined {
    return this.entries.get(sessionId);
  }

  set(sessionId: string, entry: LiveEntry): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(sessionId);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(sessionId, entry);
  }

  delete(sessionId: string): void {
    this.entries.delete(sessionId);
  }

  /** Forgets every session of these users (disabled or deleted): a scan, as that is rare. */
  deleteUsers(userIds: ReadonlySet<string>): void {
    if (userIds.size === 0) return;
    for (const [sessionId, entry] of this.entries) {
      if (userIds.has(entry.user.id)) this.entries.delete(sessionId);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
