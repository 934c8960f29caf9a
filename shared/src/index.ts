export * from './credentials.ts';
export * from './mfa.ts';
export * from './passkeys.ts';

/** Name of the refresh-token cookie; the `__Host-` prefix pins it to this origin and path `/`. */
export const REFRESH_COOKIE = '__Host-latchkey_rt';
/** Header every cookie-authenticated mutation must carry with the value `1`. */
export const CSRF_HEADER = 'x-latchkey-csrf';
