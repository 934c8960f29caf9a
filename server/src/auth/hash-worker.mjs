// @ts-check
/**
 * One password-hashing thread (see hash-pool.ts). It lowers its own CPU priority first, so that on
 * a busy machine the event loop serving requests wins the core and argon2 takes what is left.
 * Plain JavaScript: a worker is loaded by Node itself, under tsx, Vitest and the built server alike.
 */
import { readlinkSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { hashSync, verifySync } from '@node-rs/argon2';

/** @typedef {{ memoryCost: number, timeCost: number, parallelism: number }} Params */
/** @typedef {{ id: number, op: 'hash', password: string } | { id: number, op: 'verify', hash: string, password: string }} Job */

const { nice, params } = /** @type {{ nice: number, params: Params }} */ (workerData);
const ARGON2ID = 2;
/** The OS thread name of hashing threads (at most 15 bytes). */
const THREAD_NAME = 'latchkey-hash';
const options = { ...params, algorithm: ARGON2ID };

/** This thread's kernel id, from /proc/thread-self; null where there is no such file. */
function threadId() {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return null;
  }
}

const tid = threadId();
try {
  // Named, so `top -H`, `ps -L` and the benchmark can tell hashing from the rest of the process.
  writeFileSync('/proc/thread-self/comm', THREAD_NAME);
} catch {
  // No /proc (not Linux): the thread keeps its inherited name.
}
let appliedNice = 0;
if (tid !== null && nice > 0) {
  try {
    // On Linux, setpriority() with a thread id changes that thread only.
    setPriority(tid, nice);
    appliedNice = nice;
  } catch {
    // Not permitted or not supported: hashing still works, at normal priority.
  }
}

const port = parentPort;
if (!port) throw new Error('hash-worker.mjs runs as a worker thread only');
port.postMessage({ ready: true, tid, nice: appliedNice });

port.on('message', (/** @type {Job} */ job) => {
  if (job.op === 'verify') {
    let ok;
    try {
      ok = verifySync(job.hash, job.password);
    } catch {
      ok = false; // a hash in an unknown format is a mismatch, never a throw
    }
    port.postMessage({ id: job.id, value: ok });
    return;
  }
  try {
    port.postMessage({ id: job.id, value: hashSync(job.password, options) });
  } catch (error) {
    port.postMessage({ id: job.id, error: error instanceof Error ? error.message : 'hash failed' });
  }
});
