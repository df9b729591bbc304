/**
 * Bounds on JSON that comes from outside (datagrams, files) and a bounded
 * rendering of parsed values for error messages.
 *
 * V8's JSON.parse takes any nesting depth, but JSON.stringify, structured
 * clones and every recursive walk of the result do not: a 10 KB datagram of
 * 5,000 nested arrays throws RangeError (maximum call stack size exceeded)
 * in the first one (issue 18). So the text is measured before it is parsed:
 * one pass over the bytes counting brackets outside strings, with no
 * allocation, and a value is only ever rendered through
 * {@link showJsonValue}, which stops after a fixed number of characters.
 */

/** How big and how deep a JSON text may be. */
export interface JsonLimits {
  /** Largest text, bytes (UTF-8). */
  maxBytes: number;
  /** Deepest nesting of arrays and objects; the top-level object is depth 1. */
  maxDepth: number;
}

/** Result of {@link parseJsonWithin}. */
export type BoundedJson = { ok: true; value: unknown } | { ok: false; reason: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Checks size and nesting depth of a JSON text without parsing it; returns
 * a reason, or null when the text is within the limits. Only brackets
 * outside string literals count. Structure is not validated (JSON.parse
 * does that afterwards), so unbalanced text is fine here. Bytes of a UTF-8
 * multi-byte sequence are all ≥ 0x80, so scanning bytes is exact.
 */
export function checkJsonLimits(text: Buffer | string, limits: JsonLimits): string | null {
  const bytes = typeof text === 'string' ? Buffer.byteLength(text, 'utf8') : text.length;
  if (bytes > limits.maxBytes) return `${bytes} bytes exceed the ${limits.maxBytes}-byte limit`;
  const at = typeof text === 'string' ? (i: number) => text.charCodeAt(i) : (i: number) => text[i]!;
  const n = text.length;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < n; i++) {
    const c = at(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > limits.maxDepth) return `nesting deeper than ${limits.maxDepth} levels`;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return null;
}

/** Checks the limits, then parses; never throws. The reason is prefixed with `what`. */
export function parseJsonWithin(text: Buffer | string, limits: JsonLimits, what: string): BoundedJson {
  const over = checkJsonLimits(text, limits);
  if (over !== null) return { ok: false, reason: `${what} refused: ${over}` };
  try {
    return { ok: true, value: JSON.parse(typeof text === 'string' ? text : text.toString('utf8')) as unknown };
  } catch (err) {
    return { ok: false, reason: `${what} is not valid JSON: ${(err as Error).message}` };
  }
}

/** Characters of a rendered value in a reason, before it is cut. */
export const SHOWN_CHARS = 40;

/**
 * A short rendering of a value for a reason or a log line: its compact JSON
 * when that fits in `maxChars`, else a prefix of it with `...` and what the
 * value is (`an array of 1 item`, `an object`, `a string of 60000
 * characters`). Work is bounded by `maxChars` whatever the value (depth,
 * length, cycles): the walk stops as soon as the output is long enough.
 */
export function showJsonValue(v: unknown, maxChars = SHOWN_CHARS): string {
  const out: string[] = [];
  let len = 0;
  const put = (s: string): boolean => {
    out.push(s);
    len += s.length;
    return len <= maxChars;
  };
  const walk = (x: unknown): boolean => {
    if (x === null) return put('null');
    if (typeof x === 'string') return put(JSON.stringify(x.length > maxChars ? x.slice(0, maxChars) : x));
    if (typeof x !== 'object') return put(String(x));
    if (Array.isArray(x)) {
      if (!put('[')) return false;
      for (let i = 0; i < x.length; i++) {
        if (i > 0 && !put(',')) return false;
        if (!walk(x[i])) return false;
      }
      return put(']');
    }
    if (!put('{')) return false;
    let first = true;
    for (const k in x) {
      if (!Object.hasOwn(x, k)) continue;
      if (!first && !put(',')) return false;
      first = false;
      if (!put(`${JSON.stringify(k.length > maxChars ? k.slice(0, maxChars) : k)}:`)) return false;
      if (!walk((x as Record<string, unknown>)[k])) return false;
    }
    return put('}');
  };
  if (walk(v)) return out.join('');
  return `${out.join('').slice(0, Math.max(0, maxChars - 3))}... (${kindOf(v)})`;
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  if (typeof v === 'object' && v !== null) return 'an object';
  return typeof v;
}
