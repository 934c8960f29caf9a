/**
 * `pnpm bench`: Latchkey against a plain tRPC baseline. See bench/README.md for how to read it.
 *
 *   pnpm bench [--runs 3] [--duration 10] [--connections 50] [--login-connections 16]
 *              [--flood-connections 200] [--warmup 2] [--database pglite:memory|postgres://...]
 *              [--no-pin] [--smoke]
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureFootprint } from './footprint.ts';
import { hasTaskset, installCleanup, ROOT, spawnNode, startLoad, waitIdle } from './procs.ts';
import {
  LOGIN,
  problems,
  render,
  renderCapacity,
  summarize,
  writeJson,
  type Capacity,
  type Run,
} from './report.ts';
import { measure, scenarios } from './scenarios.ts';
import { startBaseline, startLatchkey } from './servers.ts';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    'login-connections': { type: 'string' },
    'flood-connections': { type: 'string' },
    warmup: { type: 'string' },
    database: { type: 'string', default: 'pglite:memory' },
    'no-pin': { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
  },
});

function num(value: string | undefined, fallback: number, smokeValue: number): number {
  if (value !== undefined) {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`not a number: ${value}`);
    return n;
  }
  return flags.smoke ? smokeValue : fallback;
}

const options = {
  runs: Math.max(1, num(flags.runs, 3, 1)),
  duration: Math.max(1, num(flags.duration, 10, 2)),
  connections: Math.max(1, num(flags.connections, 50, 4)),
  loginConnections: Math.max(1, num(flags['login-connections'], 16, 2)),
  floodConnections: Math.max(1, num(flags['flood-connections'], 200, 20)),
  warmup: num(flags.warmup, 2, 0),
  database: flags.database,
  smoke: flags.smoke,
};

// Servers on core 0, load generators on core 1 (when taskset exists and there are two cores).
const pin = !flags['no-pin'] && hasTaskset && cpus().length >= 2;
const SERVER_CPU = pin ? '0' : null;
const LOAD_CPU = pin ? '1' : null;

/** One argon2id verification's median time on the server core (bench/hash-time.ts). */
async function singleHashMs(): Promise<number> {
  const child = spawnNode('bench/hash-time.ts', [], { cpu: SERVER_CPU, label: 'hash-time' });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.once('close', resolve));
  return (JSON.parse(out) as { medianMs: number }).medianMs;
}

async function main(): Promise<number> {
  installCleanup();
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('the build failed');
  const t0 = Date.now();
  process.stderr.write(
    `bench: ${JSON.stringify(options)}; pinning: ${pin ? 'servers on cpu 0, load on cpu 1' : 'off'}\n`,
  );
  const [latchkey, baseline, uncached] = await Promise.all([
    startLatchkey({ database: options.database, cpu: SERVER_CPU }),
    startBaseline({ cpu: SERVER_CPU }),
    startLatchkey({
      database: options.database,
      cpu: SERVER_CPU,
      env: { SESSION_CACHE_MS: '0' },
      name: 'latchkey-uncached',
    }),
  ]);
  process.stderr.write(`bench: servers ready after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  // Before each run, both servers must be idle: work queued by the previous scenario (a login
  // flood leaves queued logins behind) would otherwise run on the server core during the next run.
  const settle = async () => {
    const waited = await waitIdle([latchkey.pid, baseline.pid, uncached.pid]);
    if (waited > 2)
      process.stderr.write(`bench:   (waited ${waited.toFixed(1)} s for idle servers)\n`);
  };
  await settle();
  const all = scenarios(latchkey, baseline, uncached, options);

  if (options.warmup > 0) {
    for (const scenario of all.filter((s) => !s.flood)) {
      process.stderr.write(`bench: warm-up ${scenario.name} (${options.warmup} s)\n`);
      await startLoad({ ...scenario.spec, duration: options.warmup }, LOAD_CPU, 'warmup').done;
      await settle();
    }
  }

  // Rounds interleave the scenarios (A B C D E, A B C D E, …) so machine noise hits all of them.
  const runs: Run[] = [];
  for (let round = 1; round <= options.runs; round++) {
    for (const scenario of all) {
      process.stderr.write(`bench: round ${round}/${options.runs}: ${scenario.name}\n`);
      const isLogin = scenario.name === LOGIN;
      const hashBefore = isLogin ? await singleHashMs() : undefined;
      const run = await measure(scenario, round, LOAD_CPU);
      if (hashBefore !== undefined) {
        await settle(); // the logins still in flight would slow the timing down
        const hashAfter = await singleHashMs();
        run.singleHashMsAround = [hashBefore, hashAfter];
        run.singleHashMs = (hashBefore + hashAfter) / 2;
      }
      process.stderr.write(
        `bench:   ${run.load.rps.toFixed(0)} req/s, p99 ${run.load.p99.toFixed(2)} ms\n`,
      );
      runs.push(run);
      await settle();
    }
  }

  await Promise.all([latchkey.stop(), baseline.stop(), uncached.stop()]);
  process.stderr.write('bench: embedded footprint\n');
  const capacity: Capacity = {
    // Pinned, the server has one core; otherwise all the cores it may use.
    cores: pin ? 1 : availableParallelism(),
    footprint: await measureFootprint(SERVER_CPU, options.smoke ? 1 : 3),
  };

  const summaries = summarize(runs);
  process.stdout.write(`\n${render(summaries)}\n\n${renderCapacity(summaries, capacity)}\n`);
  const issues = problems(summaries);
  const file = writeJson(join(ROOT, 'bench', 'results'), {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    pinned: pin,
    options,
    medians: summaries.map((s) => s.median),
    capacity,
    runs,
    problems: issues,
  });
  process.stdout.write(`\nresults: ${file}\n`);
  if (issues.length > 0) {
    process.stderr.write(`bench: FAILED\n${issues.map((i) => `  - ${i}`).join('\n')}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
