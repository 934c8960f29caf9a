import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendJson } from './respond.ts';

export const DEFAULT_SPA_DIR = fileURLToPath(new URL('../../../client/dist', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** The document's policy: no inline script or style, nothing framed, nothing loaded off-origin. */
export const SPA_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const DOCUMENT_HEADERS = {
  'content-security-policy': SPA_CSP,
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/** Server settings the SPA needs before its first request, as `<meta>` tags (CSP allows no inline script). */
export interface SpaSettings {
  passwordMinLength: number;
}

function withSettings(html: string, settings: SpaSettings): Buffer {
  const meta = `<meta name="latchkey-password-min-length" content="${settings.passwordMinLength}">`;
  return Buffer.from(html.replace(/<\/head>/i, (end) => `  ${meta}\n  ${end}`));
}

/** Serves the built SPA: files under `dir`, and index.html for every other path (client routes). */
export function createStaticHandler(dir: string = DEFAULT_SPA_DIR, settings: SpaSettings) {
  const indexPath = join(dir, 'index.html');
  const index = existsSync(indexPath)
    ? withSettings(readFileSync(indexPath, 'utf8'), settings)
    : null;

  return (req: IncomingMessage, res: ServerResponse, pathname: string): void => {
    const head = req.method === 'HEAD';
    if (pathname !== '/' && !pathname.includes('\0')) {
      const file = normalize(join(dir, decodeURIComponentSafe(pathname)));
      // index.html is the document however it is named, with its headers and settings.
      if (file !== indexPath && file.startsWith(dir + sep) && isFile(file)) {
        const hashed = file.startsWith(join(dir, 'assets') + sep);
        res.writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'content-length': statSync(file).size,
          'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
        });
        if (head) res.end();
        else createReadStream(file).pipe(res);
        return;
      }
    }
    if (!index) {
      sendJson(res, 503, { detail: 'The web app is not built; run pnpm build' });
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES['.html'],
      'content-length': index.length,
      'cache-control': 'no-cache',
      ...DOCUMENT_HEADERS,
    });
    res.end(head ? undefined : index);
  };
}

function decodeURIComponentSafe(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return '\0';
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
