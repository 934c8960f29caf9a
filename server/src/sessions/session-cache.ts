import type { UserRecord } from '../users/user.repository.ts';

interface Entry {
  userId: string;
  user: UserRecord;
  checkedAt: number;
}

/**
 * Remembers, for at most `ttlMs`, that a session was live, so a burst of requests on one session
 * costs one database lookup instead of one each. Any revocation made by this process clears it at
 * once; a revocation made by another instance is seen here within `ttlMs` (kept well under the
 * contract's one second). Only positive answers are cached: a refused session is asked again.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 50_000,
  ) {}

  get(sessionId: string, userId: string, now: number): UserRecord | null {
    if (this.ttlMs <= 0) return null;
    const entry = this.entries.get(sessionId);
    if (!entry) return null;
    if (now - entry.checkedAt >= this.ttlMs || now < entry.checkedAt || entry.userId !== userId) {
      this.entries.delete(sessionId);
      return null;
    }
    return entry.user;
  }

  set(sessionId: string, user: UserRecord, now: number): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      // Oldest first: Map iterates in insertion order.
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.delete(sessionId);
    this.entries.set(sessionId, { userId: user.id, user, checkedAt: now });
  }

  /** Forget everything: called after any revocation this process commits. */
  clear(): void {
    this.entries.clear();
  }
}
