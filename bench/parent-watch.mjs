/**
 * Preloaded (`--import`) into every child the benchmark starts. The benchmark holds the child's
 * stdin open; when that pipe closes — the benchmark exited, crashed or was killed with SIGKILL —
 * the child shuts itself down, so no server or load generator outlives the run. Plain JavaScript,
 * so the built server runs without tsx.
 */
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  process.stdin.on('close', () => {
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), 5000).unref();
  });
  process.stdin.resume();
  // Do not keep an otherwise finished process alive just for the watch.
  process.stdin.unref?.();
}
