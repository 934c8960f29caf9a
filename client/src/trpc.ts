import type { AppRouter } from '@latchkey/server';
import { QueryClient } from '@tanstack/react-query';
import {
  createTRPCClient,
  httpLink,
  isTRPCClientError,
  type OperationResultEnvelope,
  type TRPCClientError,
  type TRPCLink,
} from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import type { Observer, Unsubscribable } from '@trpc/server/observable';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { getAuthStatus, setAuthStatus } from './auth-status.ts';
import { announce, onAnnouncement } from './session-channel.ts';

type TokenResponse = inferRouterOutputs<AppRouter>['refresh'];
type ClientError = TRPCClientError<AppRouter>;
type Envelope = OperationResultEnvelope<unknown, ClientError>;

// Kept in memory only: storage or a script-readable cookie would hand it to any injected script.
let accessToken: string | null = null;
let userId: string | null = null;

// A 401 from these is an answer about credentials or the cookie, not an expired access token.
const NO_RENEWAL = new Set([
  'login',
  'register',
  'refresh',
  'logout',
  'mfa.verify',
  'passkeys.login',
]);
// The contract's 401 for a wrong second-factor code: an answer about the code, not the token.
const CODE_REFUSED = 'Invalid authentication code';
// Answers that start a session: the password alone, the second factor after it, or a passkey.
const SIGN_INS = new Set(['login', 'mfa.verify', 'passkeys.login']);
const REFRESH_TIMEOUT_MS = 15_000;

function errorCode(error: unknown): string | undefined {
  return isTRPCClientError<AppRouter>(error) ? error.data?.code : undefined;
}

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 30_000,
      // Only transport failures are worth repeating; the server's answers will not change.
      retry: (failures, error) => failures < 2 && errorCode(error) === undefined,
    },
  },
});

function isTokenResponse(value: unknown): value is TokenResponse {
  return (
    typeof value === 'object' &&
    value !== null &&
    'accessToken' in value &&
    typeof value.accessToken === 'string' &&
    'user' in value &&
    typeof value.user === 'object'
  );
}

function startSession(response: TokenResponse, isNewSignIn: boolean): void {
  if (response.user.id !== userId) queryClient.removeQueries();
  accessToken = response.accessToken;
  userId = response.user.id;
  queryClient.setQueryData(trpc.me.queryKey(), response.user);
  setAuthStatus('signed-in');
  if (isNewSignIn) announce({ type: 'signed-in', userId: response.user.id });
}

function endSession(tellOtherTabs: boolean): void {
  accessToken = null;
  userId = null;
  setAuthStatus('signed-out');
  queryClient.removeQueries();
  if (tellOtherTabs) announce({ type: 'signed-out' });
}

let renewal: Promise<boolean> | null = null;

function withRefreshLock<T>(task: () => Promise<T>): Promise<T> {
  // Refresh tokens rotate on every use: tabs take turns so none presents one another just spent.
  if (!('locks' in navigator)) return task();
  return navigator.locks.request('latchkey-refresh', task);
}

/** Exchanges the refresh cookie for a new access token; one request at a time per tab. */
export function refreshSession(): Promise<boolean> {
  renewal ??= withRefreshLock(() =>
    trpcClient.refresh.mutate(undefined, { signal: AbortSignal.timeout(REFRESH_TIMEOUT_MS) }),
  )
    .then(
      () => true,
      (error: unknown) => {
        const code = errorCode(error);
        if (code === 'UNAUTHORIZED' || code === 'FORBIDDEN' || getAuthStatus() === 'restoring') {
          endSession(false);
        }
        return false;
      },
    )
    .finally(() => {
      renewal = null;
    });
  return renewal;
}

async function renewToken(staleToken: string | null): Promise<string | null> {
  // Another request may already have renewed it while this one was in flight.
  if (accessToken !== null && accessToken !== staleToken) return accessToken;
  return (await refreshSession()) ? accessToken : null;
}

function noteResult(path: string, result: Envelope['result']): void {
  if (path === 'logout') endSession(true);
  else if ((SIGN_INS.has(path) || path === 'refresh') && 'data' in result) {
    // A login answered with a second-factor challenge is no token response: nothing starts.
    if (isTokenResponse(result.data)) startSession(result.data, SIGN_INS.has(path));
  }
}

/**
 * Attaches the access token, keeps it current from login/refresh results, and on a 401 renews
 * it once through the refresh cookie and repeats the operation.
 */
const sessionLink: TRPCLink<AppRouter> =
  () =>
  ({ op, next }) => {
    const send = (token: string | null) =>
      next({ ...op, context: { ...op.context, accessToken: token } });
    const sentWith = accessToken;
    return send(sentWith).pipe((source) => ({
      subscribe(observer: Partial<Observer<Envelope, ClientError>>): Unsubscribable {
        let stopped = false;
        const forward: Observer<Envelope, ClientError> = {
          next(envelope) {
            noteResult(op.path, envelope.result);
            observer.next?.(envelope);
          },
          error(error) {
            // Signing out must succeed locally even if the server call did not.
            if (op.path === 'logout') endSession(true);
            observer.error?.(error);
          },
          complete: () => observer.complete?.(),
        };
        let inner = source.subscribe({
          ...forward,
          error(error) {
            if (
              NO_RENEWAL.has(op.path) ||
              errorCode(error) !== 'UNAUTHORIZED' ||
              error.message === CODE_REFUSED
            ) {
              forward.error(error);
              return;
            }
            void renewToken(sentWith).then((token) => {
              if (stopped) return;
              if (token === null) forward.error(error);
              else inner = send(token).subscribe(forward);
            });
          },
        });
        return {
          unsubscribe() {
            stopped = true;
            inner.unsubscribe();
          },
        };
      },
    }));
  };

export const trpcClient = createTRPCClient<AppRouter>({
  links: [
    sessionLink,
    httpLink({
      url: '/trpc',
      headers({ op }) {
        const token = op.context.accessToken;
        return {
          // Required by the cookie procedures; harmless on the rest.
          'x-latchkey-csrf': '1',
          ...(typeof token === 'string' ? { authorization: `Bearer ${token}` } : {}),
        };
      },
      fetch: (url, init) => fetch(url, { ...init, credentials: 'same-origin' }),
    }),
  ],
});

export const trpc = createTRPCOptionsProxy<AppRouter>({ client: trpcClient, queryClient });

onAnnouncement((message) => {
  if (message.type === 'signed-out') endSession(false);
  else if (message.userId !== userId) void refreshSession();
});

/** Restores the session of a reload or a new tab from the refresh cookie. */
export function restoreSession(): void {
  void refreshSession();
}
