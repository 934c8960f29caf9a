import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDb,
  memoryLog,
  PASSWORD,
  startTestServer,
  testConfig,
  uniqueName,
} from '../../test/helpers.ts';
import { startApp } from '../app.ts';

const INDEX =
  '<!doctype html><html><head><title>Latchkey</title></head>' +
  '<body><div id="root">spa-index-marker</div></body></html>';
/** What the server adds to the document: the settings its first render needs. */
const SETTINGS_META = '<meta name="latchkey-password-min-length" content="15">';
const isDocument = (body: string) =>
  body.includes('spa-index-marker') && body.includes(SETTINGS_META);
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
function raw(
  url: string,
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
  body?: string,
) {
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
      req.end(body);
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
  it.each(['/', '/some/client/route', '/login', '/sessions', '/index.html', '/%69ndex.html'])(
    'GET %s is index.html with its settings, a strict CSP and Referrer-Policy',
    async (path) => {
      const res = await raw(spa.url, path);
      expect(res.status).toBe(200);
      expect(isDocument(res.body)).toBe(true);
      expect(res.body).toBe((await raw(spa.url, '/')).body);
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
      expect(res.headers['x-frame-options']).toBe('DENY');
    },
  );

  it('HEAD /index.html has the document’s headers and no body', async () => {
    const res = await raw(spa.url, '/index.html', 'HEAD');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(res.headers['content-security-policy']).toBe(
      (await raw(spa.url, '/')).headers['content-security-policy'],
    );
  });

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
    if (res.status === 200) expect(isDocument(res.body)).toBe(true);
  });
});

/** Every API answer: nothing loads, nothing runs, nothing frames it. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

describe('every API response', () => {
  it('carries the API CSP and nosniff, whichever part of the server answers', async () => {
    const json = { 'content-type': 'application/json' };
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const creds = JSON.stringify({ username: uniqueName(), password: PASSWORD });
    expect((await raw(spa.url, '/trpc/register', 'POST', json, creds)).status).toBe(200);
    const login = await raw(spa.url, '/trpc/login', 'POST', json, creds);
    const token = (JSON.parse(login.body) as { result: { data: { accessToken: string } } }).result
      .data.accessToken;
    const auth = { authorization: `Bearer ${token}` };
    const big = 'x'.repeat(70_000);
    const cases: [string, string, string, Record<string, string>, string | undefined, number][] = [
      ['lean query', '/trpc/me', 'GET', auth, undefined, 200],
      ['lean query refused', '/trpc/me', 'GET', {}, undefined, 401],
      ['lean mutation', '/trpc/login', 'POST', json, creds, 200],
      ['adapter batch', '/trpc/me,me?batch=1', 'GET', auth, undefined, 200],
      [
        'streamed batch',
        '/trpc/me,me?batch=1',
        'GET',
        { ...auth, 'trpc-accept': 'application/jsonl' },
        undefined,
        200,
      ],
      ['tRPC bad input', '/trpc/register', 'POST', json, '{}', 400],
      ['tRPC form body', '/trpc/register', 'POST', { 'content-type': 'text/plain' }, creds, 403],
      ['tRPC unknown procedure', '/trpc/nope', 'GET', {}, undefined, 404],
      ['tRPC wrong method', '/trpc/me', 'PUT', {}, undefined, 405],
      ['tRPC body too large', '/trpc/login', 'POST', json, big, 413],
      ['REST token refused', '/token', 'POST', form, 'username=x&password=y', 401],
      ['REST token, fields missing', '/token', 'POST', form, '', 422],
      ['REST me', '/users/me', 'GET', auth, undefined, 200],
      ['REST body too large', '/token', 'POST', form, big, 413],
      ['REST unknown path', '/users/nope', 'GET', {}, undefined, 404],
      ['REST wrong method', '/token', 'GET', {}, undefined, 405],
      ['healthz', '/healthz', 'GET', {}, undefined, 200],
      ['readyz', '/readyz', 'GET', {}, undefined, 200],
      ['unparseable request target', '//[', 'GET', {}, undefined, 400],
    ];
    for (const [label, path, method, headers, body, status] of cases) {
      const res = await raw(spa.url, path, method, headers, body);
      expect(res.status, label).toBe(status);
      expect(res.headers['content-security-policy'], label).toBe(API_CSP);
      expect(res.headers['x-content-type-options'], label).toBe('nosniff');
      expect(res.headers['x-powered-by'], label).toBeUndefined();
      if (path.startsWith('/trpc/')) {
        // Any tRPC answer may carry a token or user data.
        expect(res.headers['cache-control'], label).toBe('no-store');
        expect(res.headers.pragma, label).toBe('no-cache');
      }
    }
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
