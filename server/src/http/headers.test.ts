import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, memoryLog, startTestServer, testConfig } from '../../test/helpers.ts';
import { startApp } from '../app.ts';

const INDEX = '<!doctype html><title>Latchkey</title><div id="root">spa-index-marker</div>';
const SECRET = 'outside-the-spa-dir-9f3a';

let root: string;
let spa: Awaited<ReturnType<typeof startSpa>>;
let cors: Awaited<ReturnType<typeof startTestServer>>;

/** The real app with a temporary SPA dir; secrets sit next to it, where traversal would reach. */
async function startSpa() {
  root = mkdtempSync(join(tmpdir(), 'latchkey-spa-'));
  const dir = join(root, 'spa');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log("app");\n');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: SECRET }));
  mkdirSync(join(root, 'spa-private'));
  writeFileSync(join(root, 'spa-private', 'key.txt'), SECRET);
  const dbh = await createTestDb();
  const app = await startApp(testConfig({ HOST: '127.0.0.1' }), {
    dbh,
    logger: memoryLog().logger,
    spaDir: dir,
  });
  return { ...app, close: () => app.close().then(() => dbh.close()) };
}

beforeAll(async () => {
  [spa, cors] = await Promise.all([
    startSpa(),
    startTestServer({ CORS_ORIGINS: 'https://app.example' }),
  ]);
});
afterAll(async () => {
  await Promise.all([spa.close(), cors.close()]);
  rmSync(root, { recursive: true, force: true });
});

/** Raw HTTP with the path sent verbatim (fetch would normalise `..` away before sending). */
function raw(url: string, path: string, method = 'GET', headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const req = request({ hostname, port, path, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

function directives(csp: unknown): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of String(csp).split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) map.set(name.toLowerCase(), values);
  }
  return map;
}

describe('the SPA document', () => {
  it.each(['/', '/some/client/route', '/login', '/sessions'])(
    'GET %s is index.html with a strict CSP and Referrer-Policy',
    async (path) => {
      const res = await raw(spa.url, path);
      expect(res.status).toBe(200);
      expect(res.body).toBe(INDEX);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-powered-by']).toBeUndefined();
      const csp = directives(res.headers['content-security-policy']);
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
      const script = csp.get('script-src') ?? csp.get('default-src');
      expect(script).toBeDefined();
      expect(script).not.toContain("'unsafe-inline'");
      expect(script).not.toContain("'unsafe-eval'");
      expect(String(res.headers['referrer-policy'])).toMatch(
        /^(no-referrer|same-origin|strict-origin|strict-origin-when-cross-origin)$/,
      );
    },
  );

  it('serves a built asset with its type and long caching', async () => {
    const res = await raw(spa.url, '/assets/app.js');
    expect(res.status).toBe(200);
    expect(res.body).toBe('console.log("app");\n');
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toContain('immutable');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it.each(['POST', 'PUT', 'DELETE'])('%s / is 405 with Allow', async (method) => {
    const res = await raw(spa.url, '/', method);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.body).toBe('{"detail":"Method Not Allowed"}');
  });

  it.each([
    '/../package.json',
    '/%2e%2e/package.json',
    '/assets/..%2f..%2fpackage.json',
    '/..%2fpackage.json',
    '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
    '/..%5cpackage.json',
    '/..%2fspa-private%2fkey.txt',
    '/%2e%2e%2fspa-private/key.txt',
    '/assets/%00../../package.json',
  ])('%s never serves a file outside the SPA dir', async (path) => {
    const res = await raw(spa.url, path);
    expect(res.body).not.toContain(SECRET);
    expect([200, 400, 404]).toContain(res.status);
    if (res.status === 200) expect(res.body).toBe(INDEX);
  });
});

describe('CORS', () => {
  const paths = ['/trpc/me', '/users/me', '/healthz'];

  it.each(paths)('by default %s grants no foreign origin', async (path) => {
    const res = await raw(spa.url, path, 'GET', { origin: 'https://evil.example' });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    const pre = await raw(spa.url, path, 'OPTIONS', {
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
    });
    expect(pre.status).not.toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each(paths)('a configured origin on %s is echoed with credentials and Vary', async (path) => {
    const res = await raw(cors.url, path, 'GET', { origin: 'https://app.example' });
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const vary = (res.headers.vary ?? '').split(',').map((v) => v.trim().toLowerCase());
    expect(vary).toContain('origin');
  });

  it('a preflight from the configured origin is 204 with the API headers allowed', async () => {
    const res = await raw(cors.url, '/trpc/refresh', 'OPTIONS', {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, x-latchkey-csrf',
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const allowed = String(res.headers['access-control-allow-headers']).toLowerCase();
    for (const h of ['content-type', 'x-latchkey-csrf', 'authorization']) {
      expect(allowed).toContain(h);
    }
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
  });

  it.each([
    'https://app.example.evil',
    'http://app.example',
    'https://app.example:8443',
    'https://evil.app.example',
    'null',
  ])('%s is not granted even with CORS_ORIGINS set', async (origin) => {
    for (const method of ['GET', 'OPTIONS']) {
      const res = await raw(cors.url, '/trpc/me', method, {
        origin,
        'access-control-request-method': 'GET',
      });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      if (method === 'OPTIONS') expect(res.status).not.toBe(204);
    }
  });
});
