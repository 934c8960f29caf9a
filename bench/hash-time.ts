/**
 * Times one argon2id verification with the server's default parameters, on the core this process
 * is pinned to, through the same library the server uses. Prints `{"medianMs":…}`.
 * This is the "single-hash time" the login throughput is compared with.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ARGON2_DEFAULTS } from '../server/src/config.ts';
import { ROOT } from './procs.ts';

interface Argon2 {
  hashSync(password: string, options: object): string;
  verifySync(hash: string, password: string): boolean;
}
// The server's own copy of the library (pnpm keeps it out of the root's node_modules).
const argon2 = createRequire(join(ROOT, 'server/package.json'))('@node-rs/argon2') as Argon2;

const SAMPLES = 21;
const ARGON2ID = 2;
const options = { ...ARGON2_DEFAULTS, algorithm: ARGON2ID };
const hash = argon2.hashSync('benchmark horse battery staple 7', options);
argon2.verifySync(hash, 'benchmark horse battery staple 7'); // warm-up
const times: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  const t0 = performance.now();
  argon2.verifySync(hash, 'benchmark horse battery staple 7');
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
process.stdout.write(`${JSON.stringify({ medianMs: times[Math.floor(SAMPLES / 2)] })}\n`);
