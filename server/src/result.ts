/** Services return these instead of throwing; only the tRPC and REST layers turn them into HTTP. */
export type Ok<T> = { ok: true; value: T };
export type Fail<C extends string> = { ok: false; code: C; message?: string; retryAfter?: number };
export type Result<T, C extends string> = Ok<T> | Fail<C>;

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });
export const fail = <C extends string>(
  code: C,
  extra: { message?: string; retryAfter?: number } = {},
): Fail<C> => ({ ok: false, code, ...extra });

/** Who is calling, as recorded with sessions and audit events. */
export interface ClientMeta {
  clientAddress: string | null;
  userAgent: string | null;
  /** For log lines about this request (not stored in the audit trail). */
  requestId?: string | null;
}
