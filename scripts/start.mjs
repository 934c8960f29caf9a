// `pnpm start`: build the SPA and the server when missing or older than their sources, then run
// the built server (which migrates the database before it listens). Signals are forwarded for a
// graceful stop.
import { spawn } from 'node:child_process';
import { ensureBuilt, ROOT } from './build.mjs';

let entry;
try {
  entry = await ensureBuilt();
} catch (error) {
  console.error(`latchkey: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const server = spawn(process.execPath, [entry], { cwd: ROOT, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
