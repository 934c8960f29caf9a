/** The scenarios and how one run of a scenario is measured. */
import type { LoadSpec } from './load.ts';
import { sampleRss, sleep, startLoad, threadCpu, type ThreadCpu } from './procs.ts';
import { SCENARIO_NAMES, type CpuPerResponse, type Run, type ScenarioKey } from './report.ts';
import type { RunningServer } from './servers.ts';

/** Niceness of the login flood's load generator. */
const FLOOD_NICE = 10;

export interface Scenario {
  key: ScenarioKey;
  /** The database kind the Latchkey server runs on; null for the baseline. */
  database: string | null;
  name: string;
  server: RunningServer;
  spec: LoadSpec;
  /** A login flood to run (on another load process) while `spec` is measured. */
  flood?: LoadSpec;
  /** What the server's database was seeded with, for the many-sessions scenario. */
  seeded?: { users: number; sessions: number };
}

export interface ScenarioOptions {
  duration: number;
  connections: number;
  loginConnections: number;
  floodConnections: number;
}

function meSpec(server: RunningServer, path: string, o: ScenarioOptions): LoadSpec {
  return {
    url: `${server.url}${path}`,
    method: 'GET',
    headers: { authorization: `Bearer ${server.token}` },
    connections: o.connections,
    duration: o.duration,
  };
}

function loginSpec(server: RunningServer, connections: number, duration: number): LoadSpec {
  return {
    url: `${server.url}/trpc/login`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: server.loginBody,
    connections,
    duration,
  };
}

/** The Latchkey servers of one database, and the many-sessions tokens for `main`. */
export interface LatchkeyServers {
  database: string;
  /** Serves `me` (one session and many), `/users/me`, login and the flood. */
  main?: RunningServer;
  tokensFile?: string;
  seeded?: { users: number; sessions: number };
  /** SESSION_CACHE_MS=0. */
  uncached?: RunningServer;
  /** LOG_LEVEL=warn. */
  warn?: RunningServer;
}

/** Every scenario whose servers are given, in the order they run within a round. */
export function scenarios(
  baseline: RunningServer | undefined,
  databases: LatchkeyServers[],
  o: ScenarioOptions,
): Scenario[] {
  const list: Scenario[] = [];
  const suffix = (database: string) => (databases.length > 1 ? ` [${database}]` : '');
  const add = (key: ScenarioKey, database: string | null, server: RunningServer, rest: object) =>
    list.push({
      key,
      database,
      name: `${SCENARIO_NAMES[key]}${database === null ? '' : suffix(database)}`,
      server,
      spec: meSpec(server, '/trpc/me', o),
      ...rest,
    });
  if (baseline) add('baseline', null, baseline, {});
  for (const { database, main, tokensFile, seeded, uncached, warn } of databases) {
    if (main) add('me', database, main, {});
    if (main && tokensFile) {
      // One token per request, round-robin over every seeded session.
      const spec = { ...meSpec(main, '/trpc/me', o), headers: {}, tokensFile };
      add('many', database, main, { spec, seeded });
    }
    if (warn) add('warn', database, warn, {});
    // The revocation check's cost: the same server with the session looked up on every request.
    if (uncached) add('uncached', database, uncached, {});
    if (main) {
      add('users-me', database, main, { spec: meSpec(main, '/users/me', o) });
      add('login', database, main, {
        spec: loginSpec(main, o.loginConnections, o.duration),
      });
      // The flood runs until stopped, i.e. for as long as the `me` measurement takes.
      add('flood', database, main, { flood: loginSpec(main, o.floodConnections, 0) });
    }
  }
  return list;
}

/** Server CPU between two readings, in milliseconds per response. */
function perResponse(
  before: ThreadCpu | null,
  after: ThreadCpu | null,
  responses: number,
): CpuPerResponse | undefined {
  if (!before || !after || responses === 0) return undefined;
  const ms = (key: keyof ThreadCpu) => ((after[key] - before[key]) * 1000) / responses;
  return { eventLoopMs: ms('eventLoop'), hashMs: ms('hash'), otherMs: ms('other') };
}

/** One run: the load (plus the flood, if any) while the server's RSS is sampled. */
export async function measure(scenario: Scenario, round: number, cpu: string | null) {
  const stopRss = sampleRss(scenario.server.pid);
  let flood: ReturnType<typeof startLoad> | undefined;
  if (scenario.flood) {
    // The flood's generator shares the load core with the one measuring `me`; at a lower priority
    // it takes only what the measuring one leaves, so `me`'s latency shows the server, not two
    // generators competing for their core.
    flood = startLoad(scenario.flood, cpu, 'flood', FLOOD_NICE);
    await flood.started;
    await sleep(1000); // let the flood fill the server's queues first
  }
  try {
    const cpuBefore = threadCpu(scenario.server.pid);
    const load = await startLoad(scenario.spec, cpu, 'load').done;
    const cpuAfter = threadCpu(scenario.server.pid);
    flood?.stop();
    const floodResult = await flood?.done;
    const run: Run = {
      scenario: scenario.name,
      key: scenario.key,
      database: scenario.database,
      round,
      load,
      rssMb: stopRss(),
    };
    if (scenario.seeded) {
      run.seededUsers = scenario.seeded.users;
      run.seededSessions = scenario.seeded.sessions;
    }
    // With a flood, the server's CPU went to both loads: per response of the measured one only
    // would mislead.
    const cpuPer = floodResult ? undefined : perResponse(cpuBefore, cpuAfter, load.responses);
    if (cpuPer) run.serverCpu = cpuPer;
    if (floodResult) run.flood = floodResult;
    return run;
  } finally {
    flood?.stop();
    stopRss();
  }
}
