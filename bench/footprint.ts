/**
 * Embedded-mode footprint, as a user meets it: `node scripts/start.mjs` (what `pnpm start` runs)
 * with no DATABASE_URL, on a data directory that already exists. Reports the time from spawning
 * to the first 200 from /readyz, and the server process's RSS one second after that.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rssMb, sleep, spawnNode, stopChild, waitReady } from './procs.ts';
import { freePort } from './servers.ts';

export interface Footprint {
  /** Spawn to ready on a new data directory (initdb and first migration included), ms. */
  firstStartMs: number;
  /** Spawn to ready on the existing directory, ms, one per restart. */
  startMs: number[];
  /** Server RSS 1 s after ready, MB, one per restart. */
  rssMb: number[];
}

/** The server process: start.mjs's only child. */
function childOf(pid: number): number | null {
  try {
    const [first] = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    return first ? Number(first) : null;
  } catch {
    return null;
  }
}

async function startOnce(dataDir: string, cpu: string | null) {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawnNode('scripts/start.mjs', [], {
    cpu,
    label: 'footprint',
    tsx: false,
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: '', // unset: the embedded database under DATA_DIR
      DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
      NODE_ENV: 'development',
    },
  });
  child.stdout?.resume();
  await waitReady(`http://127.0.0.1:${port}/readyz`, child, 120_000, 10);
  const ms = performance.now() - t0;
  await sleep(1000);
  const server = childOf(child.pid ?? 0);
  const rss = server === null ? null : rssMb(server);
  await stopChild(child, 10_000);
  return { ms, rss };
}

export async function measureFootprint(cpu: string | null, restarts: number): Promise<Footprint> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-footprint-'));
  try {
    const first = await startOnce(dataDir, cpu);
    const startMs: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < restarts; i++) {
      const run = await startOnce(dataDir, cpu);
      startMs.push(run.ms);
      if (run.rss !== null) rss.push(run.rss);
    }
    return { firstStartMs: first.ms, startMs, rssMb: rss };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
