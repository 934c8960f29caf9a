/** The five scenarios and how one run of a scenario is measured. */
import type { LoadSpec } from './load.ts';
import { sampleRss, sleep, startLoad, threadCpu, type ThreadCpu } from './procs.ts';
import { BASELINE, FLOOD, LOGIN, UNCACHED, type CpuPerResponse, type Run } from './report.ts';
import type { RunningServer } from './servers.ts';

/** Niceness of the login flood's load generator. */
const FLOOD_NICE = 10;

export interface Scenario {
  name: string;
  server: RunningServer;
  spec: LoadSpec;
  /** A login flood to run (on another load process) while `spec` is measured. */
  flood?: LoadSpec;
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

export function scenarios(
  latchkey: RunningServer,
  baseline: RunningServer,
  uncached: RunningServer,
  o: ScenarioOptions,
): Scenario[] {
  return [
    { name: BASELINE, server: baseline, spec: meSpec(baseline, '/trpc/me', o) },
    { name: 'latchkey me', server: latchkey, spec: meSpec(latchkey, '/trpc/me', o) },
    // The revocation check's cost: the same server with the session looked up on every request.
    { name: UNCACHED, server: uncached, spec: meSpec(uncached, '/trpc/me', o) },
    { name: 'latchkey /users/me', server: latchkey, spec: meSpec(latchkey, '/users/me', o) },
    { name: LOGIN, server: latchkey, spec: loginSpec(latchkey, o.loginConnections, o.duration) },
    {
      name: FLOOD,
      server: latchkey,
      spec: meSpec(latchkey, '/trpc/me', o),
      // Runs until stopped, i.e. for as long as the `me` measurement takes.
      flood: loginSpec(latchkey, o.floodConnections, 0),
    },
  ];
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
    const run: Run = { scenario: scenario.name, round, load, rssMb: stopRss() };
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
