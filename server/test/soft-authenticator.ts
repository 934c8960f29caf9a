import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * A software WebAuthn authenticator for procedure-level tests: P-256 keys (ES256), attestation
 * `none`, CBOR as authenticators write it, discoverable credentials. It answers the options the
 * server gives as a browser and a platform authenticator would, and each answer can be bent one
 * way (another origin, RP ID, challenge, counter, user handle, a broken signature) to play the
 * attacker.
 */

/** Chromium's virtual authenticator AAGUID ("Chromium Browser" in the public lists). */
export const CHROMIUM_AAGUID = 'b5397666-4885-aa6b-cebf-e52262a439a2';

interface Credential {
  id: Uint8Array<ArrayBuffer>;
  privateKey: KeyObject;
  cosePublicKey: Uint8Array;
  rpId: string;
  userHandle: string;
  counter: number;
}

export interface SoftAuthenticatorOptions {
  /** The page the browser would be on. */
  origin: string;
  aaguid?: string;
  /** UV flag: a PIN or biometric check passed. */
  userVerified?: boolean;
  /** Signature counter step per assertion; 0 for an authenticator that keeps none. */
  counterStep?: number;
}

export interface Bend {
  origin?: string;
  rpId?: string;
  challenge?: string;
  type?: string;
  /** The counter to sign with instead of the next one. */
  counter?: number;
  userHandle?: string | undefined;
  /** Flip a bit of the signature. */
  breakSignature?: boolean;
  /** Answer with this credential (by id) instead of the first one for the RP ID. */
  credentialId?: string;
}

const sha256 = (data: Uint8Array | string): Uint8Array =>
  createHash('sha256').update(data).digest();
const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const u32 = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function aaguidBytes(aaguid: string): Uint8Array {
  return Uint8Array.from(Buffer.from(aaguid.replaceAll('-', ''), 'hex'));
}

/** Flags: UP (user present), UV, BE+BS (a synced passkey), AT (attested credential data). */
const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

export class SoftAuthenticator {
  readonly credentials: Credential[] = [];
  private readonly options: Required<SoftAuthenticatorOptions>;

  constructor(options: SoftAuthenticatorOptions) {
    this.options = { aaguid: CHROMIUM_AAGUID, userVerified: true, counterStep: 1, ...options };
  }

  private flags(extra = 0): number {
    return UP | (this.options.userVerified ? UV : 0) | extra;
  }

  private clientData(type: string, challenge: string, origin: string): Uint8Array {
    return new TextEncoder().encode(
      JSON.stringify({ type, challenge, origin, crossOrigin: false }),
    );
  }

  /** `navigator.credentials.create`: a new discoverable credential for the options' RP and user. */
  register(
    options: PublicKeyCredentialCreationOptionsJSON,
    bend: Bend = {},
  ): RegistrationResponseJSON {
    const rpId = bend.rpId ?? options.rp.id ?? new URL(this.options.origin).hostname;
    const excluded = new Set((options.excludeCredentials ?? []).map((c) => c.id));
    if (
      bend.credentialId === undefined &&
      this.credentials.some((c) => excluded.has(b64url(c.id)))
    ) {
      throw new Error('InvalidStateError: this authenticator holds an excluded credential');
    }
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cosePublicKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, isoBase64URL.toBuffer(jwk.x ?? '')],
        [-3, isoBase64URL.toBuffer(jwk.y ?? '')],
      ]),
    );
    const id =
      bend.credentialId === undefined
        ? Uint8Array.from(randomBytes(16))
        : isoBase64URL.toBuffer(bend.credentialId);
    const credential: Credential = {
      id,
      privateKey,
      cosePublicKey,
      rpId,
      userHandle: options.user.id,
      counter: 0,
    };
    const authData = concat(
      sha256(rpId),
      new Uint8Array([this.flags(AT)]),
      u32(0),
      aaguidBytes(this.options.aaguid),
      new Uint8Array([id.length >> 8, id.length & 255]),
      id,
      cosePublicKey,
    );
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]) as never,
    );
    const clientData = this.clientData(
      bend.type ?? 'webauthn.create',
      bend.challenge ?? options.challenge,
      bend.origin ?? this.options.origin,
    );
    this.credentials.push(credential);
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientData),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
    };
  }

  /** `navigator.credentials.get` with empty `allowCredentials`: the first passkey for the RP. */
  assert(
    options: PublicKeyCredentialRequestOptionsJSON,
    bend: Bend = {},
  ): AuthenticationResponseJSON {
    const rpId = options.rpId ?? new URL(this.options.origin).hostname;
    const credential = this.credentials.find((c) =>
      bend.credentialId === undefined ? c.rpId === rpId : b64url(c.id) === bend.credentialId,
    );
    if (!credential) throw new Error('NotAllowedError: no passkey for this RP ID');
    credential.counter += this.options.counterStep;
    const counter = bend.counter ?? credential.counter;
    const authData = concat(
      sha256(bend.rpId ?? rpId),
      new Uint8Array([this.flags()]),
      u32(counter),
    );
    const clientData = this.clientData(
      bend.type ?? 'webauthn.get',
      bend.challenge ?? options.challenge,
      bend.origin ?? this.options.origin,
    );
    const signature = Uint8Array.from(
      sign('sha256', concat(authData, sha256(clientData)), credential.privateKey),
    );
    if (bend.breakSignature) signature.set([(signature.at(-1) ?? 0) ^ 1], signature.length - 1);
    const userHandle = 'userHandle' in bend ? bend.userHandle : credential.userHandle;
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientData),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(userHandle === undefined ? {} : { userHandle }),
      },
    };
  }
}
