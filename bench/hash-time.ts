/**
 * Times one argon2id verification with the server's default parameters, on the core this process
 * is pinned to, through the same library the server uses (the `argon2` package, one call at a
 * time on its thread pool). Prints `{"medianMs":…}`.
 * This is the "single-hash time" the login throughput is compared with.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ARGON2_DEFAULTS } from '../server/src/config.ts';
import { ROOT } from './procs.ts';

interface Argon2 {
  argon2id: number;
  hash(password: string, options: object): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}
// The server's own copy of the library (pnpm keeps it out of the root's node_modules).
const argon2 = createRequire(join(ROOT, 'server/package.json'))('argon2') as Argon2;

const SAMPLES = 21;
const PASSWORD = 'benchmark horse battery staple 7';
const hash = await argon2.hash(PASSWORD, { ...ARGON2_DEFAULTS, type: argon2.argon2id });
await argon2.verify(hash, PASSWORD); // warm-up
const times: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  const t0 = performance.now();
  await argon2.verify(hash, PASSWORD);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
process.stdout.write(`${JSON.stringify({ medianMs: times[Math.floor(SAMPLES / 2)] })}\n`);
