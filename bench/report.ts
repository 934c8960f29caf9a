/** Picks the median run of each scenario, prints the table and ratios, and writes the JSON. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Footprint } from './footprint.ts';
import type { LoadResult } from './load.ts';

export interface Run {
  scenario: string;
  key: ScenarioKey;
  /** The database kind Latchkey ran on; null for the baseline. */
  database: string | null;
  round: number;
  load: LoadResult;
  /** The login flood running during this measurement, if any. */
  flood?: LoadResult;
  /** Highest server RSS sampled during the run, MB. */
  rssMb: number | null;
  /**
   * Login rounds: one argon2id verification's median time, ms: the mean of timings taken just
   * before and just after the round (`singleHashMsAround`), as the machine's speed drifts.
   */
  singleHashMs?: number;
  singleHashMsAround?: [number, number];
  /**
   * PostgreSQL: pg_stat_database deltas over the run, per response (transactions = statements,
   * as each is its own; the login flood's are counted in too).
   */
  postgresPerResponse?: {
    transactions: number;
    tupFetched: number;
    blksHit: number;
    blksRead: number;
  };
  /** With --postgres-cpu: the PostgreSQL backends pinned during the run. */
  postgresPinned?: { cpu: string; pids: number[] };
  /** Many-sessions runs: users and sessions seeded in the server's database. */
  seededUsers?: number;
  seededSessions?: number;
  /** Server CPU per response during the run, by thread kind (not for flood runs). */
  serverCpu?: CpuPerResponse;
}

export interface CpuPerResponse {
  eventLoopMs: number;
  hashMs: number;
  otherMs: number;
}

export interface Summary {
  scenario: string;
  key: ScenarioKey;
  database: string | null;
  median: Run;
  runs: Run[];
}

/** Scenario keys (what `--scenarios` takes) and the names the table shows. */
export const SCENARIO_NAMES = {
  baseline: 'baseline me',
  me: 'latchkey me',
  many: 'latchkey me, many sessions',
  warn: 'latchkey me, LOG_LEVEL=warn',
  uncached: 'latchkey me, session read every request',
  'users-me': 'latchkey /users/me',
  login: 'latchkey login',
  flood: 'latchkey me + login flood',
} as const;
export type ScenarioKey = keyof typeof SCENARIO_NAMES;
export const SCENARIO_KEYS = Object.keys(SCENARIO_NAMES) as ScenarioKey[];

/** The run with the median req/s (the lower middle one for an even count). */
export function summarize(runs: Run[]): Summary[] {
  const names = [...new Set(runs.map((r) => r.scenario))];
  return names.map((scenario) => {
    const mine = runs.filter((r) => r.scenario === scenario);
    const sorted = [...mine].sort((a, b) => a.load.rps - b.load.rps);
    const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? mine[0];
    if (!median) throw new Error(`no runs for ${scenario}`);
    return { scenario, key: median.key, database: median.database, median, runs: mine };
  });
}

const find = (summaries: Summary[], key: ScenarioKey, database: string | null) =>
  summaries.find((s) => s.key === key && s.database === database);
const databasesOf = (summaries: Summary[]) => [
  ...new Set(summaries.flatMap((s) => (s.database === null ? [] : [s.database]))),
];

/** "0", or "50 [50 timeouts]", or "3 (+120 non-2xx: 503×100 429×20)". */
function errorsCell(load: LoadResult): string {
  const codes = Object.entries(load.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, n]) => `${code}×${n}`)
    .join(' ');
  const timeouts = load.timeouts > 0 ? ` [${load.timeouts} timeouts]` : '';
  const non2xx = load.non2xx > 0 ? ` (+${load.non2xx} non-2xx: ${codes})` : '';
  return `${load.errors}${timeouts}${non2xx}`;
}

const fixed = (n: number, digits: number) => n.toFixed(digits);
/** A latency cell; latencies exist only for successful responses. */
const ms = (load: LoadResult, value: number) => (load.ok > 0 ? fixed(value, 2) : '—');

/** Text columns (the first, and "errors") are left-aligned, numbers right-aligned. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const left = (i: number) => i === 0 || header[i] === 'errors';
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (left(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** `f(a's load, b's load)` for every round both scenarios ran in; NaN results are dropped. */
function perRound(a: Summary, b: Summary, f: (a: LoadResult, b: LoadResult) => number): number[] {
  return perRoundRun(a, b, (x, y) => f(x.load, y.load));
}

function perRoundRun(a: Summary, b: Summary, f: (a: Run, b: Run) => number): number[] {
  return a.runs.flatMap((run) => {
    const other = b.runs.find((r) => r.round === run.round);
    const value = other ? f(run, other) : NaN;
    return Number.isFinite(value) ? [value] : [];
  });
}

/**
 * The server's CPU time per response, µs (all its threads and its hashing process): what a
 * request costs, whatever else ran on the machine meanwhile. NaN when not measured.
 */
function cpuUs(run: Run): number {
  const c = run.serverCpu;
  return c ? (c.eventLoopMs + c.hashMs + c.otherMs) * 1000 : NaN;
}
const cpuRatio = (a: Run, b: Run) => cpuUs(a) / cpuUs(b);

/** "3.98× (3.1, 4.0, 5.2)", or "—" when no round gave a value. */
function ratioCell(values: number[]): string {
  if (values.length === 0) return '—';
  return `${fixed(median(values), 2)}×${spread(values, 2)}`;
}

export function render(summaries: Summary[]): string {
  const rows: string[][] = [];
  for (const { scenario, median, runs } of summaries) {
    const all = runs.map((r) => r.load.rps);
    const range =
      runs.length > 1 ? `${fixed(Math.min(...all), 0)}–${fixed(Math.max(...all), 0)}` : '';
    const { load } = median;
    const rss = median.rssMb === null ? 'n/a' : fixed(median.rssMb, 0);
    const cpu = cpuUs(median);
    rows.push([
      scenario,
      fixed(load.rps, 0),
      range,
      ms(load, load.p50),
      ms(load, load.p99),
      Number.isFinite(cpu) ? fixed(cpu, 0) : '',
      errorsCell(load),
      rss,
    ]);
    if (median.flood) {
      const f = median.flood;
      rows.push([
        '  └ login flood (load)',
        fixed(f.rps, 0),
        `${fixed(f.okRps, 1)} ok/s`,
        ms(f, f.p50),
        ms(f, f.p99),
        '',
        errorsCell(f),
        '',
      ]);
    }
  }
  const header = [
    'scenario',
    'req/s',
    'runs min–max',
    'p50 ms',
    'p99 ms',
    'CPU µs/req',
    'errors',
    'RSS MB',
  ];
  const lines = [table(header, rows), ''];
  // Ratios are taken within each round (the scenarios of a round run minutes apart at most, the
  // rounds up to ten minutes apart, and this machine's speed drifts): the median of the rounds'
  // ratios, then each round's.
  const rpsRatio = (a: LoadResult, b: LoadResult) => (b.rps > 0 ? a.rps / b.rps : NaN);
  const p99Ratio = (a: LoadResult, b: LoadResult) => (a.ok > 0 && b.p99 > 0 ? a.p99 / b.p99 : NaN);
  const baseline = find(summaries, 'baseline', null);
  if (baseline) {
    lines.push(
      `ratios to "${baseline.scenario}" in the same round, median (each round); ` +
        'req/s: higher is better; p99: lower is better',
    );
    const ratioRows = summaries
      .filter((s) => s.key !== 'baseline' && s.key !== 'login')
      .map((s) => [
        s.scenario,
        ratioCell(perRound(s, baseline, rpsRatio)),
        ratioCell(perRound(s, baseline, p99Ratio)),
      ]);
    lines.push(table(['scenario', 'req/s ratio', 'p99 ratio'], ratioRows), '');
  }
  // `me` on many sessions against `me` on one, on the same server, round by round.
  const manyRows = databasesOf(summaries).flatMap((database) => {
    const one = find(summaries, 'me', database);
    const many = find(summaries, 'many', database);
    if (!one || !many) return [];
    const m = many.median;
    return [
      [
        database,
        fixed(one.median.load.rps, 0),
        fixed(m.load.rps, 0),
        ratioCell(perRound(many, one, rpsRatio)),
        ms(one.median.load, one.median.load.p99),
        ms(m.load, m.load.p99),
        ratioCell(perRound(many, one, p99Ratio)),
        ratioCell(perRoundRun(many, one, cpuRatio)),
        m.rssMb === null ? 'n/a' : fixed(m.rssMb, 0),
        `${m.load.distinctTokens ?? 0} / ${m.load.distinctBodies ?? 0}`,
      ],
    ];
  });
  if (manyRows.length > 0) {
    lines.push(
      'me with many sessions (tokens round-robin) against me with one session, same server, ' +
        'same round: median (each round)',
      table(
        [
          'database',
          'one req/s',
          'many req/s',
          'many/one req/s',
          'one p99',
          'many p99',
          'many/one p99',
          'many/one CPU µs/req',
          'many RSS MB',
          'tokens sent / users answered',
        ],
        manyRows,
      ),
      '',
    );
  }
  const logRows = databasesOf(summaries).flatMap((database) => {
    const info = find(summaries, 'me', database);
    const warn = find(summaries, 'warn', database);
    if (!info || !warn) return [];
    return [
      [
        database,
        ratioCell(perRound(info, warn, rpsRatio)),
        ratioCell(perRound(info, warn, p99Ratio)),
        ratioCell(perRoundRun(info, warn, cpuRatio)),
      ],
    ];
  });
  if (logRows.length > 0) {
    lines.push(
      'me at LOG_LEVEL=info (the default, one line per request) against LOG_LEVEL=warn, same round',
      table(['database', 'info/warn req/s', 'info/warn p99', 'info/warn CPU µs/req'], logRows),
      '',
    );
  }
  const pgRows = summaries.flatMap((s) => {
    const pg = s.median.postgresPerResponse;
    if (!pg) return [];
    const pinned = s.median.postgresPinned;
    return [
      [
        s.scenario,
        fixed(pg.transactions, 3),
        fixed(pg.tupFetched, 2),
        fixed(pg.blksHit, 2),
        fixed(pg.blksRead, 3),
        pinned ? `cpu ${pinned.cpu} (${pinned.pids.length} backends)` : 'not pinned',
      ],
    ];
  });
  if (pgRows.length > 0) {
    lines.push(
      'PostgreSQL work per response (pg_stat_database over the median run; a statement is a ' +
        'transaction and a round trip)',
      table(
        ['scenario', 'statements', 'rows fetched', 'blocks hit', 'blocks read', 'backends'],
        pgRows,
      ),
      '',
    );
  }
  for (const database of databasesOf(summaries)) {
    const idle = find(summaries, 'me', database);
    const flooded = find(summaries, 'flood', database);
    if (!idle || !flooded) continue;
    const ratios = perRound(flooded, idle, p99Ratio);
    const ratio = ratios.length > 0 ? ratioCell(ratios) : 'n/a (no successful me during it)';
    lines.push(`${database}: me p99 during the flood / idle me p99 in the same round: ${ratio}`);
  }
  return lines.join('\n');
}

export interface Capacity {
  /** Cores the server may use. */
  cores: number;
  /** Not measured when the scenarios were filtered. */
  footprint?: Footprint;
}

const median = (values: number[]) =>
  values.length === 0
    ? NaN
    : ([...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? NaN);
const spread = (values: number[], digits: number) =>
  values.length > 1 ? ` (${values.map((v) => fixed(v, digits)).join(', ')})` : '';

/** Login throughput against what hashing allows, the flood's cost, and the embedded footprint. */
export function renderCapacity(summaries: Summary[], capacity: Capacity): string {
  const lines: string[] = [];
  for (const database of databasesOf(summaries)) {
    lines.push(...renderLogin(summaries, capacity, database));
  }
  const { footprint: f } = capacity;
  if (f) {
    lines.push(
      `embedded start (node scripts/start.mjs, existing data dir) to ready: ` +
        `${fixed(median(f.startMs), 0)} ms median${spread(f.startMs, 0)}; ` +
        `first start on a new dir: ${fixed(f.firstStartMs, 0)} ms`,
      `embedded server RSS 1 s after ready: ${fixed(median(f.rssMb), 0)} MB median${spread(f.rssMb, 0)}`,
    );
  }
  return lines.join('\n');
}

function renderLogin(summaries: Summary[], capacity: Capacity, database: string): string[] {
  const lines: string[] = [];
  const tag = `${database}: `;
  // Each login round against the single-hash time taken around it: the machine's speed drifts
  // over minutes, so one timing at the end would mismeasure the rounds it is compared with.
  const rounds = (find(summaries, 'login', database)?.runs ?? []).filter(
    (r) => r.singleHashMs !== undefined && r.singleHashMs > 0,
  );
  if (rounds.length > 0) {
    const percent = rounds.map(
      (r) => (100 * r.load.okRps * (r.singleHashMs ?? 0)) / (capacity.cores * 1000),
    );
    const hashMs = rounds.map((r) => r.singleHashMs ?? 0);
    lines.push(
      `${tag}login: ${fixed(median(percent), 0)}% of cores ÷ single-hash time, median of rounds` +
        `${spread(percent, 0)}; ${fixed(median(rounds.map((r) => r.load.okRps)), 1)} ok/s against ` +
        `${capacity.cores} ÷ ${fixed(median(hashMs), 1)} ms${spread(hashMs, 1)} = ` +
        `${fixed((capacity.cores * 1000) / median(hashMs), 1)}/s`,
    );
  }
  const split = rounds.flatMap((r) => (r.serverCpu ? [r.serverCpu] : []));
  if (split.length > 0) {
    const m = (key: keyof CpuPerResponse) => median(split.map((c) => c[key]));
    const total = m('hashMs') + m('eventLoopMs') + m('otherMs');
    lines.push(
      `${tag}login server CPU per request, median of rounds: argon2 ${fixed(m('hashMs'), 2)} ms, ` +
        `event loop ${fixed(m('eventLoopMs'), 2)} ms, other threads ${fixed(m('otherMs'), 2)} ms ` +
        `(argon2 = ${fixed((100 * m('hashMs')) / total, 0)}% of the server's CPU)`,
    );
  }
  const flood = find(summaries, 'flood', database)?.median;
  if (flood?.flood) {
    lines.push(
      `${tag}during the flood: ${fixed(flood.flood.okRps, 1)} logins/s succeeded, server RSS peak ` +
        `${flood.rssMb === null ? 'n/a' : `${fixed(flood.rssMb, 0)} MB`}`,
    );
  }
  return lines;
}

export function writeJson(dir: string, data: object): string {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** Problems that make a run invalid: errors, unexpected statuses, or nothing served at all. */
export function problems(summaries: Summary[]): string[] {
  const found: string[] = [];
  for (const { scenario, key, runs } of summaries) {
    for (const run of runs) {
      const where = `${scenario} (round ${run.round})`;
      const check = (load: LoadResult, what: string, allowed: string[]) => {
        if (load.ok === 0) found.push(`${where}: ${what} had no successful responses`);
        if (load.errors > 0) found.push(`${where}: ${what} had ${load.errors} connection errors`);
        for (const [code, n] of Object.entries(load.statusCodes)) {
          if (!code.startsWith('2') && !allowed.includes(code)) {
            found.push(`${where}: ${what} got ${n}× HTTP ${code}`);
          }
        }
      };
      // A sign-in refused for capacity (503 with Retry-After) is the server protecting itself
      // from more hashing than it can do, not an error: the table still counts and shows it.
      check(run.load, 'load', key === 'login' ? ['503'] : []);
      const { distinctBodies, distinctTokens, tokens } = run.load;
      if (tokens !== undefined) {
        // Tokens are drawn round-robin, each session a random user: r requests reach about
        // min(r, users) × (1 − 1/e) users or more. Far fewer means the tokens did not rotate.
        const users = run.seededUsers ?? tokens;
        const expected = Math.min(users, run.load.ok);
        if (
          (distinctBodies ?? 0) < expected / 3 ||
          (distinctTokens ?? 0) < Math.min(tokens, run.load.ok)
        ) {
          found.push(
            `${where}: ${distinctTokens} distinct tokens sent for ${run.load.ok} answers, ` +
              `${distinctBodies} distinct users answered: the tokens did not rotate`,
          );
        }
      }
      if (run.flood) check(run.flood, 'login flood', ['429', '503']);
    }
  }
  return found;
}
