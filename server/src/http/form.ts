const PLUS = 0x2b;
const PERCENT = 0x25;
const SPACE = 0x20;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The value of a %XX digit, or -1. */
function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** WHATWG percent-decoding with `+` as a space; a `%` that starts no escape stays as it is. */
function percentDecode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] ?? 0;
    const high = byte === PERCENT ? hexValue(bytes[i + 1]) : -1;
    const low = high >= 0 ? hexValue(bytes[i + 2]) : -1;
    if (low >= 0) {
      out[n++] = high * 16 + low;
      i += 2;
    } else out[n++] = byte === PLUS ? SPACE : byte;
  }
  return out.subarray(0, n);
}

function decode(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(percentDecode(bytes));
  } catch {
    return null;
  }
}

/**
 * An application/x-www-form-urlencoded body, read as URLSearchParams reads it (the first value of
 * a name wins) except that a value whose bytes, raw or percent-encoded, are not UTF-8 is null
 * instead of having U+FFFD put in: `%ED%A0%80` (an encoded surrogate), `%FF` and `%C0%AF` would
 * otherwise all turn into the same password. A name that is not UTF-8 names no field.
 */
export function parseForm(body: Uint8Array): Map<string, string | null> {
  const fields = new Map<string, string | null>();
  let start = 0;
  while (start <= body.length) {
    const amp = body.indexOf(0x26, start);
    const end = amp === -1 ? body.length : amp;
    const pair = body.subarray(start, end);
    start = end + 1;
    if (pair.length === 0) continue;
    const eq = pair.indexOf(0x3d);
    const name = decode(eq === -1 ? pair : pair.subarray(0, eq));
    if (name === null || fields.has(name)) continue;
    fields.set(name, decode(eq === -1 ? new Uint8Array() : pair.subarray(eq + 1)));
  }
  return fields;
}
