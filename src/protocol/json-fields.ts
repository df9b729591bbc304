/**
 * Typed readers for fields of a parsed JSON object. Each returns a result
 * whose failure is a one-line reason naming the field, so decoders can
 * `if (!r.ok) return r;` their way down a message.
 *
 * A field whose value is JSON `null` counts as absent, as Go's encoding/json
 * (ChirpStack, The Things Stack) treats it.
 */
import { parseJsonWithin, showJsonValue, type JsonLimits } from '../../hal/index.js';
import { decodeBase64Strict } from './wire-format.js';

/** Failure of a field read: the reason names the field. */
export interface FieldError {
  ok: false;
  reason: string;
}

/** Result of a field read. */
export type Field<T> = { ok: true; value: T } | FieldError;

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>;

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Size and depth limits of the JSON bodies of the protocol, checked before
 * JSON.parse (see hal/json-limits.ts for why). Real bodies are far inside:
 * - PULL_RESP: the reference reads at most 999 bytes of it (constants.md
 *   §1) and a maximal real one (255-byte payload) is about 600 bytes at
 *   depth 2; 8 KiB and 16 levels leave room for pretty-printing and fields
 *   of newer servers;
 * - PUSH_DATA (what the test servers read): up to a whole UDP datagram
 *   (65,507 bytes: sx1302 forwarders batch up to 255 rxpk), depth 3-4 with `rsig`;
 * - TX_ACK: a few dozen bytes at depth 2.
 */
export const WIRE_JSON_LIMITS = {
  pullResp: { maxBytes: 8192, maxDepth: 16 },
  pushData: { maxBytes: 65_507, maxDepth: 16 },
  txAck: { maxBytes: 8192, maxDepth: 16 },
} as const satisfies Record<string, JsonLimits>;

/**
 * Parses JSON text into an object, or says why not (over the size or depth
 * limits, invalid JSON, or not an object). Never throws.
 */
export function parseJsonObject(text: Buffer | string, what: string, limits: JsonLimits): Field<JsonObject> {
  const r = parseJsonWithin(text, limits, what);
  if (!r.ok) return r;
  if (!isJsonObject(r.value)) return { ok: false, reason: `${what} is not a JSON object` };
  return { ok: true, value: r.value };
}

/** A short rendering of a JSON value for reasons: bounded whatever the value (see showJsonValue). */
export function show(v: unknown): string {
  return showJsonValue(v);
}

function missing(key: string): FieldError {
  return { ok: false, reason: `${key} missing` };
}

/** The value of `key`, or undefined when absent or null. */
export function present(o: JsonObject, key: string): unknown {
  const v = o[key];
  return v === null ? undefined : v;
}

/** An optional integer in [min, max]. */
export function optInt(o: JsonObject, key: string, min: number, max: number): Field<number | undefined> {
  const v = present(o, key);
  if (v === undefined) return { ok: true, value: undefined };
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    return { ok: false, reason: `${key} ${show(v)} is not an integer in ${min}..${max}` };
  }
  return { ok: true, value: v };
}

/** A required integer in [min, max]. */
export function reqInt(o: JsonObject, key: string, min: number, max: number): Field<number> {
  const r = optInt(o, key, min, max);
  if (r.ok && r.value === undefined) return missing(key);
  return r as Field<number>;
}

/** An optional finite number. */
export function optNumber(o: JsonObject, key: string): Field<number | undefined> {
  const v = present(o, key);
  if (v === undefined) return { ok: true, value: undefined };
  if (typeof v !== 'number' || !Number.isFinite(v)) return { ok: false, reason: `${key} ${show(v)} is not a number` };
  return { ok: true, value: v };
}

/** A required finite number. */
export function reqNumber(o: JsonObject, key: string): Field<number> {
  const r = optNumber(o, key);
  if (r.ok && r.value === undefined) return missing(key);
  return r as Field<number>;
}

/** An optional string. */
export function optString(o: JsonObject, key: string): Field<string | undefined> {
  const v = present(o, key);
  if (v === undefined) return { ok: true, value: undefined };
  if (typeof v !== 'string') return { ok: false, reason: `${key} ${show(v)} is not a string` };
  return { ok: true, value: v };
}

/** A required string. */
export function reqString(o: JsonObject, key: string): Field<string> {
  const r = optString(o, key);
  if (r.ok && r.value === undefined) return missing(key);
  return r as Field<string>;
}

/** An optional boolean; anything but true/false (e.g. the string "true") is refused. */
export function optBool(o: JsonObject, key: string): Field<boolean | undefined> {
  const v = present(o, key);
  if (v === undefined) return { ok: true, value: undefined };
  if (typeof v !== 'boolean') return { ok: false, reason: `${key} ${show(v)} is not a boolean` };
  return { ok: true, value: v };
}

/** Largest u32, the range of counter fields such as `tmst`. */
export const U32_MAX = 0xffff_ffff;

/**
 * Finds an integer-typed key written with a fraction or exponent
 * (`"rssi":-35.0`, `"size":1e2`). JSON.parse hides the difference, but Go's
 * integer decoding in ChirpStack and The Things Stack rejects the whole
 * datagram for it (server-rules.md), so a strict decoder must look at the text.
 * Returns a reason, or null when every such key holds an integer literal.
 */
export function findNonIntegerLiteral(text: string, keys: readonly string[]): string | null {
  const re = new RegExp(`"(${keys.join('|')})"\\s*:\\s*(-?\\d+(?:\\.\\d*)?(?:[eE][-+]?\\d+)?)`, 'g');
  for (const m of text.matchAll(re)) {
    const literal = m[2] ?? '';
    if (/[.eE]/.test(literal)) return `${m[1]} written as ${literal}: servers require a JSON integer`;
  }
  return null;
}

/**
 * Reads `size` (u16) and base64 `data` of an rxpk or txpk and decodes the
 * data; whether a size mismatch is an error is the caller's policy.
 */
export function readSizeAndData(obj: JsonObject, requirePadding: boolean): Field<{ size: number; data: string; bytes: Buffer }> {
  const size = reqInt(obj, 'size', 0, 0xffff);
  if (!size.ok) return size;
  const data = reqString(obj, 'data');
  if (!data.ok) return data;
  const bytes = decodeBase64Strict(data.value, requirePadding);
  if (!bytes.ok) return { ok: false, reason: `data ${bytes.reason}` };
  return { ok: true, value: { size: size.value, data: data.value, bytes: bytes.bytes } };
}
