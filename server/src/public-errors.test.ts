import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { describe, expect, it } from 'vitest';
import { OverloadedError } from './auth/limiter.ts';
import {
  failureOfError,
  PUBLIC_FAILURES,
  restFailure,
  RetryAfter,
  trpcFailure,
  trpcFailureHeaders,
  type PublicFailureCode,
} from './public-errors.ts';

const codes = Object.keys(PUBLIC_FAILURES) as PublicFailureCode[];

describe('public failures', () => {
  it.each(codes)('%s answers the same status and wording over tRPC and REST', (code) => {
    const error = trpcFailure(code, { retryAfter: 7 });
    const rest = restFailure(code, { retryAfter: 7 });
    expect(getHTTPStatusCodeFromError(error)).toBe(rest.status);
    expect(error.message).toBe(rest.body.detail);
    expect(trpcFailureHeaders([error], false)).toEqual(rest.headers);
  });

  it('carries the wait of a throttle as the cause, and no cause without one', () => {
    expect(trpcFailure('THROTTLED', { retryAfter: 42 }).cause).toEqual(new RetryAfter(42));
    expect((trpcFailure('THROTTLED').cause as RetryAfter).seconds).toBe(1);
    expect(trpcFailure('INVALID_CREDENTIALS', { retryAfter: 42 }).cause).toBeUndefined();
  });

  it('takes the longest wait of a batch and challenges a presented token', () => {
    const headers = trpcFailureHeaders(
      [
        trpcFailure('THROTTLED', { retryAfter: 3 }),
        trpcFailure('INVALID_TOKEN'),
        trpcFailure('BUSY'),
      ],
      true,
    );
    expect(headers).toEqual({
      'www-authenticate': 'Bearer error="invalid_token"',
      'retry-after': '3',
    });
  });

  it('maps only capacity and database failures to a public 503', () => {
    expect(failureOfError(new OverloadedError(2))).toEqual({ code: 'BUSY', retryAfter: 2 });
    expect(failureOfError(new Error('bug'))).toBeNull();
  });
});
