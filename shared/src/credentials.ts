import { z } from 'zod';

/** Bounds and rules that both the server and the SPA enforce. */
export const USERNAME_RULES = {
  minLength: 3,
  maxLength: 32,
  /** Raw input longer than this is refused before any normalisation work. */
  maxRawLength: 128,
} as const;

/** NIST SP 800-63B-4: at least 15 for password-only login, configurable but never below 8. */
export const PASSWORD_MIN_LENGTH = 15;
export const PASSWORD_MIN_LENGTH_FLOOR = 8;
/** Documented cap, checked before any hashing (NIST requires accepting at least 64). */
export const PASSWORD_MAX_LENGTH = 1024;

// Cc covers C0/C1 controls including NUL, which PostgreSQL `text` cannot store.
const CONTROL = /\p{Cc}/u;
// In a `u` regex a surrogate pair is one code point, so Cs matches only an unpaired half: a string
// that is not well-formed UTF-16 (what String.prototype.isWellFormed tests). UTF-8 cannot encode
// it; left in, it would silently become U+FFFD when hashed or stored.
const LONE_SURROGATE = /\p{Cs}/u;
// A name starts with a visible character (never a bare combining mark) ...
const USERNAME_CHARS = /^[\p{L}\p{Nd}._-][\p{L}\p{M}\p{Nd}._-]*$/u;
// ... and holds nothing that renders as nothing (joiners, variation selectors, fillers).
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;

/** Scripts a name may be written in; Han, kana and Hangul are grouped because names mix them. */
const SCRIPTS: ReadonlyArray<readonly [string, RegExp]> = [
  ['Latin', /\p{Script=Latin}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Armenian', /\p{Script=Armenian}/u],
  ['Hebrew', /\p{Script=Hebrew}/u],
  ['Arabic', /\p{Script=Arabic}/u],
  ['Devanagari', /\p{Script=Devanagari}/u],
  ['Bengali', /\p{Script=Bengali}/u],
  ['Thai', /\p{Script=Thai}/u],
  ['Georgian', /\p{Script=Georgian}/u],
  ['CJK', /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u],
  ['Cherokee', /\p{Script=Cherokee}/u],
];

const codePoints = (value: string): number => [...value].length;

/**
 * The one canonical form of a username: NFKC (which also maps full-width forms), lower-cased,
 * trimmed. Idempotent: canonicalUsername(canonicalUsername(x)) === canonicalUsername(x).
 */
export function canonicalUsername(raw: string): string {
  return raw.normalize('NFKC').toLowerCase().normalize('NFKC').trim();
}

/** The scripts the letters of `name` belong to (digits and punctuation are script-neutral). */
export function scriptsOf(name: string): Set<string> {
  const found = new Set<string>();
  for (const ch of name) {
    if (!/\p{L}/u.test(ch)) continue;
    const script = SCRIPTS.find(([, re]) => re.test(ch));
    found.add(script ? script[0] : 'Other');
  }
  return found;
}

/** NFKC form used both when a password is set and when it is verified. */
export function normalizePassword(raw: string): string {
  return raw.normalize('NFKC');
}

/** Rules every text field shares: no control characters, no unpaired surrogates. */
function plainText(schema: z.ZodString, field: string): z.ZodString {
  return schema
    .refine((v) => !CONTROL.test(v), `${field} must not contain control characters`)
    .refine((v) => !LONE_SURROGATE.test(v), `${field} must not contain unpaired surrogates`);
}

/** A username as typed at registration: canonicalised, then held to every rule. */
export const usernameSchema = plainText(
  z.string().max(USERNAME_RULES.maxRawLength, 'Username is too long'),
  'Username',
)
  .transform(canonicalUsername)
  .pipe(
    z
      .string()
      .refine(
        (v) => codePoints(v) >= USERNAME_RULES.minLength,
        `Username must be at least ${USERNAME_RULES.minLength} characters`,
      )
      .refine(
        (v) => codePoints(v) <= USERNAME_RULES.maxLength,
        `Username must be at most ${USERNAME_RULES.maxLength} characters`,
      )
      .refine(
        (v) => USERNAME_CHARS.test(v) && !INVISIBLE.test(v),
        'Username may contain only letters, digits, ".", "_" and "-"',
      )
      .refine((v) => scriptsOf(v).size <= 1, 'Username must not mix writing systems'),
  );

/**
 * A username as typed at sign-in: canonicalised but not held to the registration rules, so a
 * malformed name fails exactly like an unknown one and reveals nothing.
 */
export const loginUsernameSchema = plainText(
  z
    .string()
    .min(1, 'Username is required')
    .max(USERNAME_RULES.maxRawLength, 'Username is too long'),
  'Username',
).transform(canonicalUsername);

const passwordBase = plainText(
  z.string().refine((v) => codePoints(v) <= PASSWORD_MAX_LENGTH, {
    message: `Password must be at most ${PASSWORD_MAX_LENGTH} characters`,
    abort: true,
  }),
  'Password',
);

/** A new password. No composition rules (NIST 800-63B-4); the blocklist is checked on the server. */
export function newPasswordSchema(minLength: number = PASSWORD_MIN_LENGTH) {
  const min = Math.max(minLength, PASSWORD_MIN_LENGTH_FLOOR);
  return passwordBase
    .refine((v) => codePoints(v) >= min, `Password must be at least ${min} characters`)
    .transform(normalizePassword)
    .refine(
      (v) => codePoints(v) <= PASSWORD_MAX_LENGTH,
      `Password must be at most ${PASSWORD_MAX_LENGTH} characters`,
    );
}

/** A password presented at sign-in: only the cap and the character set are checked. */
export const loginPasswordSchema = passwordBase
  .refine((v) => v.length > 0, 'Password is required')
  .transform(normalizePassword);

export function registerInputSchema(passwordMinLength: number = PASSWORD_MIN_LENGTH) {
  return z.object({
    username: usernameSchema,
    password: newPasswordSchema(passwordMinLength),
  });
}

export const loginInputSchema = z.object({
  username: loginUsernameSchema,
  password: loginPasswordSchema,
});

export function changePasswordInputSchema(passwordMinLength: number = PASSWORD_MIN_LENGTH) {
  return z.object({
    currentPassword: loginPasswordSchema,
    newPassword: newPasswordSchema(passwordMinLength),
  });
}

export type Credentials = z.input<typeof loginInputSchema>;
