/**
 * PUSH_DATA JSON bodies: `{"rxpk":[...]}`, `{"rxpk":[...],"stat":{...}}` or
 * `{"stat":{...}}` (PROTOCOL.TXT §4, PF4 thread_up).
 */
import { findNonIntegerLiteral, isJsonObject, parseJsonObject, WIRE_JSON_LIMITS } from './json-fields.js';
import { LONG_HEADER_BYTES } from './packets.js';
import { decodeRxpk, RXPK_INTEGER_KEYS, type Rxpk } from './rxpk.js';
import { decodeStat, STAT_INTEGER_KEYS, type Stat } from './stat.js';

/** PF4's upstream datagram buffer: 540·NB_PKT_MAX + 30 + STATUS_SIZE = 4550 bytes [PF4 TX_BUFF_SIZE]. */
export const PF4_PUSH_DATA_MAX_BYTES = 4550;

/** Default body limit: PF4's datagram size minus the 12-byte header. */
export const DEFAULT_PUSH_DATA_BODY_MAX_BYTES = PF4_PUSH_DATA_MAX_BYTES - LONG_HEADER_BYTES;

/** Result of {@link parsePushDataBody}. */
export type ParsePushDataResult = { ok: true; rxpk: Rxpk[]; stat?: Stat } | { ok: false; reason: string };

/** Bytes of a body holding `count` rxpk totalling `rxpkBytes`, and a stat of `statBytes` (or none). */
function bodyBytes(count: number, rxpkBytes: number, statBytes: number | null): number {
  let n = 2; // { }
  if (count > 0) n += '"rxpk":['.length + rxpkBytes + (count - 1) + ']'.length;
  if (statBytes !== null) n += (count > 0 ? 1 : 0) + '"stat":'.length + statBytes;
  return n;
}

function makeBody(rxpk: readonly string[], stat: string | null): string {
  const parts: string[] = [];
  if (rxpk.length > 0) parts.push(`"rxpk":[${rxpk.join(',')}]`);
  if (stat !== null) parts.push(`"stat":${stat}`);
  return `{${parts.join(',')}}`;
}

/**
 * Packs encoded rxpk objects and an optional encoded stat into as few
 * PUSH_DATA bodies as fit in `maxBodyBytes` each, in order. The stat rides in
 * the first body (alone, if it and the first rxpk do not fit together).
 * Nothing is ever dropped: an rxpk too big for any body on its own gets a body
 * of its own over the limit (a UDP datagram still carries up to 65 507 bytes).
 * Returns [] when there is neither rxpk nor stat.
 */
export function buildPushDataBodies(
  rxpkJson: readonly string[],
  statJson: string | null,
  maxBodyBytes: number = DEFAULT_PUSH_DATA_BODY_MAX_BYTES,
): string[] {
  return planPushDataBodies(rxpkJson, statJson, maxBodyBytes).map((b) => b.body);
}

/** One PUSH_DATA body of {@link planPushDataBodies}, with what it carries. */
export interface PushDataBody {
  body: string;
  /** How many of the rxpk objects it carries (consecutive, in input order). */
  rxpkCount: number;
  hasStat: boolean;
}

/** {@link buildPushDataBodies}, also saying how many rxpk and whether the stat each body carries. */
export function planPushDataBodies(
  rxpkJson: readonly string[],
  statJson: string | null,
  maxBodyBytes: number = DEFAULT_PUSH_DATA_BODY_MAX_BYTES,
): PushDataBody[] {
  const bodies: PushDataBody[] = [];
  let stat = statJson;
  const statBytes = () => (stat === null ? null : Buffer.byteLength(stat));
  let current: string[] = [];
  let currentBytes = 0;
  const flush = () => {
    bodies.push({ body: makeBody(current, stat), rxpkCount: current.length, hasStat: stat !== null });
    stat = null;
    current = [];
    currentBytes = 0;
  };
  for (const r of rxpkJson) {
    const len = Buffer.byteLength(r);
    if (bodyBytes(current.length + 1, currentBytes + len, statBytes()) > maxBodyBytes) {
      // Close the current body unless it is empty and stat-less (then r goes alone, over the limit).
      if (current.length > 0 || stat !== null) flush();
    }
    current.push(r);
    currentBytes += len;
  }
  if (current.length > 0 || stat !== null) flush();
  return bodies;
}

/**
 * Reads a PUSH_DATA body as strictly as ChirpStack / The Things Stack: valid
 * JSON object; integer fields written as integer literals; `rxpk`, if present,
 * a non-empty array of valid rxpk (one bad rxpk rejects the whole body, as TTS
 * drops the whole datagram); `stat`, if present, valid; at least one of the two.
 */
export function parsePushDataBody(body: Buffer): ParsePushDataResult {
  const text = body.toString('utf8');
  const root = parseJsonObject(text, 'PUSH_DATA body', WIRE_JSON_LIMITS.pushData);
  if (!root.ok) return root;
  const literal = findNonIntegerLiteral(text, [...RXPK_INTEGER_KEYS, ...STAT_INTEGER_KEYS]);
  if (literal) return { ok: false, reason: literal };
  const o = root.value;
  const rxpkField = o['rxpk'];
  const statField = o['stat'];
  if (rxpkField === undefined && statField === undefined) return { ok: false, reason: 'PUSH_DATA body has neither rxpk nor stat' };
  const rxpk: Rxpk[] = [];
  if (rxpkField !== undefined) {
    if (!Array.isArray(rxpkField) || rxpkField.length === 0) return { ok: false, reason: 'rxpk is not a non-empty array' };
    for (const [i, item] of rxpkField.entries()) {
      const r = decodeRxpk(item);
      if (!r.ok) return { ok: false, reason: `rxpk[${i}]: ${r.reason}` };
      rxpk.push(r.rxpk);
    }
  }
  if (statField === undefined) return { ok: true, rxpk };
  if (!isJsonObject(statField)) return { ok: false, reason: 'stat is not a JSON object' };
  const s = decodeStat(statField);
  if (!s.ok) return { ok: false, reason: `stat: ${s.reason}` };
  return { ok: true, rxpk, stat: s.stat };
}
