/**
 * Load worker: runs one autocannon load (in its own process, so it can be pinned to its own core)
 * and prints JSON lines on stdout: `{"event":"start"}` when the load begins, then
 * `{"event":"done","result":{...}}`. With `duration: 0` it runs until SIGTERM.
 *
 * Usage: node --import tsx bench/load.ts '<LoadSpec as JSON>'
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  /** Seconds; 0 = until SIGTERM. */
  duration: number;
  /**
   * A file of access tokens, one a line: each request, on whichever connection, sends the next
   * one (round-robin over all of them) as `authorization: Bearer …`.
   */
  tokensFile?: string;
  /** Stop after this many requests instead of after `duration` (a warm-up over every token). */
  amount?: number;
}

export interface LoadResult {
  /** Wall-clock seconds the load ran. */
  seconds: number;
  /** Responses of any status. */
  responses: number;
  /** 2xx responses. */
  ok: number;
  /** Responses per second (any status). */
  rps: number;
  /** 2xx responses per second. */
  okRps: number;
  /** Latency of 2xx responses, milliseconds. */
  p50: number;
  p99: number;
  max: number;
  /** Connection errors, including timeouts. */
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** With `tokensFile`: how many distinct tokens were sent, and how many lines the file has. */
  distinctTokens?: number;
  tokens?: number;
  /** With `tokensFile`: how many distinct 2xx bodies came back (one per user for `me`). */
  distinctBodies?: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[index] ?? 0;
}

function emit(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function main(): void {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  // Latencies are recorded here at sub-millisecond precision (autocannon's histogram keeps whole ms).
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const started = process.hrtime.bigint();

  const tokens = spec.tokensFile
    ? readFileSync(spec.tokensFile, 'utf8')
        .split('\n')
        .filter((t) => t !== '')
    : [];
  let sent = 0;
  const bodies = new Set<string>();
  const rotate: autocannon.Request[] | undefined =
    tokens.length > 0
      ? [
          {
            setupRequest: (request) => {
              const token = tokens[sent++ % tokens.length] ?? '';
              request.headers = { ...request.headers, authorization: `Bearer ${token}` };
              return request;
            },
            onResponse: (status, body) => {
              if (status >= 200 && status < 300) bodies.add(body);
            },
          },
        ]
      : undefined;

  const instance = autocannon(
    {
      url: spec.url,
      method: spec.method,
      headers: spec.headers,
      body: spec.body,
      connections: spec.connections,
      duration: spec.duration > 0 ? spec.duration : 3600,
      timeout: 10,
      ...(rotate ? { requests: rotate } : {}),
      ...(spec.amount ? { amount: spec.amount } : {}),
    },
    (error, result) => {
      if (error) {
        process.stderr.write(`load: ${String(error)}\n`);
        process.exit(1);
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const sorted = latencies.subarray(0, count).sort();
      const statusCodes: Record<string, number> = {};
      for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
        statusCodes[code] = stat.count ?? 0;
      }
      const responses = result.requests.total;
      const done: LoadResult = {
        seconds,
        responses,
        ok: result['2xx'],
        rps: responses / seconds,
        okRps: result['2xx'] / seconds,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        max: percentile(sorted, 1),
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
        statusCodes,
      };
      if (tokens.length > 0) {
        done.distinctTokens = Math.min(sent, tokens.length);
        done.tokens = tokens.length;
        done.distinctBodies = bodies.size;
      }
      emit({ event: 'done', result: done });
      process.exit(0);
    },
  );

  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode < 200 || statusCode >= 300) return;
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = responseTime;
  });
  emit({ event: 'start' });

  process.on('SIGTERM', () => instance.stop());
}

main();
