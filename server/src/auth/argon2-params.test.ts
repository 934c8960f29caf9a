import { describe, expect, it } from 'vitest';
import { argon2Settings, dummyHash, needsRehash, paramsKey } from './argon2-params.ts';

const PRODUCTION = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };
/** Written by @node-rs/argon2 2.2.1 (the library this project used before `argon2`). */
const FROM_NODE_RS =
  '$argon2id$v=19$m=19456,t=2,p=1$SiJrc1waZ2R/mQ3blfBSLw$DM6mNtqaK2UcPmJWFHU1mruom/Lfe4PMDZ8TMmMreMs';
/** Written by the `argon2` package with its parameters in the order m,p,t. */
const M_P_T =
  '$argon2id$v=19$m=19456,p=1,t=2$6YWlbRgwx8nnwV47ucRV+A$Syv8IPtGkKasy658hFASt5tVkZWLCQseavklucT8rG8';

describe('argon2Settings', () => {
  it('reads type, version and parameters in either order', () => {
    const expected = { type: 'argon2id', version: 19, ...PRODUCTION };
    expect(argon2Settings(FROM_NODE_RS)).toEqual(expected);
    expect(argon2Settings(M_P_T)).toEqual(expected);
    expect(argon2Settings('$argon2i$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaA')).toEqual({
      type: 'argon2i',
      version: 16, // no v=: the original 1.0 format
      memoryCost: 4096,
      timeCost: 3,
      parallelism: 1,
    });
    // The head alone, as the start-up query reads it.
    expect(argon2Settings('$argon2id$v=19$m=1024,t=1,p=1')).toMatchObject({ memoryCost: 1024 });
  });

  it.each([
    '',
    'garbage',
    '$2b$10$abcdefghijklmnopqrstuv',
    '$argon2id$v=19$m=19456,t=2$c2FsdA$aGFzaA', // no p
    '$argon2id$v=19$m=19456,t=2,p=1,x=3$c2FsdA$aGFzaA', // unknown parameter
    '$argon2id$v=19$m=0,t=2,p=1$c2FsdA$aGFzaA',
    '$argon2x$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
  ])('refuses %j', (encoded) => {
    expect(argon2Settings(encoded)).toBeNull();
  });
});

describe('needsRehash', () => {
  it('keeps argon2id 0x13 hashes at the current parameters, from either library', () => {
    expect(needsRehash(FROM_NODE_RS, PRODUCTION)).toBe(false);
    expect(needsRehash(M_P_T, PRODUCTION)).toBe(false);
  });

  it('upgrades other parameters, other types, older versions and unreadable strings', () => {
    expect(needsRehash(FROM_NODE_RS, { ...PRODUCTION, timeCost: 3 })).toBe(true);
    expect(needsRehash(FROM_NODE_RS.replace('argon2id', 'argon2i'), PRODUCTION)).toBe(true);
    expect(needsRehash(FROM_NODE_RS.replace('v=19', 'v=16'), PRODUCTION)).toBe(true);
    expect(needsRehash('garbage', PRODUCTION)).toBe(true);
  });
});

describe('dummyHash', () => {
  it('is a well-formed argon2id string at the given parameters, fresh each time', () => {
    const dummy = dummyHash(PRODUCTION);
    expect(dummy).toMatch(
      /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
    );
    expect(dummyHash(PRODUCTION)).not.toBe(dummy);
    expect(argon2Settings(dummy)).toEqual({ type: 'argon2id', version: 19, ...PRODUCTION });
    expect(paramsKey(PRODUCTION)).toBe('m=19456,t=2,p=1');
  });
});
