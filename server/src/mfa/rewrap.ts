import type { Deps } from '../deps.ts';
import { listFactorBoxes, resealFactor } from './mfa.repository.ts';
import { openSecret, sealSecret } from './secret-box.ts';

/**
 * Re-seals every TOTP secret not yet under the ring's current key (`pnpm latchkey mfa rewrap`),
 * so that an old key can leave the ring afterwards. A secret changed meanwhile (a new set-up) is
 * left alone: it was sealed with the current key anyway. Unreadable boxes are counted, not touched.
 */
export async function resealSecrets(deps: Deps): Promise<{ resealed: number; unreadable: number }> {
  const ring = deps.config.mfa.ring;
  let resealed = 0;
  let unreadable = 0;
  for (const { userId, secretBox } of await listFactorBoxes(deps.db)) {
    const opened = openSecret(ring, userId, secretBox);
    if (!opened) unreadable += 1;
    else if (opened.stale) {
      const next = sealSecret(ring, userId, opened.secret);
      if (await resealFactor(deps.db, userId, secretBox, next)) resealed += 1;
    }
  }
  return { resealed, unreadable };
}
