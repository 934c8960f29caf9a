// @ts-check
/**
 * The password-hashing process (started by hash-pool.ts with child_process.fork). The `argon2`
 * package hashes on libuv's thread pool; in a process of its own that pool serves hashing alone and
 * can run at a lower CPU priority than the server's event loop, which keeps its own pool for
 * WebCrypto, fs and dns.
 *
 * Protocol (IPC): the parent sends `{ id, op: 'hash', password }` or `{ id, op: 'verify', hash,
 * password }`; this process answers `{ id, value }` or `{ id, error }`, in completion order, after
 * a first `{ ready: true, pool, nice }` (its pool threads' ids, the niceness it got). It exits when
 * the parent disconnects or dies.
 *
 * CommonJS on purpose: Node reads an ES module entry through the thread pool before any code here
 * runs, and pool threads keep the priority of the moment they were created. Here the priority is
 * lowered first, then the pool is started (threads inherit their creator's niceness).
 */
'use strict';

const { randomBytes } = require('node:crypto');
const { readdirSync, writeFileSync } = require('node:fs');
const { setPriority } = require('node:os');
const argon2 = require('argon2');

/** @typedef {{ memoryCost: number, timeCost: number, parallelism: number }} Params */
/** @typedef {{ id: number, op: 'hash', password: string } | { id: number, op: 'verify', hash: string, password: string }} Job */

/** Threads are named this (at most 15 bytes), so `top -H`, `ps -L` and the benchmark see hashing. */
const THREAD_NAME = 'latchkey-hash';
const { nice, params } = /** @type {{ nice: number, params: Params }} */ (
  JSON.parse(process.argv[2] ?? '{}')
);
const options = { ...params, type: argon2.argon2id };

/** This process's kernel thread ids; empty where there is no /proc. */
function threadIds() {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [];
  }
}

process.title = THREAD_NAME;
const before = threadIds();
let appliedNice = 0;
// Every thread running now (the main one and V8's helpers, which work for hashing too); on Linux
// setpriority() on a thread id changes that thread only. Without /proc, 0: the calling thread.
for (const tid of before.length > 0 ? before : [0]) {
  try {
    setPriority(tid, nice);
    if (tid === 0 || tid === process.pid) appliedNice = nice;
  } catch {
    // Not permitted or not supported: hashing still works, at normal priority.
  }
}
// The first piece of pool work creates every pool thread (UV_THREADPOOL_SIZE) before it returns.
randomBytes(1, () => {});
const pool = threadIds().filter((tid) => !before.includes(tid));
for (const tid of pool) {
  try {
    writeFileSync(`/proc/self/task/${tid}/comm`, THREAD_NAME);
  } catch {
    // unnamed: only diagnostics lose
  }
}

/** @param {object} message */
function send(message) {
  if (!process.connected) return; // the parent is gone: 'disconnect' below ends this process
  // A write that fails (the parent died meanwhile) ends it too, instead of an unhandled 'error'.
  process.send?.(message, undefined, {}, (error) => {
    if (error) process.exit(0);
  });
}

process.on('disconnect', () => process.exit(0));
process.on('message', (/** @type {Job} */ job) => {
  if (job.op === 'verify') {
    argon2.verify(job.hash, job.password).then(
      (value) => send({ id: job.id, value }),
      // A hash in an unknown format is a mismatch, never a throw.
      () => send({ id: job.id, value: false }),
    );
    return;
  }
  argon2.hash(job.password, options).then(
    (value) => send({ id: job.id, value }),
    (error) => send({ id: job.id, error: error instanceof Error ? error.message : 'hash failed' }),
  );
});
send({ ready: true, pool, nice: appliedNice });
