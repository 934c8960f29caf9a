import { ZxcvbnFactory, type MatchExtended } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as common } from '@zxcvbn-ts/language-common';
import { dictionary as english } from '@zxcvbn-ts/language-en';

/**
 * The estimator reads at most this many code points. Its cost grows faster than linearly with
 * length (measured: a few ms at 64, tens of ms at 100–256), and it runs on the event loop.
 */
export const ESTIMATE_MAX_CHARS = 64;

let factory: ZxcvbnFactory | null = null;

/**
 * Built on first use and kept: setting the dictionaries up costs a few hundred ms, a check then
 * a few. Common passwords and diceware words, English words and names; not the Wikipedia list
 * or the word-sequence lists, which add much of the cost and little a guesser would not try.
 * Two l33t substitutions per word catch `p@ssw0rd` and `m0nk3y`; more multiply the cost.
 */
function estimator(): ZxcvbnFactory {
  factory ??= new ZxcvbnFactory({
    graphs: adjacencyGraphs,
    dictionary: {
      ...common,
      'commonWords-en': english['commonWords-en'],
      'firstnames-en': english['firstnames-en'],
      'lastnames-en': english['lastnames-en'],
    },
    l33tMaxSubstitutions: 2,
    maxLength: ESTIMATE_MAX_CHARS,
  });
  return factory;
}

export interface GuessEstimate {
  /** log10 of the guesses zxcvbn expects an attacker to need. */
  guessesLog10: number;
  /** The patterns zxcvbn found, in order, covering the text it read. */
  matches: readonly MatchExtended[];
}

/**
 * zxcvbn's estimate for the first ESTIMATE_MAX_CHARS code points of `text` (a text that is weak
 * there is refused whatever follows). `context` words (a username, the service name) count as
 * known to the attacker.
 */
export function estimateGuesses(text: string, context: readonly string[] = []): GuessEstimate {
  const head = [...text].slice(0, ESTIMATE_MAX_CHARS).join('');
  const result = estimator().check(head, [...context]);
  return { guessesLog10: result.guessesLog10, matches: result.sequence };
}

/** Runs of punctuation, symbols or spaces: where a human-made key puts the gaps between words. */
const SEPARATORS = /[\s\p{P}\p{S}]+/u;
/** A key longer than this is judged by its beginning; random keys are strong long before it. */
const KEY_MAX_CHARS = 256;

/**
 * log10 of the guesses for a signing key: the sum over its distinct separator-delimited parts.
 * zxcvbn alone prices `a-string-secret-at-least-256-bits-long` at ~10^32 because it brute-forces
 * across the separators; per part, words are priced as words (~10^19.5 here). A random key loses
 * only its separator characters, and a part repeated counts once.
 */
export function keyGuessesLog10(key: string): number {
  const head = [...key].slice(0, KEY_MAX_CHARS).join('');
  const parts = new Set(head.split(SEPARATORS).filter((part) => part !== ''));
  let total = 0;
  for (const part of parts) total += estimateGuesses(part).guessesLog10;
  return total;
}
