import { TRPCError } from '@trpc/server';
import type { IssuedSession } from '../sessions/session.service.ts';
import type { UserRecord } from '../users/user.repository.ts';
import { RetryAfter } from '../trpc.ts';
import type { Context } from '../context.ts';

/** The public shape of a user: exactly these fields, never a hash or an internal flag. */
export function publicUser(user: UserRecord) {
  return { id: user.id, username: user.username, createdAt: user.createdAt.toISOString() };
}

export type PublicUser = ReturnType<typeof publicUser>;

/** Output of login and refresh; sets (or keeps) the refresh cookie as a side effect. */
export function tokenResponse(ctx: Context, session: IssuedSession) {
  if (session.refreshToken !== null) {
    ctx.res.setRefreshToken(session.refreshToken, ctx.deps.config.refreshTokenTtl);
  }
  return {
    accessToken: session.accessToken,
    tokenType: 'Bearer' as const,
    expiresIn: session.expiresIn,
    user: publicUser(session.user),
  };
}

export function throttled(retryAfter: number | undefined): TRPCError {
  return new TRPCError({
    code: 'TOO_MANY_REQUESTS',
    message: 'Too many attempts, try again later',
    cause: new RetryAfter(retryAfter ?? 1),
  });
}
