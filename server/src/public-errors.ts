import { isDatabaseUnavailable } from '@latchkey/db';
import { TRPCError } from '@trpc/server';
import { OverloadedError } from './auth/limiter.ts';

type TrpcCode = TRPCError['code'];

/** A header a failure carries besides the body: the wait, or the bearer challenge of a 401. */
type FailureHeader = 'Retry-After' | 'WWW-Authenticate';

interface PublicFailure {
  trpc: TrpcCode;
  /** What tRPC answers for `trpc`, and what the REST routes answer (public-errors.test.ts). */
  status: number;
  message: string;
  headers: readonly FailureHeader[];
}

/**
 * Every failure a client can be told about, worded once: the tRPC procedures and the REST routes
 * (`/token`, `/users/me`, a busy or unreachable database) answer from this table, so the two can
 * never drift apart. Messages are public contract (CONTRACT.md): change one and clients break.
 */
export const PUBLIC_FAILURES = {
  NOT_AUTHENTICATED: {
    trpc: 'UNAUTHORIZED',
    status: 401,
    message: 'Not authenticated',
    headers: ['WWW-Authenticate'],
  },
  INVALID_TOKEN: {
    trpc: 'UNAUTHORIZED',
    status: 401,
    message: 'Could not validate credentials',
    headers: ['WWW-Authenticate'],
  },
  INVALID_CREDENTIALS: {
    trpc: 'UNAUTHORIZED',
    status: 401,
    message: 'Incorrect username or password',
    headers: ['WWW-Authenticate'],
  },
  THROTTLED: {
    trpc: 'TOO_MANY_REQUESTS',
    status: 429,
    message: 'Too many attempts, try again later',
    headers: ['Retry-After'],
  },
  /** Password hashing is at capacity (see auth/password-work.ts). */
  BUSY: {
    trpc: 'SERVICE_UNAVAILABLE',
    status: 503,
    message: 'Server busy, try again later',
    headers: ['Retry-After'],
  },
  /** The database cannot be reached. */
  UNAVAILABLE: {
    trpc: 'SERVICE_UNAVAILABLE',
    status: 503,
    message: 'Service temporarily unavailable, try again later',
    headers: ['Retry-After'],
  },
  BODY_TOO_LARGE: {
    trpc: 'PAYLOAD_TOO_LARGE',
    status: 413,
    message: 'Request body too large',
    headers: [],
  },
  USERNAME_TAKEN: { trpc: 'CONFLICT', status: 409, message: 'Username already taken', headers: [] },
  /** The default; the password policy's own reason is shown when it gives one. */
  WEAK_PASSWORD: { trpc: 'BAD_REQUEST', status: 400, message: 'Weak password', headers: [] },
  WRONG_PASSWORD: {
    trpc: 'BAD_REQUEST',
    status: 400,
    message: 'Current password is incorrect',
    headers: [],
  },
  UNKNOWN_SESSION: { trpc: 'NOT_FOUND', status: 404, message: 'Unknown session', headers: [] },
  /** `/token`: the right password of a user with a second factor, and no `otp`. */
  MFA_REQUIRED: {
    trpc: 'FORBIDDEN',
    status: 403,
    message: 'Second factor required',
    headers: [],
  },
  /** A wrong, reused or malformed TOTP or recovery code. */
  INVALID_CODE: {
    trpc: 'UNAUTHORIZED',
    status: 401,
    message: 'Invalid authentication code',
    headers: ['WWW-Authenticate'],
  },
  /** An `mfaToken` that is unknown, expired, used, or ended by five wrong codes. */
  CHALLENGE_INVALID: {
    trpc: 'UNAUTHORIZED',
    status: 401,
    message: 'Sign-in expired, please start again',
    headers: ['WWW-Authenticate'],
  },
  FACTOR_OFF: {
    trpc: 'BAD_REQUEST',
    status: 400,
    message: 'Two-factor authentication is off',
    headers: [],
  },
  FACTOR_ON: {
    trpc: 'CONFLICT',
    status: 409,
    message: 'Two-factor authentication is already on',
    headers: [],
  },
  FACTOR_NOT_SET_UP: {
    trpc: 'BAD_REQUEST',
    status: 400,
    message: 'Set up two-factor authentication first',
    headers: [],
  },
  /** A passkey assertion that does not verify, for whatever reason (CONTRACT.md). */
  PASSKEY_NOT_RECOGNISED: {
    trpc: 'UNAUTHORIZED',
    status: 401,
    message: 'Passkey not recognised',
    headers: ['WWW-Authenticate'],
  },
  /** A registration response that does not verify against the user's live challenge. */
  REGISTRATION_FAILED: {
    trpc: 'BAD_REQUEST',
    status: 400,
    message: 'Passkey registration failed',
    headers: [],
  },
  PASSKEY_TAKEN: {
    trpc: 'CONFLICT',
    status: 409,
    message: 'Passkey already registered',
    headers: [],
  },
  PASSKEY_LIMIT: {
    trpc: 'BAD_REQUEST',
    status: 400,
    message: 'Remove a passkey before adding another',
    headers: [],
  },
  UNKNOWN_PASSKEY: { trpc: 'NOT_FOUND', status: 404, message: 'Unknown passkey', headers: [] },
  CROSS_SITE: {
    trpc: 'FORBIDDEN',
    status: 403,
    message: 'Cross-site request refused',
    headers: [],
  },
  UNSUPPORTED_CONTENT_TYPE: {
    trpc: 'FORBIDDEN',
    status: 403,
    message: 'Unsupported content type',
    headers: [],
  },
} as const satisfies Record<string, PublicFailure>;

export type PublicFailureCode = keyof typeof PUBLIC_FAILURES;

/** What varies per answer: the wait of a `Retry-After` failure, a policy's own wording. */
export interface FailureDetails {
  retryAfter?: number | undefined;
  message?: string | undefined;
}

/**
 * A TRPCError's cause when the answer carries `Retry-After`: the tRPC hooks read it back into the
 * header (trpc-hooks.ts). Never sent to the client.
 */
export class RetryAfter extends Error {
  constructor(readonly seconds: number) {
    super('retry after');
  }
}

function retryAfterOf(code: PublicFailureCode, details: FailureDetails): number | null {
  const failure: PublicFailure = PUBLIC_FAILURES[code];
  return failure.headers.includes('Retry-After') ? (details.retryAfter ?? 1) : null;
}

/** The tRPC adapter: the table's code and message, and the wait as the cause. */
export function trpcFailure(code: PublicFailureCode, details: FailureDetails = {}): TRPCError {
  const failure = PUBLIC_FAILURES[code];
  const wait = retryAfterOf(code, details);
  return new TRPCError({
    code: failure.trpc,
    message: details.message ?? failure.message,
    ...(wait === null ? {} : { cause: new RetryAfter(wait) }),
  });
}

/** `WWW-Authenticate` for a 401: with `error="invalid_token"` when a token was presented. */
export function bearerChallenge(tokenPresented: boolean): string {
  return tokenPresented ? 'Bearer error="invalid_token"' : 'Bearer';
}

/** The REST answer of a failure: status, `{ detail }` body, and its headers. */
export interface RestFailure {
  status: number;
  body: { detail: string };
  headers: Record<string, string>;
}

/** The REST adapter; `tokenPresented` decides the bearer challenge of a 401 (RFC 6750 §3.1). */
export function restFailure(
  code: PublicFailureCode,
  details: FailureDetails & { tokenPresented?: boolean } = {},
): RestFailure {
  const failure = PUBLIC_FAILURES[code];
  const headers: Record<string, string> = {};
  const wanted: readonly FailureHeader[] = failure.headers;
  if (wanted.includes('WWW-Authenticate')) {
    headers['www-authenticate'] = bearerChallenge(details.tokenPresented ?? false);
  }
  const wait = retryAfterOf(code, details);
  if (wait !== null) headers['retry-after'] = String(wait);
  return { status: failure.status, body: { detail: details.message ?? failure.message }, headers };
}

/**
 * The headers the tRPC answer to `errors` carries, rebuilt from them: a bearer challenge with
 * any 401, and the longest wait any of them asks for.
 */
export function trpcFailureHeaders(
  errors: readonly TRPCError[],
  tokenPresented: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (errors.some((e) => e.code === 'UNAUTHORIZED')) {
    headers['www-authenticate'] = bearerChallenge(tokenPresented);
  }
  const wait = errors
    .map((e) => (e.cause instanceof RetryAfter ? e.cause.seconds : 0))
    .reduce((a, b) => Math.max(a, b), 0);
  if (wait > 0) headers['retry-after'] = String(wait);
  return headers;
}

/**
 * The public failure an infrastructure error stands for: hashing at capacity or the database out
 * of reach. Null for anything else (a bug: a 500 that says nothing).
 */
export function failureOfError(
  error: unknown,
): { code: 'BUSY' | 'UNAVAILABLE'; retryAfter: number } | null {
  if (error instanceof OverloadedError)
    return { code: 'BUSY', retryAfter: error.retryAfterSeconds };
  if (isDatabaseUnavailable(error)) return { code: 'UNAVAILABLE', retryAfter: 1 };
  return null;
}
