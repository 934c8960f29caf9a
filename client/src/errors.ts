import type { AppRouter } from '@latchkey/server';
import { isTRPCClientError } from '@trpc/client';

export interface ErrorDetails {
  message: string;
  fieldErrors: Partial<Record<string, string>>;
}

/** What a form shows for a failed call: the server's own words where it chose them. */
export function describeError(error: unknown): ErrorDetails {
  if (!isTRPCClientError<AppRouter>(error) || !error.data) {
    return {
      message: 'Could not reach Latchkey. Check your connection and try again.',
      fieldErrors: {},
    };
  }
  if (error.data.code === 'INTERNAL_SERVER_ERROR') {
    return { message: 'Something went wrong on our side. Please try again.', fieldErrors: {} };
  }
  if (error.data.code === 'FORBIDDEN') {
    return { message: 'The request was refused. Reload the page and try again.', fieldErrors: {} };
  }
  const fieldErrors: Partial<Record<string, string>> = {};
  for (const [field, messages] of Object.entries(error.data.fieldErrors ?? {})) {
    fieldErrors[field] = messages[0];
  }
  return { message: error.message, fieldErrors };
}
