/** The deepest array/object nesting a request's JSON may have; inputs here are flat objects. */
export const MAX_JSON_DEPTH = 32;

/**
 * True when `text`, read as JSON, nests arrays and objects deeper than `limit`. One pass over the
 * characters, skipping string contents; it does not validate the JSON (the parser does that next).
 */
export function jsonTooDeep(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}
