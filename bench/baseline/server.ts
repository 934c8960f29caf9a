/**
 * The benchmark's baseline: a plain tRPC v11 server on the standalone adapter with a jose-verifying
 * middleware and no database — what a straightforward tRPC port of the tutorial would look like.
 * `login` signs a token without checking a password, only so the benchmark can obtain one.
 *
 * Environment: PORT, HOST, JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE.
 */
import { randomUUID } from 'node:crypto';
import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPServer, type CreateHTTPContextOptions } from '@trpc/server/adapters/standalone';
import { jwtVerify, SignJWT } from 'jose';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const secret = new TextEncoder().encode(process.env.JWT_SECRET ?? '');
const issuer = process.env.JWT_ISSUER ?? 'bench-baseline';
const audience = process.env.JWT_AUDIENCE ?? 'bench';
if (secret.byteLength < 32) throw new Error('JWT_SECRET must be at least 32 bytes');

const createContext = ({ req }: CreateHTTPContextOptions) => ({
  authorization: req.headers.authorization,
});

const t = initTRPC.context<typeof createContext>().create();

const authed = t.procedure.use(async ({ ctx, next }) => {
  const header = ctx.authorization;
  if (!header?.startsWith('Bearer ')) throw new TRPCError({ code: 'UNAUTHORIZED' });
  try {
    const { payload } = await jwtVerify(header.slice('Bearer '.length), secret, {
      algorithms: ['HS256'],
      issuer,
      audience,
    });
    return next({ ctx: { claims: payload } });
  } catch {
    throw new TRPCError({ code: 'UNAUTHORIZED' });
  }
});

function usernameInput(raw: unknown): { username: string } {
  const username = (raw as { username?: unknown } | null)?.username;
  if (typeof username !== 'string' || username === '') {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'username is required' });
  }
  return { username };
}

const appRouter = t.router({
  health: t.procedure.query(() => ({ status: 'ok' })),
  login: t.procedure.input(usernameInput).mutation(async ({ input }) => {
    const iat = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({ username: input.username })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + 86_400)
      .sign(secret);
    return { accessToken, tokenType: 'Bearer' };
  }),
  me: authed.query(({ ctx }) => ({
    id: String(ctx.claims.sub),
    username: String(ctx.claims.username),
    createdAt: new Date((ctx.claims.iat ?? 0) * 1000).toISOString(),
  })),
});

export type BaselineRouter = typeof appRouter;

const server = createHTTPServer({ router: appRouter, createContext, basePath: '/trpc/' });
server.listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(
    `${JSON.stringify({ msg: 'listening', url: `http://${host}:${actual}` })}\n`,
  );
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
