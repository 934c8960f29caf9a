import type { Deps } from '../deps.ts';

/**
 * Call after a revocation has committed: this process reads the revocation journal at once, so the
 * sessions it ended are refused here from the moment this resolves. Other instances need nothing
 * from us: the journal's trigger notified them on commit, and they read the journal every 100 ms
 * anyway (decision 011).
 */
export async function announceRevocation(deps: Deps): Promise<void> {
  await deps.liveSessions.revoked();
}
