/**
 * What the password and key strength checks cost on the event loop:
 *
 *   pnpm tsx bench/password-policy.ts
 *
 * Prints the one-time setup of the estimator, then the median and worst time per call for
 * passphrases, weak passwords and inputs that are slow for zxcvbn, at 64 characters and at the
 * 1024-character cap (which the bound makes cost the same).
 */
import { randomBytes } from 'node:crypto';
import { passwordPolicyReason } from '../server/src/auth/password-policy.ts';
import { keyGuessesLog10 } from '../server/src/auth/strength.ts';

const ROUNDS = 21;

function time(run: () => unknown): { medianMs: number; maxMs: number } {
  run();
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(ROUNDS / 2)] ?? 0, maxMs: times[ROUNDS - 1] ?? 0 };
}

const fill = (unit: string, length: number) =>
  unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
const check = (password: string) => passwordPolicyReason(password, 'benchmark-user', 15);

const t0 = performance.now();
check('first call builds the estimator');
const setupMs = performance.now() - t0;

const inputs: Record<string, string> = {
  'passphrase (28)': 'correct horse battery staple',
  'passphrase (44)': 'violet staircase under a quiet moon at dusk',
  'padded common (15)': 'password1234567',
  'keyboard row (16)': 'qwertyuiopasdfgh',
  'l33t symbols (64)': fill('4@3!1|0$5|7+', 64),
  'l33t words (64)': fill('p4ssw0rd', 64),
  'digits (64)': fill('3141592653589793238462643383279502884197', 64),
  'alternating (64)': fill('1a2b3c4d5e', 64),
  'l33t words (1024)': fill('p4ssw0rd', 1024),
  'alternating (1024)': fill('1a2b3c4d5e', 1024),
};
const rows = Object.entries(inputs).map(([name, password]) => ({
  input: name,
  verdict: check(password) ?? 'accepted',
  ...time(() => check(password)),
}));
rows.push({
  input: 'signing key, 32 random bytes (base64url)',
  verdict: keyGuessesLog10(randomBytes(32).toString('base64url')).toFixed(1),
  ...time(() => keyGuessesLog10(randomBytes(32).toString('base64url'))),
});

process.stdout.write(`estimator setup (first call): ${setupMs.toFixed(0)} ms\n`);
for (const row of rows) {
  process.stdout.write(
    `${row.input.padEnd(42)} median ${row.medianMs.toFixed(1).padStart(6)} ms  max ${row.maxMs
      .toFixed(1)
      .padStart(6)} ms  ${row.verdict}\n`,
  );
}
