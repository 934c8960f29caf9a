/**
 * `pnpm bench`: Latchkey against a plain tRPC baseline. See bench/README.md for how to read it.
 *
 *   pnpm bench [--runs 3] [--duration 10] [--connections 50] [--login-connections 16]
 *              [--flood-connections 200] [--warmup 2] [--database pglite] [--database postgres://...]
 *              [--sessions 100000] [--users 25000] [--scenarios me,many,...] [--no-pin] [--smoke]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureFootprint } from './footprint.ts';
import {
  hasTaskset,
  installCleanup,
  ROOT,
  sleep,
  spawnNode,
  startLoad,
  waitIdle,
} from './procs.ts';
import {
  problems,
  render,
  renderCapacity,
  SCENARIO_KEYS,
  summarize,
  writeJson,
  type Capacity,
  type Run,
  type ScenarioKey,
} from './report.ts';
import { measure, scenarios, type LatchkeyServers } from './scenarios.ts';
import {
  databaseKind,
  freshDatabase,
  pinPostgres,
  postgresCounters,
  type PostgresCounters,
  mintTokens,
  seedSessions,
  type BenchDatabase,
} from './seed.ts';
import { LATCHKEY_OVERRIDES, startBaseline, startLatchkey, type RunningServer } from './servers.ts';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    'login-connections': { type: 'string' },
    'flood-connections': { type: 'string' },
    warmup: { type: 'string' },
    database: { type: 'string', multiple: true },
    sessions: { type: 'string' },
    users: { type: 'string' },
    scenarios: { type: 'string' },
    'postgres-cpu': { type: 'string' },
    'postgres-stats': { type: 'boolean', default: false },
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
  databases: flags.database ?? ['pglite'],
  sessions: Math.max(1, num(flags.sessions, 100_000, 2_000)),
  users: Math.max(1, num(flags.users, 25_000, 500)),
  scenarios: flags.scenarios?.split(',').map((s) => s.trim()) ?? SCENARIO_KEYS,
  smoke: flags.smoke,
};
for (const key of options.scenarios) {
  if (!(SCENARIO_KEYS as string[]).includes(key)) {
    throw new Error(
      `--scenarios: unknown ${JSON.stringify(key)} (known: ${SCENARIO_KEYS.join(', ')})`,
    );
  }
}
for (const spec of options.databases) databaseKind(spec); // fails early on a bad --database
const kinds = options.databases.map(databaseKind);
if (new Set(kinds).size !== kinds.length) throw new Error('--database: one of each kind at most');
const selected = new Set(options.scenarios as ScenarioKey[]);
const postgresSpec = options.databases.find((d) => databaseKind(d) === 'postgres') ?? '';
const postgresCpu = flags['postgres-cpu'] ?? null;
if (postgresCpu !== null && (!hasTaskset || postgresSpec === '')) {
  throw new Error('--postgres-cpu needs taskset and a --database postgres://…');
}
const wants = (...keys: ScenarioKey[]) => keys.some((k) => selected.has(k));

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

/**
 * Pins the backends of `databases` to `cpu` now and every second until stopped (the pool opens
 * connections as load needs them and closes idle ones); resolves with every pid it pinned.
 */
function keepPinned(databases: string[], cpu: string): () => Promise<number[]> {
  const seen = new Set<number>();
  let running = Promise.resolve();
  const pin = () => {
    running = running
      .then(() => pinPostgres(postgresSpec, databases, cpu))
      .then((pids) => pids.forEach((pid) => seen.add(pid)));
  };
  pin();
  const timer = setInterval(pin, 1000);
  return async () => {
    clearInterval(timer);
    await running;
    return [...seen].sort((a, b) => a - b);
  };
}

async function main(): Promise<number> {
  installCleanup();
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('the build failed');
  const t0 = Date.now();
  process.stderr.write(
    `bench: ${JSON.stringify(options)}; pinning: ${pin ? 'servers on cpu 0, load on cpu 1' : 'off'}\n`,
  );
  const scratch = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
  const databases: BenchDatabase[] = [];
  const databaseOf = new Map<RunningServer, BenchDatabase>();
  const databaseNames = (scenario: { server: RunningServer }) => {
    const name = databaseOf.get(scenario.server)?.name;
    return name ? [name] : [];
  };
  const servers: RunningServer[] = [];
  const started = async <T extends RunningServer>(server: Promise<T>): Promise<T> => {
    const s = await server;
    servers.push(s);
    return s;
  };
  const fresh = async (spec: string, label: string) => {
    const db = await freshDatabase(spec, label);
    databases.push(db);
    return db;
  };
  const stopAll = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(databases.map((d) => d.drop()));
  };

  let baseline: RunningServer | undefined;
  const perDatabase: LatchkeyServers[] = [];
  try {
    const baselineStarted = wants('baseline')
      ? started(startBaseline({ cpu: SERVER_CPU }))
      : undefined;
    for (const spec of options.databases) {
      const database = databaseKind(spec);
      const set: LatchkeyServers = { database };
      const start = async (name: string, db: BenchDatabase, env: Record<string, string> = {}) => {
        const server = await started(
          startLatchkey({ database: db.url, cpu: SERVER_CPU, env, name }),
        );
        databaseOf.set(server, db);
        return server;
      };
      const pending: Promise<unknown>[] = [];
      if (wants('me', 'many', 'users-me', 'login', 'flood')) {
        const db = await fresh(spec, 'main');
        if (wants('many')) {
          // Seeded before the server opens it (an embedded data directory has one owner).
          const seeded = await seedSessions(db.url, options.users, options.sessions);
          process.stderr.write(
            `bench: ${database}: ${seeded.sessions.length} sessions of ${seeded.users} users ` +
              `seeded in ${seeded.seconds.toFixed(1)} s\n`,
          );
          set.seeded = { users: seeded.users, sessions: seeded.sessions.length };
          pending.push(
            start(`latchkey-${database}`, db).then(async (server) => {
              set.main = server;
              set.tokensFile = await mintTokens(server.env, seeded.sessions, scratch);
            }),
          );
        } else {
          pending.push(start(`latchkey-${database}`, db).then((s) => (set.main = s)));
        }
      }
      if (wants('uncached')) {
        const db = await fresh(spec, 'uncached');
        pending.push(
          start(`uncached-${database}`, db, { SESSION_CACHE_MS: '0' }).then(
            (s) => (set.uncached = s),
          ),
        );
      }
      if (wants('warn')) {
        const db = await fresh(spec, 'warn');
        pending.push(
          start(`warn-${database}`, db, { LOG_LEVEL: 'warn' }).then((s) => (set.warn = s)),
        );
      }
      await Promise.all(pending);
      perDatabase.push(set);
    }
    baseline = await baselineStarted;
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
  process.stderr.write(`bench: servers ready after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  // Before each run, every server must be idle: work queued by the previous scenario (a login
  // flood leaves queued logins behind) would otherwise run on the server core during the next run.
  const settle = async () => {
    const waited = await waitIdle(servers.map((s) => s.pid));
    if (waited > 2)
      process.stderr.write(`bench:   (waited ${waited.toFixed(1)} s for idle servers)\n`);
  };
  await settle();
  const all = scenarios(baseline, perDatabase, options).filter((s) => selected.has(s.key));

  if (options.warmup > 0) {
    for (const scenario of all.filter((s) => !s.flood)) {
      // Many sessions: every token once, as each session of a live user has been used before;
      // a session's first request loads it from the database, later ones find it in memory.
      const amount = scenario.spec.tokensFile ? lineCount(scenario.spec.tokensFile) : undefined;
      process.stderr.write(
        `bench: warm-up ${scenario.name} (${amount ? `${amount} requests` : `${options.warmup} s`})\n`,
      );
      await startLoad({ ...scenario.spec, duration: options.warmup, amount }, LOAD_CPU, 'warmup')
        .done;
      await settle();
    }
  }

  // Rounds interleave the scenarios (A B C D E, E D C B A, A B C D E, …) so machine noise hits all
  // of them, and a scenario's place in the round (first after the flood, last before it…) does
  // not favour it every time.
  const runs: Run[] = [];
  for (let round = 1; round <= options.runs; round++) {
    for (const scenario of round % 2 === 1 ? all : [...all].reverse()) {
      process.stderr.write(`bench: round ${round}/${options.runs}: ${scenario.name}\n`);
      const isLogin = scenario.key === 'login';
      const hashBefore = isLogin ? await singleHashMs() : undefined;
      const stopPinning =
        postgresCpu !== null && scenario.database === 'postgres'
          ? keepPinned(databaseNames(scenario), postgresCpu)
          : undefined;
      const pgName = scenario.database === 'postgres' ? databaseNames(scenario)[0] : undefined;
      const pgBefore =
        pgName && flags['postgres-stats']
          ? await postgresCounters(postgresSpec, pgName)
          : undefined;
      const run = await measure(scenario, round, LOAD_CPU);
      const pinned = await stopPinning?.();
      if (pgName && pgBefore) {
        // An idle backend reports its statistics within PGSTAT_IDLE_INTERVAL (10 s) at the latest.
        await sleep(11_000);
        const after = await postgresCounters(postgresSpec, pgName);
        const per = (key: keyof PostgresCounters) =>
          (after[key] - pgBefore[key]) / Math.max(1, run.load.responses);
        run.postgresPerResponse = {
          transactions: per('transactions'),
          tupFetched: per('tupFetched'),
          blksHit: per('blksHit'),
          blksRead: per('blksRead'),
        };
      }
      if (pinned) {
        process.stderr.write(
          `bench:   postgres backends ${pinned.join(' ')} on cpu ${postgresCpu}\n`,
        );
        run.postgresPinned = { cpu: postgresCpu ?? '', pids: pinned };
      }
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

  await stopAll();
  // Pinned, the server has one core; otherwise all the cores it may use.
  const capacity: Capacity = { cores: pin ? 1 : availableParallelism() };
  if (flags.scenarios === undefined) {
    process.stderr.write('bench: embedded footprint\n');
    capacity.footprint = await measureFootprint(SERVER_CPU, options.smoke ? 1 : 3);
  }

  const summaries = summarize(runs);
  const overrides = Object.entries(LATCHKEY_OVERRIDES)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const header =
    `Latchkey on its defaults (LOG_LEVEL=info included) except ${overrides} ` +
    `(login throttle off; access tokens outlive the run); many sessions: ` +
    `${options.sessions} over ${options.users} users`;
  process.stdout.write(
    `\n${header}\n\n${render(summaries)}\n\n${renderCapacity(summaries, capacity)}\n`,
  );
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

function lineCount(file: string): number {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '').length;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
