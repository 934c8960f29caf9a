import type { IncomingMessage } from 'node:http';
import { TRPCError } from '@trpc/server';
import { appRouter } from '../routers/index.ts';
import { getProcedureAtPath } from './trpc-internals.ts';

/** tRPC's own test for a JSON body (media types are case-insensitive; parameters allowed). */
export function isJsonContent(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return type?.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

/** The methods a procedure answers, carried as the cause of METHOD_NOT_SUPPORTED for `Allow`. */
export class AllowedMethods extends Error {
  constructor(readonly allow: string) {
    super('allowed methods');
  }
}

/**
 * `Allow` for a METHOD_NOT_SUPPORTED answer. The adapter raises it only for a GET of a mutation
 * or a POST of a query (other requests are refused here first), so the other method is the one.
 */
export function allowHeader(error: TRPCError, method: string | undefined): string {
  if (error.cause instanceof AllowedMethods) return error.cause.allow;
  return method === 'GET' ? 'POST' : 'GET';
}

function decodePaths(rawPath: string, batch: boolean): string[] | null {
  try {
    const path = decodeURIComponent(rawPath);
    return batch ? path.split(',') : [path];
  } catch {
    return null;
  }
}

/**
 * The error a request gets before tRPC sees it, or null to let tRPC answer. Only requests tRPC's
 * adapter would answer outside its own rules are taken: a method other than GET and POST (the
 * adapter ignores the method until it has parsed a body by its content type), and a POST whose
 * body is not JSON. tRPC answers those with 415, or runs a mutation posted as
 * `multipart/form-data` (a CORS-simple request any site can send); here they get tRPC's answers
 * in tRPC's order — NOT_FOUND for an unknown procedure, METHOD_NOT_SUPPORTED (with the methods
 * allowed) for the wrong method, and FORBIDDEN for a mutation whose body is not JSON — before
 * any body is parsed, any context made or any procedure run.
 */
export async function refusalOf(
  req: IncomingMessage,
  rawPath: string,
  search: URLSearchParams,
): Promise<TRPCError | null> {
  const method = req.method ?? 'GET';
  if (method === 'GET' || (method === 'POST' && isJsonContent(req))) return null;
  const paths = decodePaths(rawPath, search.get('batch') === '1');
  if (!paths) {
    return new TRPCError({ code: 'BAD_REQUEST', message: `Invalid URL-encoding in path` });
  }
  const procedures = await Promise.all(paths.map((path) => getProcedureAtPath(appRouter, path)));
  const types = new Set<string>();
  for (const [index, procedure] of procedures.entries()) {
    if (!procedure) {
      const message = `No procedure found on path "${paths[index] ?? ''}"`;
      return new TRPCError({ code: 'NOT_FOUND', message });
    }
    types.add(procedure._def.type);
  }
  const takesGet = types.has('query') || types.has('subscription');
  if (method !== 'POST' || takesGet) {
    const allow = takesGet ? (types.has('mutation') ? 'GET, POST' : 'GET') : 'POST';
    return new TRPCError({
      code: 'METHOD_NOT_SUPPORTED',
      message: `Unsupported ${method}-request to ${[...types].join(', ')} procedure at path "${paths.join(',')}"`,
      cause: new AllowedMethods(allow),
    });
  }
  return new TRPCError({ code: 'FORBIDDEN', message: 'Unsupported content type' });
}
