/**
 * A typed Latchkey consumer outside the server package, on tRPC's streaming link
 * (`httpBatchStreamLink`): signs in, reads `me` and its sessions in one streamed batch, refreshes
 * (the refresh cookie rotates), reads `me` with the new token, signs out, and checks that the
 * access token is refused afterwards.
 *
 *   LATCHKEY_USERNAME=alice LATCHKEY_PASSWORD=... node --import tsx examples/consumer.ts
 *
 * LATCHKEY_URL defaults to http://127.0.0.1:3000. The import below is type-only: no server code
 * is loaded at run time, yet every call, input and output is checked against the server's router.
 */
import { pathToFileURL } from 'node:url';
import {
  createTRPCClient,
  httpBatchStreamLink,
  isTRPCClientError,
  TRPCClientError,
} from '@trpc/client';
import type { AppRouter } from '@latchkey/server';

/** The refresh cookie's name (the contract's); `__Host-` cookies are never readable by scripts. */
const REFRESH_COOKIE = '__Host-latchkey_rt';

/**
 * A client for one user. The access token lives in memory; the refresh cookie is carried by hand,
 * because Node's fetch keeps no cookie jar (a browser would carry it itself).
 */
export function createLatchkeyClient(baseUrl: string) {
  const state = { accessToken: null as string | null, refreshToken: null as string | null };
  const client = createTRPCClient<AppRouter>({
    links: [
      httpBatchStreamLink({
        url: `${baseUrl}/trpc`,
        headers: () => ({
          // Required by the cookie procedures (refresh, logout), ignored by the others.
          'x-latchkey-csrf': '1',
          ...(state.accessToken ? { authorization: `Bearer ${state.accessToken}` } : {}),
        }),
        fetch: async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
          const headers = new Headers(init?.headers);
          if (state.refreshToken) headers.set('cookie', `${REFRESH_COOKIE}=${state.refreshToken}`);
          const response = await fetch(input, { ...init, headers });
          for (const cookie of response.headers.getSetCookie()) {
            const [pair = ''] = cookie.split(';', 1);
            const eq = pair.indexOf('=');
            if (pair.slice(0, eq).trim() !== REFRESH_COOKIE) continue;
            // An empty value (with Max-Age=0) clears it, as at logout.
            state.refreshToken = pair.slice(eq + 1).trim() || null;
          }
          return response;
        },
      }),
    ],
  });
  return { client, state };
}

export interface ConsumerReport {
  username: string;
  createdAt: string;
  expiresIn: number;
  sessions: number;
  /** The refresh cookie changed at `refresh`. */
  rotated: boolean;
  /** After `logout` the access token is refused. */
  signedOut: boolean;
}

/** One user's whole session, start to end, over the streaming link. */
export async function signInRefreshSignOut(
  baseUrl: string,
  username: string,
  password: string,
): Promise<ConsumerReport> {
  const { client, state } = createLatchkeyClient(baseUrl);
  const login = await client.login.mutate({ username, password });
  // A user with a second factor gets an mfaToken instead, for `mfa.verify` with a code.
  if ('mfaRequired' in login)
    throw new Error('this example signs in users without a second factor');
  state.accessToken = login.accessToken;
  // Issued together, these two travel in one streamed batch.
  const [me, sessions] = await Promise.all([client.me.query(), client.sessions.list.query()]);

  const before = state.refreshToken;
  state.accessToken = (await client.refresh.mutate()).accessToken;
  const rotated = state.refreshToken !== null && state.refreshToken !== before;
  await client.me.query();

  await client.logout.mutate();
  const signedOut = await client.me.query().then(
    () => false,
    (error: unknown) => isTRPCClientError<AppRouter>(error) && error.data?.code === 'UNAUTHORIZED',
  );
  return {
    username: me.username,
    createdAt: me.createdAt,
    expiresIn: login.expiresIn,
    sessions: sessions.length,
    rotated,
    signedOut,
  };
}

/** Compile-time proof that the client sees the server's input types; never called. */
export function typeChecks(): void {
  const { client } = createLatchkeyClient('http://127.0.0.1:3000');
  /* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access --
     the lines below are compile errors on purpose */
  // @ts-expect-error password is required
  void client.login.mutate({ username: 'a' });
  // @ts-expect-error password is a string
  void client.login.mutate({ username: 'a', password: 123 });
  // @ts-expect-error there is no such procedure
  void client.deleteEverything.mutate();
  // @ts-expect-error me is a query, not a mutation
  void client.me.mutate();
  // @ts-expect-error logout's everywhere is a boolean
  void client.logout.mutate({ everywhere: 'yes' });
  /* eslint-enable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access */
  void client.me.query().then((me) => {
    // @ts-expect-error outputs carry no password hash
    void me.passwordHash;
  });
}

async function main(): Promise<void> {
  const baseUrl = process.env.LATCHKEY_URL ?? 'http://127.0.0.1:3000';
  const username = process.env.LATCHKEY_USERNAME;
  const password = process.env.LATCHKEY_PASSWORD;
  if (!username || !password) {
    process.stderr.write('set LATCHKEY_USERNAME and LATCHKEY_PASSWORD\n');
    process.exit(2);
  }
  try {
    const report = await signInRefreshSignOut(baseUrl, username, password);
    process.stdout.write(`${report.username}\n`);
    process.stderr.write(
      `signed in (token valid for ${report.expiresIn} s, account since ${report.createdAt}, ` +
        `${report.sessions} session(s)); refresh ${report.rotated ? 'rotated' : 'did NOT rotate'} ` +
        `the cookie; signed out${report.signedOut ? '' : ' but the token still works'}\n`,
    );
    if (!report.rotated || !report.signedOut) process.exit(1);
  } catch (error) {
    const message =
      error instanceof TRPCClientError
        ? error.message
        : `cannot reach ${baseUrl}: ${String(error)}`;
    process.stderr.write(`consumer: ${message}\n`);
    process.exit(1);
  }
}

// Run when executed, not when imported (the test imports signInRefreshSignOut).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main();
