import type { ReactNode } from 'react';

/** Shown while the session is restored or a page's code or data loads. */
export function Loading() {
  return (
    <p className="loading" role="status">
      Loading…
    </p>
  );
}

/** A form-level message; `role="alert"` makes screen readers announce it when it appears. */
export function FormAlert({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <p className="alert" role="alert">
      {children}
    </p>
  );
}
