import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TEST_SECRET } from './helpers.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface RunningEntryPoint {
  child: ChildProcess;
  url: string;
  /** Every JSON line it has written to stdout so far. */
  lines: string[];
}

/** Starts the real entry point and resolves with its URL once it logs "listening". */
export function startEntryPoint(env: Record<string, string>): Promise<RunningEntryPoint> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      DATABASE_URL: 'pglite:memory',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'latchkey-entry-')),
      JWT_SECRET: TEST_SECRET,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 45_000);
    createInterface({ input: child.stdout ?? process.stdin }).on('line', (line) => {
      lines.push(line);
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'listening' && entry.url) {
        clearTimeout(timer);
        resolve({ child, url: entry.url, lines });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
  });
}

/**
 * The exit code, once the process has exited and its stdout is closed: log lines are written in
 * blocks and the last one is flushed as the process exits, so only then are all of them in `lines`.
 */
export const exitCode = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
