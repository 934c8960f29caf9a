import { describe, expect, it } from 'vitest';
import {
  canonicalUsername,
  loginInputSchema,
  loginPasswordSchema,
  newPasswordSchema,
  normalizePassword,
  scriptsOf,
  usernameSchema,
} from './credentials.ts';

const messages = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
  result.error?.issues.map((issue) => issue.message) ?? [];

describe('canonicalUsername', () => {
  const sample = [
    'alice',
    '  Alice  ',
    'ＡＬＩＣＥ',
    'ǅemal',
    'ǄEMAL',
    'STRASSE',
    'straße',
    'İstanbul',
    'ﬁsh',
    'e\u0301clair',
    'ﾊﾝｶｸ',
    'ΑΣ',
    '\u00a0\u0301x',
    'Ⅻ',
    '㍿',
  ];

  it.each(sample)('is idempotent on %j', (raw) => {
    const once = canonicalUsername(raw);
    expect(canonicalUsername(once)).toBe(once);
  });

  it('is idempotent on every single code point, alone and between letters', () => {
    const failures: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      for (const raw of [ch, `a${ch}b`]) {
        const once = canonicalUsername(raw);
        if (canonicalUsername(once) !== once) failures.push(cp.toString(16));
      }
    }
    expect(failures).toEqual([]);
  });

  it.each([
    ['ALICE', 'alice'],
    ['ＡＬＩＣＥ', 'alice'],
    ['  Ａlice\u3000', 'alice'],
    ['ﬁsh', 'fish'],
    ['e\u0301clair', 'éclair'],
    ['ǅemal', 'džemal'],
    ['ﾊﾝｶｸ', 'ハンカク'],
  ])('maps %j to %j', (raw, canonical) => {
    expect(canonicalUsername(raw)).toBe(canonical);
  });
});

describe('usernameSchema', () => {
  it.each([
    ['alice', 'alice'],
    ['jean-luc.picard_2', 'jean-luc.picard_2'],
    ['ñandú', 'ñandú'],
    ['Пётр', 'пётр'],
    ['山田太郎', '山田太郎'],
    ['ＡＬＩＣＥ', 'alice'],
    ['\u{20000}'.repeat(32), '\u{20000}'.repeat(32)], // 32 code points, 64 UTF-16 units
  ])('accepts %j as %j', (raw, canonical) => {
    expect(usernameSchema.safeParse(raw)).toEqual({ success: true, data: canonical });
  });

  const CHARS = 'Username may contain only letters, digits, ".", "_" and "-"';
  it.each([
    ['p\u0430ypal (Cyrillic а)', 'p\u0430ypal', 'Username must not mix writing systems'],
    ['g\u03bfogle (Greek ο)', 'g\u03bfogle', 'Username must not mix writing systems'],
    ['a bell character', 'ali\u0007ce', 'Username must not contain control characters'],
    ['NUL', 'al\u0000ice', 'Username must not contain control characters'],
    ['DEL', 'alice\u007f', 'Username must not contain control characters'],
    ['a space', 'al ice', CHARS],
    ['@', 'al@ice', CHARS],
    ['an emoji', 'ali😀', CHARS],
    ['a zero-width space', 'ali\u200bce', CHARS],
    ['a right-to-left override', '\u202eecila', CHARS],
    ['2 characters', 'ab', 'Username must be at least 3 characters'],
    ['2 characters after trimming', '  ab  ', 'Username must be at least 3 characters'],
    ['33 characters', 'a'.repeat(33), 'Username must be at most 32 characters'],
    ['33 astral characters', '\u{20000}'.repeat(33), 'Username must be at most 32 characters'],
    ['129 raw characters', 'a'.repeat(129), 'Username is too long'],
    ['1 MiB', 'a'.repeat(1 << 20), 'Username is too long'],
  ])('refuses %s', (_, raw, message) => {
    expect(messages(usernameSchema.safeParse(raw))).toEqual([message]);
  });

  // Default-ignorable code points render as nothing: 'alice' + one of them looks exactly like
  // 'alice' but is another account; a name of Hangul fillers or bare marks is invisible.
  it.each([
    ['a combining grapheme joiner', 'alice\u034f'],
    ['a variation selector', 'alice\ufe0f'],
    ['a supplementary variation selector', 'alice\u{e0100}'],
    ['a Mongolian free variation selector', 'ali\u180bce'],
    ['only Hangul fillers', '\u3164\u3164\u3164'],
    ['only combining marks', '\u0301\u0302\u0303'],
  ])('refuses an invisible or look-alike name made with %s', (_, raw) => {
    expect(messages(usernameSchema.safeParse(raw))).toEqual([CHARS]);
  });

  it('groups Han with kana but keeps Latin separate', () => {
    expect([...scriptsOf('山田たろう')]).toEqual(['CJK']);
    expect([...scriptsOf('p\u0430ypal')].sort()).toEqual(['Cyrillic', 'Latin']);
  });
});

describe('newPasswordSchema', () => {
  const schema = newPasswordSchema();

  it.each([
    ['15 characters by default', schema, 'fifteen chars!!', 'abcdefghijklmn', 15],
    ['a floor of 8 when configured lower', newPasswordSchema(4), 'eight ch', 'seven c', 8],
    ['code points, not UTF-16 units', schema, '😀'.repeat(15), '😀'.repeat(14), 15],
  ])('minimum: %s', (_, s, ok, short, min) => {
    expect(s.safeParse(ok)).toEqual({ success: true, data: ok });
    expect(messages(s.safeParse(short))).toEqual([`Password must be at least ${min} characters`]);
  });

  it.each([
    ['1024 characters', 'ab c'.repeat(256), true],
    ['1024 astral characters', '😀'.repeat(1024), true],
    ['1025 characters', 'x'.repeat(1025), false],
    ['1 MiB', 'x'.repeat(1 << 20), false],
    ['1 MiB of NULs (one reason only)', '\u0000'.repeat(1 << 20), false],
    ['400 ﬃ ligatures (1200 characters after NFKC)', 'ﬃ'.repeat(400), false],
  ])('maximum: %s', (_, password, accepted) => {
    const result = schema.safeParse(password);
    expect(result.success).toBe(accepted);
    if (!accepted) {
      expect(messages(result)).toEqual(['Password must be at most 1024 characters']);
    }
  });

  it.each(['\u0000', '\n', '\t', '\u001b', '\u007f', '\u0085'])('refuses control %j', (ch) => {
    expect(messages(schema.safeParse(`correct horse${ch}battery staple`))).toEqual([
      'Password must not contain control characters',
    ]);
  });

  it('applies NFKC, identically when setting and when signing in', () => {
    const wide = 'ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ';
    expect(schema.safeParse(wide)).toEqual({ success: true, data: 'correct horse battery' });
    expect(loginPasswordSchema.safeParse(wide)).toEqual({
      success: true,
      data: 'correct horse battery',
    });
    expect(normalizePassword('Cafe\u0301 ﬁve ①')).toBe('Café five 1');
  });

  it('accepts a 64-character passphrase with spaces and Unicode, unchanged', () => {
    const passphrase = 'Ünïcödé pässphrasé – 山田太郎 – with spaces 😀 and more words!!';
    const padded = passphrase.padEnd(64 - ([...passphrase].length - passphrase.length), '.');
    expect([...padded]).toHaveLength(64);
    expect(schema.safeParse(padded)).toEqual({ success: true, data: padded });
  });

  it('has no composition rules and never changes case', () => {
    const lower = 'just a long lowercase passphrase';
    expect(schema.safeParse(lower)).toEqual({ success: true, data: lower });
    expect(schema.safeParse('MiXeD CaSe PaSsPhRaSe')).toEqual({
      success: true,
      data: 'MiXeD CaSe PaSsPhRaSe',
    });
  });
});

// An unpaired UTF-16 surrogate cannot be encoded in UTF-8: hashed or stored it becomes U+FFFD, so
// "\ud800" and "\udbff" would be the same password. JSON can carry one ("\ud800"); refuse it.
describe('unpaired surrogates', () => {
  const lone = [
    ['a high surrogate alone', '\ud800'],
    ['a low surrogate alone', '\udfff'],
    ['a pair in the wrong order', '\udc00\ud800'],
    ['a high surrogate before a letter', '\udbffx'],
  ];

  it.each(lone)('refuses %s in a username, at registration and at sign-in', (_, bad) => {
    const message = 'Username must not contain unpaired surrogates';
    expect(messages(usernameSchema.safeParse(`alice${bad}`))).toEqual([message]);
    const login = loginInputSchema.safeParse({ username: `alice${bad}`, password: 'whatever' });
    expect(messages(login)).toEqual([message]);
  });

  it.each(lone)('refuses %s in a new password and in a password at sign-in', (_, bad) => {
    const message = 'Password must not contain unpaired surrogates';
    const password = `correct horse ${bad} battery staple`;
    expect(messages(newPasswordSchema().safeParse(password))).toEqual([message]);
    expect(messages(loginPasswordSchema.safeParse(password))).toEqual([message]);
  });

  it('accepts characters outside the BMP, which are surrogate pairs in UTF-16', () => {
    const password = 'correct horse 😀 battery 𝄞 staple';
    expect(newPasswordSchema().safeParse(password)).toEqual({ success: true, data: password });
    expect(usernameSchema.safeParse('\u{20000}\u{20001}\u{20002}').success).toBe(true);
  });

  it('treats U+FFFD, a real character, as any other', () => {
    const password = 'correct horse \ufffd battery staple';
    expect(loginPasswordSchema.safeParse(password)).toEqual({ success: true, data: password });
  });
});
