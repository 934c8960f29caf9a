import { createHmac, createSecretKey, randomUUID } from 'node:crypto';
import {
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
  type JWTPayload,
} from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { TEST_SECRET, testConfig } from '../../test/helpers.ts';
import { keyId } from '../config.ts';
import { createTokenIssuer, signHs256 } from './tokens.ts';

/** A frozen clock (epoch seconds); every token below is judged at this instant unless moved. */
const NOW = 1_900_000_000;
let clockMs = NOW * 1000;
const config = testConfig();
const SECRET = config.jwt.signing.secret;
const KID = config.jwt.signing.kid;
const ISS = config.jwt.issuer;
const AUD = config.jwt.audience;
const TTL = config.accessTokenTtl;

const issuer = await createTokenIssuer(config, () => clockMs);
beforeEach(() => {
  clockMs = NOW * 1000;
});

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const header = (extra: Record<string, unknown> = {}) => ({
  alg: 'HS256',
  typ: 'at+jwt',
  kid: KID,
  ...extra,
});
const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: ISS,
  aud: AUD,
  sub: randomUUID(),
  sid: randomUUID(),
  jti: randomUUID(),
  iat: NOW,
  exp: NOW + TTL,
  ...extra,
});
const without = (claim: string) => {
  const c = claims();
  delete c[claim];
  return c;
};

/** Signs by hand; a string header or payload is used verbatim (e.g. JSON that JSON.stringify cannot write). */
function forge(head: object | string, payload: object | string, secret = SECRET): string {
  const json = (v: object | string) => (typeof v === 'string' ? v : JSON.stringify(v));
  const input = `${b64(json(head))}.${b64(json(payload))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** What jose does with our key and none of our options: shows which checks are ours to make. */
const plainJoseAccepts = (token: string) =>
  jwtVerify(token, SECRET, { currentDate: new Date(clockMs) }).then(
    () => true,
    () => false,
  );

const refused = async (token: string) => {
  await expect(issuer.verify(token)).resolves.toBeNull();
};

describe('a hand-forged token with every rule right', () => {
  it('verifies, so the refusals below are caused by the one thing each changes', async () => {
    const c = claims();
    await expect(issuer.verify(forge(header(), c))).resolves.toEqual({
      userId: c.sub,
      sessionId: c.sid,
      jti: c.jti,
      expiresAt: NOW + TTL,
    });
  });

  it.each([
    ['typ AT+JWT', header({ typ: 'AT+JWT' }), claims()],
    ['typ application/at+jwt', header({ typ: 'application/at+jwt' }), claims()],
    ['iat 30 s ahead (clock skew)', header(), claims({ iat: NOW + 30, exp: NOW + 30 + TTL })],
    // RFC 9068 allows an array; jose accepts it when ours is a member, and so do we.
    ['aud array that contains ours', header(), claims({ aud: ['https://other.example', AUD] })],
  ])('accepts %s', async (_, head, payload) => {
    await expect(issuer.verify(forge(head, payload))).resolves.not.toBeNull();
  });
});

const rsa = await generateKeyPair('RS256');
const ec = await generateKeyPair('ES256');
const rsaJwk = await exportJWK(rsa.publicKey);
const attackerKey = new TextEncoder().encode('attacker-chosen-key-0123456789-abcdefghijkl');
const attackerJwk = { kty: 'oct', k: Buffer.from(attackerKey).toString('base64url') };

const signWith = (
  alg: string,
  key: Parameters<SignJWT['sign']>[0],
  extra: Record<string, unknown> = {},
) => new SignJWT(claims()).setProtectedHeader(header({ alg, ...extra })).sign(key);

describe('forged and malformed tokens are refused with null', () => {
  it.each([
    ['alg none (jose UnsecuredJWT)', () => new UnsecuredJWT(claims()).encode(), false],
    [
      'alg none, by hand',
      () => `${b64('{"alg":"none"}')}.${b64(JSON.stringify(claims()))}.`,
      false,
    ],
    ['HS512 with our key', () => signWith('HS512', SECRET), true],
    ['HS384 with our key', () => signWith('HS384', SECRET), true],
    ['RS256 with a real RSA key', () => signWith('RS256', rsa.privateKey), false],
    ['ES256 with a real EC key', () => signWith('ES256', ec.privateKey), false],
    ['RS256 header, HMAC with our key', () => forge(header({ alg: 'RS256' }), claims()), false],
    ['ES256 header, HMAC with our key', () => forge(header({ alg: 'ES256' }), claims()), false],
    ['embedded RSA jwk', () => signWith('RS256', rsa.privateKey, { jwk: rsaJwk }), false],
    ['embedded oct jwk', () => forge(header({ jwk: attackerJwk }), claims(), attackerKey), false],
    [
      'jku elsewhere',
      () => forge(header({ jku: 'https://evil.example/jwks', kid: 'evil' }), claims(), attackerKey),
      false,
    ],
    ['no kid', () => forge({ alg: 'HS256', typ: 'at+jwt' }, claims()), true],
    ['unknown kid', () => forge(header({ kid: 'not-one-of-ours' }), claims()), true],
    ['typ JWT', () => forge(header({ typ: 'JWT' }), claims()), true],
    ['no typ', () => forge({ alg: 'HS256', kid: KID }, claims()), true],
    [
      'header that is not JSON',
      () => `${b64('{alg')}.${b64(JSON.stringify(claims()))}.c2ln`,
      false,
    ],
    ['empty string', () => '', false],
  ])('header or key: %s', async (_, make: () => string | Promise<string>, joseAloneAccepts) => {
    const token = await make();
    expect(await plainJoseAccepts(token)).toBe(joseAloneAccepts);
    await refused(token);
  });

  // Each is signed with our key and HS256: jose alone accepts every one of them.
  const claimCases: [string, object | string][] = [
    ['missing exp', without('exp')],
    ['exp 10 years ahead', claims({ exp: NOW + 10 * 365 * 86_400 })],
    ['exp 1e400 (Infinity)', JSON.stringify(claims({ exp: 0 })).replace('"exp":0', '"exp":1e400')],
    ['fractional exp', claims({ exp: NOW + TTL - 0.5 })],
    ['exp − iat longer than the TTL', claims({ iat: NOW - 100 })],
    ['iat 31 s in the future', claims({ iat: NOW + 31, exp: NOW + 31 + TTL })],
    ['iat an hour in the future', claims({ iat: NOW + 3600, exp: NOW + 3600 + TTL })],
    ...['iss', 'aud', 'sub', 'sid', 'jti', 'iat'].map((c): [string, object] => [
      `missing ${c}`,
      without(c),
    ]),
    ['wrong iss', claims({ iss: 'https://evil.example' })],
    ['wrong aud', claims({ aud: 'someone-else' })],
    ['aud array without ours', claims({ aud: ['a', 'b'] })],
    ['numeric sub', claims({ sub: 12345 })],
  ];
  it.each(claimCases)('claims: %s', async (_, payload) => {
    const token = forge(header(), payload);
    expect(await plainJoseAccepts(token)).toBe(true);
    await refused(token);
  });

  it('a genuine token whose payload was edited (sub changed) keeps no value', async () => {
    const { token } = await issuer.sign(randomUUID(), randomUUID());
    await expect(issuer.verify(token)).resolves.not.toBeNull();
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as JWTPayload;
    const edited = `${h}.${b64(JSON.stringify({ ...payload, sub: randomUUID() }))}.${s}`;
    await refused(edited);
  });
});

describe('non-canonical spellings of a genuine token', () => {
  const variants: [string, (token: string) => string][] = [
    ['"=" appended to the signature', (t) => `${t}=`],
    [
      'altered unused trailing bits in the signature',
      (t) => {
        const last = t.at(-1) ?? '';
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        return t.slice(0, -1) + (alphabet[alphabet.indexOf(last) ^ 1] ?? '');
      },
    ],
    ['a space inside the signature', (t) => `${t.slice(0, -10)} ${t.slice(-10)}`],
    ['a newline inside the signature', (t) => `${t.slice(0, -10)}\n${t.slice(-10)}`],
  ];

  it.each(variants)('%s: jose alone accepts it, we refuse it', async (_, alter) => {
    const { token } = await issuer.sign(randomUUID(), randomUUID());
    const altered = alter(token);
    expect(altered).not.toBe(token);
    expect(await plainJoseAccepts(altered)).toBe(true);
    await refused(altered);
  });

  it('a fourth segment is refused', async () => {
    const { token } = await issuer.sign(randomUUID(), randomUUID());
    await refused(`${token}.${token.split('.')[2] ?? ''}`);
  });

  it('a valid token over 2048 characters is refused; one just under is accepted', async () => {
    const tokens = Array.from({ length: 400 }, (_, i) =>
      forge(header(), claims({ pad: 'x'.repeat(1000 + i) })),
    );
    const longestAllowed = tokens.filter((t) => t.length <= 2048).at(-1) ?? '';
    const shortestOver = tokens.find((t) => t.length > 2048) ?? '';
    expect(longestAllowed.length).toBeGreaterThanOrEqual(2046);
    expect(shortestOver.length).toBeLessThanOrEqual(2050);
    await expect(issuer.verify(longestAllowed)).resolves.not.toBeNull();
    expect(await plainJoseAccepts(shortestOver)).toBe(true);
    await refused(shortestOver);
  });
});

describe('expiry on a frozen clock', () => {
  it('is valid until exp, within the 30 s skew after it, and refused beyond', async () => {
    const { token } = await issuer.sign(randomUUID(), randomUUID());
    const exp = NOW + TTL;
    const at = (second: number) => {
      clockMs = second * 1000;
      return issuer.verify(token);
    };
    await expect(at(exp - 1)).resolves.toMatchObject({ expiresAt: exp });
    await expect(at(exp + 29)).resolves.toMatchObject({ expiresAt: exp });
    // RFC 7519: now must be before exp + leeway, so exp + 30 is already out.
    await expect(at(exp + 30)).resolves.toBeNull();
    await expect(at(exp + 31)).resolves.toBeNull();
  });
});

describe('signing', () => {
  it('writes what jose SignJWT writes for the same header and claims, byte for byte', async () => {
    const head = header();
    const c = claims();
    const mine = signHs256(createSecretKey(SECRET), head, c);
    const jose = await new SignJWT(c).setProtectedHeader(head).sign(SECRET);
    expect(mine).toBe(jose);
  });

  it('issues tokens that plain jose verifies with our key and that we accept', async () => {
    const userId = randomUUID();
    const sessionId = randomUUID();
    const { token, expiresIn } = await issuer.sign(userId, sessionId);
    expect(expiresIn).toBe(TTL);
    const { payload, protectedHeader } = await jwtVerify(token, SECRET, {
      currentDate: new Date(clockMs),
      issuer: ISS,
      audience: AUD,
    });
    expect(protectedHeader).toEqual(header());
    expect(payload).toMatchObject({ sub: userId, sid: sessionId, iat: NOW, exp: NOW + TTL });
    await expect(issuer.verify(token)).resolves.toMatchObject({ userId, sessionId });
  });
});

describe('key rotation', () => {
  const NEW_SECRET = 'acFWJOpEcGebGuIeFcae3E2MO0-WUTg7wVBrEp-6vgg';

  it('accepts tokens from a previous key, signs with the new one, forgets dropped keys', async () => {
    const clock = () => clockMs;
    const old = await createTokenIssuer(testConfig(), clock);
    const rotated = await createTokenIssuer(
      testConfig({
        JWT_SECRET: NEW_SECRET,
        JWT_PREVIOUS_SECRETS: `0fVq-nyO0bz9YRfPt9WpLQRfznSJGL4w2a7t6z8Rd9E, ${TEST_SECRET}`,
      }),
      clock,
    );
    const dropped = await createTokenIssuer(testConfig({ JWT_SECRET: NEW_SECRET }), clock);

    const oldToken = (await old.sign(randomUUID(), randomUUID())).token;
    await expect(rotated.verify(oldToken)).resolves.not.toBeNull();
    await expect(dropped.verify(oldToken)).resolves.toBeNull();

    const newToken = (await rotated.sign(randomUUID(), randomUUID())).token;
    expect(decodeProtectedHeader(newToken).kid).toBe(keyId(new TextEncoder().encode(NEW_SECRET)));
    await expect(dropped.verify(newToken)).resolves.not.toBeNull();
    await expect(old.verify(newToken)).resolves.toBeNull();
  });

  it('kid selects the key strictly: an old-key signature under the new kid is refused', async () => {
    const rotated = await createTokenIssuer(
      testConfig({ JWT_SECRET: NEW_SECRET, JWT_PREVIOUS_SECRETS: TEST_SECRET }),
      () => clockMs,
    );
    const newKid = keyId(new TextEncoder().encode(NEW_SECRET));
    await expect(rotated.verify(forge(header({ kid: newKid }), claims()))).resolves.toBeNull();
    await expect(rotated.verify(forge(header(), claims()))).resolves.not.toBeNull();
  });
});
