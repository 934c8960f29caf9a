import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isDatabaseUnavailable } from '@latchkey/db';
import { OverloadedError } from '../auth/limiter.ts';
import type { Deps } from '../deps.ts';
import { requestLogger } from '../logger.ts';
import { handleToken, handleUsersMe } from './rest.ts';
import { clientAddress } from './client-address.ts';
import { BodyTooLargeError, requestIdOf, tagRequest } from './request.ts';
import { methodNotAllowed, notFound, sendJson } from './respond.ts';
import { heldFor, holdConnection } from './hold.ts';
import { createStaticHandler } from './static.ts';
import { createTrpcHandler } from './trpc-handler.ts';

const API_PREFIXES = ['/trpc', '/token', '/users', '/healthz', '/readyz', '/.well-known'];
/**
 * On every response: an API answer loads nothing, runs nothing and is framed nowhere; the SPA
 * document replaces it with its own policy (static.ts).
 */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const CORS_ALLOW_HEADERS = 'authorization, content-type, x-latchkey-csrf, trpc-accept';

function isApiPath(pathname: string): boolean {
  return API_PREFIXES.some((p) => pathname === p || pathname.startsWith(`${p}/`));
}

export interface HttpApp {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Flip /readyz to 503 (draining before shutdown). */
  setDraining(draining: boolean): void;
}

export function createHttpApp(deps: Deps, options: { spaDir?: string } = {}): HttpApp {
  const trpc = createTrpcHandler(deps);
  const serveStatic = createStaticHandler(options.spaDir, {
    passwordMinLength: deps.config.passwordMinLength,
  });
  const { config, logger } = deps;
  const requestLog = requestLogger(logger);
  let draining = false;

  /** Exact-match CORS for configured origins only; never reflects an arbitrary Origin. */
  function applyCors(req: IncomingMessage, res: ServerResponse): boolean {
    res.setHeader('vary', 'Origin');
    const origin = req.headers.origin;
    if (origin === undefined || !config.corsOrigins.includes(origin)) return false;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-credentials', 'true');
    return true;
  }

  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    pathname: string,
    search: URLSearchParams,
  ) {
    const method = req.method ?? 'GET';
    if (!isApiPath(pathname)) {
      if (method === 'GET' || method === 'HEAD') return serveStatic(req, res, pathname);
      return methodNotAllowed(res, 'GET, HEAD');
    }
    const allowed = applyCors(req, res);
    if (method === 'OPTIONS' && allowed) {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': CORS_ALLOW_HEADERS,
        'access-control-max-age': '600',
      });
      return void res.end();
    }
    // Under /trpc/ every answer is tRPC's, wrong methods and unknown procedures included.
    if (pathname.startsWith('/trpc/')) {
      return trpc(req, res, pathname.slice('/trpc/'.length), search);
    }
    const meta = {
      clientAddress: clientAddress(req, config.trustProxy),
      userAgent: req.headers['user-agent']?.slice(0, 512) ?? null,
      requestId: requestIdOf(req),
    };
    switch (pathname) {
      case '/token':
        if (method !== 'POST') return methodNotAllowed(res, 'POST');
        return handleToken(deps, req, res, meta);
      case '/users/me':
        if (method !== 'GET') return methodNotAllowed(res, 'GET');
        return handleUsersMe(deps, req, res);
      case '/healthz':
        if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
        return sendJson(res, 200, { status: 'ok' }, { 'cache-control': 'no-store' });
      case '/readyz': {
        if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
        const ready = !draining && (await deps.dbh.ping());
        return sendJson(
          res,
          ready ? 200 : 503,
          { status: ready ? 'ready' : draining ? 'draining' : 'database unavailable' },
          { 'cache-control': 'no-store' },
        );
      }
      default:
        return notFound(res);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const wait = heldFor(req.socket);
    if (wait > 0) {
      // A login on this connection was just refused for capacity: the next request waits a little.
      setTimeout(() => {
        if (!req.socket.destroyed) void handle(req, res);
      }, wait);
      return;
    }
    const started = process.hrtime.bigint();
    const requestId = randomUUID();
    tagRequest(req, requestId);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('content-security-policy', API_CSP);
    res.setHeader('x-request-id', requestId);
    let pathname = '/';
    let search: URLSearchParams;
    if (requestLog.isLevelEnabled('info')) {
      res.once('finish', () =>
        requestLog.info(
          {
            requestId,
            method: req.method,
            path: pathname,
            status: res.statusCode,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
            clientAddress: clientAddress(req, config.trustProxy),
          },
          'request',
        ),
      );
    }
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      pathname = url.pathname;
      search = url.searchParams;
    } catch {
      return sendJson(res, 400, { detail: 'Bad Request' });
    }
    try {
      await route(req, res, pathname, search);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        // The unread rest of the body is still on the connection: close it after answering.
        if (!res.headersSent) {
          sendJson(res, 413, { detail: 'Request body too large' }, { connection: 'close' });
        }
      } else if (error instanceof OverloadedError || isDatabaseUnavailable(error)) {
        if (!res.headersSent) {
          const busy = error instanceof OverloadedError;
          sendJson(
            res,
            503,
            {
              detail: busy
                ? 'Server busy, try again later'
                : 'Service temporarily unavailable, try again later',
            },
            {
              'retry-after': String(busy ? error.retryAfterSeconds : 1),
              'cache-control': 'no-store',
            },
          );
          if (busy) holdConnection(req.socket);
        }
      } else {
        logger.error(
          { requestId, err: { type: (error as Error).name, message: (error as Error).message } },
          'unhandled error',
        );
        if (!res.headersSent) sendJson(res, 500, { detail: 'Internal server error' });
        else res.destroy();
      }
    }
  }

  return { handle, setDraining: (value) => void (draining = value) };
}

export function createHttpServer(app: HttpApp): Server {
  const server = createServer((req, res) => void app.handle(req, res));
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  return server;
}
