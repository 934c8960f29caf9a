/**
 * A typed Latchkey consumer outside the server package: signs in, reads `me`, prints the username.
 *
 *   LATCHKEY_USERNAME=alice LATCHKEY_PASSWORD=... node --import tsx examples/consumer.ts
 *
 * LATCHKEY_URL defaults to http://127.0.0.1:3000. The import below is type-only: no server code
 * is loaded at run time, yet every call, input and output is checked against the server's router.
 */
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import type { AppRouter } from '@latchkey/server';

const baseUrl = process.env.LATCHKEY_URL ?? 'http://127.0.0.1:3000';
const username = process.env.LATCHKEY_USERNAME;
const password = process.env.LATCHKEY_PASSWORD;

let accessToken: string | null = null;

const client = createTRPCClient<AppRouter>({
  links: [
    httpLink({
      url: `${baseUrl}/trpc`,
      headers: () => (accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
    }),
  ],
});

/** Compile-time proof that the client sees the server's input types; never called. */
export function typeChecks(): void {
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
  if (!username || !password) {
    process.stderr.write('set LATCHKEY_USERNAME and LATCHKEY_PASSWORD\n');
    process.exit(2);
  }
  const login = await client.login.mutate({ username, password });
  accessToken = login.accessToken;
  const expiresIn: number = login.expiresIn;
  const me = await client.me.query();
  const createdAt: string = me.createdAt;
  process.stdout.write(`${me.username}\n`);
  process.stderr.write(`signed in; token valid for ${expiresIn} s; account since ${createdAt}\n`);
}

main().catch((error: unknown) => {
  const message =
    error instanceof TRPCClientError ? error.message : `cannot reach ${baseUrl}: ${String(error)}`;
  process.stderr.write(`consumer: ${message}\n`);
  process.exit(1);
});
