import type { IncomingMessage, ServerResponse } from 'node:http';
import { loginInputSchema } from '@latchkey/shared';
import { login } from '../auth/auth.service.ts';
import { bearerToken } from '../context.ts';
import { recordEvent } from '../audit/audit.service.ts';
import { fail, type ClientMeta, type Fail } from '../result.ts';
import { throttleClient } from '../throttle/throttle.service.ts';
import type { Deps } from '../deps.ts';
import { authenticate } from '../sessions/session.service.ts';
import { parseForm } from './form.ts';
import { restFailure } from '../public-errors.ts';
import { sendFailure, sendJson } from './respond.ts';
import { readBody } from './request.ts';

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };
/** Stands for an `otp` field whose bytes are not text: no code has this shape. */
const NOT_A_CODE = '\u0000';
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** FastAPI/pydantic's shape for a missing form field, which the tutorial's clients expect. */
function missingField(field: string) {
  return { type: 'missing', loc: ['body', field], msg: 'Field required', input: null };
}

/** pydantic's shape for bytes that are not text; the value is never echoed. */
function notText(field: string) {
  const msg = 'Input should be a valid string, unable to parse raw data as a unicode string';
  return { type: 'string_unicode', loc: ['body', field], msg, input: null };
}

/**
 * A sign-in whose credentials no account could have (a control character, an overlong password):
 * refused at once, with no hashing — that it is malformed is plain from the input, so answering
 * faster gives nothing away — but counted against the client like any failed sign-in, so a flood
 * of them is throttled rather than free.
 */
async function refuseMalformedLogin(
  deps: Deps,
  meta: ClientMeta,
): Promise<Fail<'THROTTLED' | 'INVALID_CREDENTIALS'>> {
  const verdict = await throttleClient(deps, meta.clientAddress);
  if (!verdict.allowed) {
    const entry = { event: 'login.throttled', reason: 'malformed', ...meta } as const;
    await recordEvent(deps, entry, { store: verdict.lockoutStarted });
    return fail('THROTTLED', { retryAfter: verdict.retryAfter });
  }
  await recordEvent(deps, { event: 'login.failure', reason: 'malformed', ...meta });
  return fail('INVALID_CREDENTIALS');
}

/**
 * POST /token, as in the FastAPI tutorial (OAuth2 password grant, form-encoded). The session it
 * starts has no refresh token and ends with its access token.
 */
export async function handleToken(
  deps: Deps,
  req: IncomingMessage,
  res: ServerResponse,
  meta: ClientMeta,
): Promise<void> {
  const body = await readBody(req, deps.config.maxBodyBytes);
  const form = FORM_TYPE.test(req.headers['content-type'] ?? '')
    ? parseForm(body)
    : new Map<string, string | null>();
  const username = form.get('username');
  const password = form.get('password');
  const invalid = [
    ...(username === undefined ? [missingField('username')] : []),
    ...(username === null ? [notText('username')] : []),
    ...(password === undefined ? [missingField('password')] : []),
    ...(password === null ? [notText('password')] : []),
  ];
  if (invalid.length > 0) return sendJson(res, 422, { detail: invalid }, NO_STORE);

  const parsed = loginInputSchema.safeParse({ username, password });
  // `otp`: the second factor's code, for users who have one (ignored by everyone else). Bytes that
  // are not text are a code that cannot match.
  const otp = form.get('otp');
  const secondFactor = { otp: otp === null ? NOT_A_CODE : otp };
  const result = parsed.success
    ? await login(deps, parsed.data, meta, { withRefreshToken: false, secondFactor })
    : await refuseMalformedLogin(deps, meta);
  if (result.ok && result.value.kind === 'session') {
    const session = result.value.session;
    return sendJson(
      res,
      200,
      { access_token: session.accessToken, token_type: 'bearer', expires_in: session.expiresIn },
      NO_STORE,
    );
  }
  // With `secondFactor` given, login never answers with a challenge; were it to, no token either.
  const code = result.ok ? 'MFA_REQUIRED' : result.code;
  // The credentials came in the form, not as a token: the challenge is the plain one.
  return sendFailure(res, restFailure(code, result.ok ? {} : result), NO_STORE);
}

/** GET /users/me with a bearer token: the tutorial's user shape plus Latchkey's fields. */
export async function handleUsersMe(
  deps: Deps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const bearer = bearerToken(req.headersDistinct.authorization ?? []);
  const auth = bearer.kind === 'token' ? await authenticate(deps, bearer.token) : null;
  if (!auth) {
    const code = bearer.kind === 'none' ? 'NOT_AUTHENTICATED' : 'INVALID_TOKEN';
    const failure = restFailure(code, { tokenPresented: bearer.kind !== 'none' });
    return sendFailure(res, failure, NO_STORE);
  }
  sendJson(
    res,
    200,
    {
      id: auth.user.id,
      username: auth.user.username,
      created_at: auth.user.createdAt.toISOString(),
      disabled: false,
    },
    NO_STORE,
  );
}
