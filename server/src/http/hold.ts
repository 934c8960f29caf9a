import type { Socket } from 'node:net';

/**
 * How long the next requests on a connection wait before they are handled, after a login or
 * registration on it was refused because password hashing is at capacity. The 503 goes out at
 * once and says `Retry-After`; a client that sends again on the same connection straight away (a
 * flood's clients do, thousands of times a second) is answered a little later, so refusing it
 * costs the event loop a fraction of what it would. Other connections are not affected.
 */
export const SHED_PAUSE_MS = 250;

const heldUntil = new WeakMap<Socket, number>();

/** Milliseconds a request on this connection must still wait (see SHED_PAUSE_MS); 0 if none. */
export function heldFor(socket: Socket): number {
  const until = heldUntil.get(socket);
  if (until === undefined) return 0;
  const left = until - performance.now();
  if (left > 0) return left;
  heldUntil.delete(socket);
  return 0;
}

/** Makes the connection's next requests wait SHED_PAUSE_MS (call right after a busy 503). */
export function holdConnection(socket: Socket): void {
  heldUntil.set(socket, performance.now() + SHED_PAUSE_MS);
}
