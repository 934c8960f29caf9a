import { adjacencyGraphs } from '@zxcvbn-ts/language-common';
import type { MatchExtended } from '@zxcvbn-ts/core';
import { estimateGuesses } from './strength.ts';

/**
 * The fewest guesses (log10) a new password must cost: zxcvbn's top score, "strong protection
 * from an offline slow-hash attack". Long passphrases of ordinary words clear it by far
 * (`correct horse battery staple` ~10^19.7); common passwords padded with digits, keyboard
 * rows, sequences and repeats stay near 10^4.
 */
export const PASSWORD_MIN_GUESSES_LOG10 = 10;

const SERVICE_NAME = 'latchkey';

export const POLICY_REASONS = {
  tooShort: (min: number) => `Password must be at least ${min} characters`,
  oneCharacter: 'This password repeats one character; choose another',
  context: 'This password contains the username or the service name; choose another',
  common: 'This password is too common; choose another',
  padded: (base: 'password' | 'word', added: string) =>
    `This is a common ${base} with ${added} added`,
  repeat: 'Repeated words or patterns like abcabc are easy to guess',
  keyboard: 'Keyboard rows like qwerty are easy to guess',
  sequence: 'Sequences like 12345 or abcde are easy to guess',
  date: 'Dates and years are easy to guess',
  words: 'A few common words are easy to guess; add more words, or less common ones',
  guessable: 'This password is easy to guess; a few unrelated words make a strong one',
} as const;

/**
 * Why a new password is refused beyond the schema's structural rules, or null: the configured
 * minimum, the username and service name, then zxcvbn's estimate (NIST 800-63B-4's blocklist of
 * common, expected or compromised values). `password` is already NFKC-normalised and
 * `username` canonical.
 */
export function passwordPolicyReason(
  password: string,
  username: string,
  minLength: number,
): string | null {
  if ([...password].length < minLength) return POLICY_REASONS.tooShort(minLength);
  const lower = password.toLowerCase();
  if (new Set(lower).size === 1) return POLICY_REASONS.oneCharacter;
  if (lower.includes(username) || lower.includes(SERVICE_NAME)) return POLICY_REASONS.context;
  const estimate = estimateGuesses(password, [username, SERVICE_NAME]);
  if (estimate.guessesLog10 >= PASSWORD_MIN_GUESSES_LOG10) return null;
  return explain(estimate.matches);
}

type Kind = 'context' | 'common' | 'word' | 'keyboard' | 'sequence' | 'repeat' | 'date' | 'other';

/** Names the weakness a user can act on, from the patterns zxcvbn priced the password by. */
function explain(matches: readonly MatchExtended[]): string {
  const only = matches.length === 1 ? matches[0] : undefined;
  if (only && kindOf(only) === 'common') return POLICY_REASONS.common;
  const hasLetters = (m: MatchExtended) => /\p{L}/u.test(m.token);
  const core = matches.filter(hasLetters);
  // Without letters the whole password is digits and symbols: explain it by its own patterns.
  const judged = core.length > 0 ? core : matches;
  const kinds = new Set(judged.map(kindOf));
  const tokens = core.map((m) => m.token.toLowerCase());
  if (kinds.has('context')) return POLICY_REASONS.context;
  if (kinds.has('repeat') || new Set(tokens).size < tokens.length) return POLICY_REASONS.repeat;
  if (kinds.has('keyboard')) return POLICY_REASONS.keyboard;
  if (kinds.has('sequence')) return POLICY_REASONS.sequence;
  if (core.length > 0 && [...kinds].every((k) => k === 'common' || k === 'word')) {
    const padding = matches.filter((m) => !hasLetters(m) && m.token.trim() !== '');
    if (padding.length === 0) return POLICY_REASONS.words;
    const added = padding.map((m) => m.token).join('');
    const digits = /\p{Nd}/u.test(added);
    const symbols = /[^\p{Nd}\s]/u.test(added);
    const what = digits && symbols ? 'digits and symbols' : digits ? 'digits' : 'symbols';
    return POLICY_REASONS.padded(kinds.has('common') ? 'password' : 'word', what);
  }
  if (matches.some((m) => kindOf(m) === 'date')) return POLICY_REASONS.date;
  return POLICY_REASONS.guessable;
}

function kindOf(match: MatchExtended): Kind {
  switch (match.pattern) {
    case 'repeat':
      return 'repeat';
    case 'spatial':
      return 'keyboard';
    case 'sequence':
      return 'sequence';
    case 'date':
    case 'regex': // zxcvbn's only regex is a recent year
      return 'date';
    case 'dictionary': {
      // Common-password lists hold many keyboard rows and runs; name those for what they are.
      const token = match.token.toLowerCase();
      if (isRun(token)) return 'sequence';
      if (isKeyboardRow(token)) return 'keyboard';
      if (match.dictionaryName === 'userInputs') return 'context';
      return match.dictionaryName === 'passwords-common' ? 'common' : 'word';
    }
    default:
      return 'other';
  }
}

/** Three or more characters each one code point above (or below) the last: `abc`, `987`, `7890`. */
function isRun(token: string): boolean {
  const points = [...token].map((c) => c.codePointAt(0) ?? 0);
  if (points.length < 3) return false;
  const step = (a: number, b: number) => {
    // Digit runs wrap around: 7890, 3210987.
    if (a === 0x39 && b === 0x30) return 1;
    if (a === 0x30 && b === 0x39) return -1;
    return b - a;
  };
  const first = step(points[0] ?? 0, points[1] ?? 0);
  if (Math.abs(first) !== 1) return false;
  return points.slice(1).every((p, i) => step(points[i] ?? 0, p) === first);
}

/** Four or more keys each next to the last on a QWERTY keyboard: `qwerty`, `asdfgh`, `zxcvbn`. */
function isKeyboardRow(token: string): boolean {
  const chars = [...token];
  if (chars.length < 4) return false;
  const qwerty = adjacencyGraphs.qwerty as Record<string, ReadonlyArray<string | null>>;
  return chars.slice(1).every((next, i) => {
    const neighbours = qwerty[chars[i] ?? ''] ?? [];
    return neighbours.some((keys) => keys?.includes(next) ?? false);
  });
}
