import { PASSWORD_MIN_LENGTH } from '@latchkey/shared';

/**
 * The server's configured minimum password length, delivered in a `<meta>` tag of index.html so
 * the forms validate exactly as the server will (the contract default when served by Vite alone).
 */
function readPasswordMinLength(): number {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="latchkey-password-min-length"]');
  const value = Number(meta?.content);
  return Number.isInteger(value) && value > 0 ? value : PASSWORD_MIN_LENGTH;
}

export const passwordMinLength = readPasswordMinLength();
