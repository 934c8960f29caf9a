import { randomBytes } from 'node:crypto';
import type { Argon2Params } from '../config.ts';

/** What the head of an encoded argon2 hash (PHC string) says about how it was made. */
export interface Argon2Settings extends Argon2Params {
  type: 'argon2id' | 'argon2i' | 'argon2d';
  /** 19 (0x13) for current hashes; 16 (0x10) when the string has no `v=`. */
  version: number;
}

/**
 * `$argon2id$v=19$m=19456,t=2,p=1`, the rest (`$salt$hash`) ignored. m, t and p in any order (older
 * writers used m,p,t); any other parameter makes the string unreadable here.
 */
const HEAD =
  /^\$(argon2id|argon2i|argon2d)(?:\$v=(\d{1,3}))?\$([a-z]=\d{1,10}(?:,[a-z]=\d{1,10})*)(?:\$|$)/;

/**
 * The settings of an encoded hash, or null when it is not a readable argon2 string. Reads only;
 * whether the hash matches a password is the library's business (hash-process.cjs).
 */
export function argon2Settings(encoded: string): Argon2Settings | null {
  const match = HEAD.exec(encoded);
  if (!match) return null;
  const [, type, version, list] = match;
  const values = new Map((list ?? '').split(',').map((kv) => [kv[0], Number(kv.slice(2))]));
  const memoryCost = values.get('m');
  const timeCost = values.get('t');
  const parallelism = values.get('p');
  if (values.size !== 3 || !memoryCost || !timeCost || !parallelism) return null;
  return {
    type: type as Argon2Settings['type'],
    version: version === undefined ? 16 : Number(version),
    memoryCost,
    timeCost,
    parallelism,
  };
}

/** A stable name for a parameter set, e.g. `m=19456,t=2,p=1`. */
export function paramsKey(p: Argon2Params): string {
  return `m=${p.memoryCost},t=${p.timeCost},p=${p.parallelism}`;
}

/** True unless `encoded` is argon2id, version 0x13, made with exactly `params`. */
export function needsRehash(encoded: string, params: Argon2Params): boolean {
  const s = argon2Settings(encoded);
  return (
    s === null || s.type !== 'argon2id' || s.version !== 0x13 || paramsKey(s) !== paramsKey(params)
  );
}

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

/**
 * A well-formed argon2id hash at `params` that no password matches (random salt and digest):
 * verifying against it costs what verifying a real hash at `params` costs.
 */
export function dummyHash(params: Argon2Params): string {
  return `$argon2id$v=19$${paramsKey(params)}$${b64(randomBytes(16))}$${b64(randomBytes(32))}`;
}
