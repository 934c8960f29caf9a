import { useSyncExternalStore } from 'react';

/** `restoring` lasts until the first silent refresh answers, so the login form never flashes. */
export type AuthStatus = 'restoring' | 'signed-in' | 'signed-out';

let status: AuthStatus = 'restoring';
const listeners = new Set<() => void>();

export function getAuthStatus(): AuthStatus {
  return status;
}

export function setAuthStatus(next: AuthStatus): void {
  if (next === status) return;
  status = next;
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useAuthStatus(): AuthStatus {
  return useSyncExternalStore(subscribe, getAuthStatus);
}
