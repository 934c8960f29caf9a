import type {
  ColumnType,
  Generated,
  Insertable,
  Kysely,
  Selectable,
  Transaction,
  Updateable,
} from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamp with a database default: optional on insert. */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<
  Date | null,
  Date | string | null | undefined,
  Date | string | null
>;

export interface UsersTable {
  id: Generated<string>;
  /** Canonical form only (see @latchkey/shared canonicalUsername). */
  username: string;
  password_hash: string;
  disabled_at: NullableTimestamp;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  created_at: DefaultTimestamp;
  last_used_at: DefaultTimestamp;
  /** Absolute end of the session; idle expiry is derived from last_used_at. */
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  revoked_reason: string | null;
  user_agent: string | null;
  client_address: string | null;
  /** RFC 8176 methods of the sign-in that started the session (`pwd`, `otp`); kept by refresh. */
  amr: ColumnType<string[], string[] | undefined, string[]>;
}

/** Every refresh token a session was ever issued, by SHA-256 hash, so reuse of any of them is seen. */
export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  created_at: DefaultTimestamp;
  rotated_at: NullableTimestamp;
  replaced_by: string | null;
}

export interface AuditEventsTable {
  id: Generated<number>;
  occurred_at: DefaultTimestamp;
  event: string;
  reason: string | null;
  user_id: string | null;
  username: string | null;
  session_id: string | null;
  client_address: string | null;
  user_agent: string | null;
}

/**
 * Attempt logs shared by every instance: `key` is `user:<canonical name>` or `client:<address or
 * IPv6 /64>`. Attempts are judged and recorded by the `throttle_attempt` function (migration 003)
 * before the password is checked, so concurrent guesses cannot overtake the limit.
 */
export interface ThrottleTable {
  key: string;
  /** Times of the counted attempts, oldest first; at most the key's limit of the newest. */
  hits: ColumnType<Date[], Date[] | undefined, Date[]>;
  /** Lockouts in a row; the next lock lasts the base window × 2^strikes (progressive, capped). */
  strikes: ColumnType<number, number | undefined, number>;
  /** While in the future, every attempt against the key is refused. */
  locked_until: NullableTimestamp;
  /** From then on the row carries nothing (hits and lock a window old): purged, or reset on use. */
  expires_at: Timestamp;
}

/**
 * The revocation journal (migration 005), written by triggers: a session that stopped being live
 * (revoked or deleted), or, with `session_id` null, a user disabled or deleted. Instances read it
 * in `id` order to drop what they remember of those sessions.
 */
export interface SessionRevocationsTable {
  id: Generated<number>;
  session_id: string | null;
  user_id: string | null;
  revoked_at: DefaultTimestamp;
}

/** A user's TOTP factor: pending until `enabled_at` is set. */
export interface MfaTotpTable {
  user_id: string;
  /** The base32 secret sealed with AES-256-GCM (`v1.<kid>.<iv>.<ciphertext+tag>`). */
  secret_box: string;
  enabled_at: NullableTimestamp;
  /** Last accepted 30 s step (replay guard); bigint comes back as a string from pg. */
  last_step: ColumnType<string | null, number | string | null | undefined, number | string | null>;
  created_at: DefaultTimestamp;
}

/** Recovery codes by keyed hash; each is spent once (`used_at`). */
export interface MfaRecoveryCodesTable {
  user_id: string;
  code_hash: string;
  used_at: NullableTimestamp;
  created_at: DefaultTimestamp;
}

/** Between a verified password and a finished sign-in: an `mfaToken`, by SHA-256 hash. */
export interface MfaChallengesTable {
  token_hash: string;
  user_id: string;
  expires_at: Timestamp;
  attempts: ColumnType<number, number | undefined, number>;
  used_at: NullableTimestamp;
  created_at: DefaultTimestamp;
}

/** The opaque WebAuthn user handle of a user with passkeys (never the username or id). */
export interface WebauthnUsersTable {
  user_id: string;
  handle: string;
}

/** A WebAuthn credential (passkey); `id` is the credential id, base64url. */
export interface PasskeysTable {
  id: string;
  user_id: string;
  public_key: Uint8Array;
  /** bigint comes back as a string from pg. */
  counter: ColumnType<string, number | string | undefined, number | string>;
  transports: ColumnType<string[], string[] | undefined, string[]>;
  device_type: string;
  backed_up: boolean;
  aaguid: string;
  name: string;
  created_at: DefaultTimestamp;
  last_used_at: NullableTimestamp;
}

/** A WebAuthn ceremony's challenge: single use, short-lived; `user_id` set for a registration. */
export interface PasskeyChallengesTable {
  id: string;
  challenge: string;
  user_id: string | null;
  expires_at: Timestamp;
  created_at: DefaultTimestamp;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  audit_events: AuditEventsTable;
  throttle: ThrottleTable;
  session_revocations: SessionRevocationsTable;
  mfa_totp: MfaTotpTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  webauthn_users: WebauthnUsersTable;
  passkeys: PasskeysTable;
  passkey_challenges: PasskeyChallengesTable;
}

/** What a repository function takes first: the database, or a transaction on it. */
export type Db = Kysely<Database> | Transaction<Database>;

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
