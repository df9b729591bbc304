/**
 * The stat object: the gateway's periodic status in a PUSH_DATA
 * (PROTOCOL.TXT §4, PF4 main loop; constants.md §7).
 */
import { isJsonObject, optInt, optNumber, reqInt, reqNumber, reqString, show, U32_MAX } from './json-fields.js';
import { formatExpandedUtc, formatFixed, formatInteger, roundLikeWire } from './wire-format.js';

/** stat as it travels, values already at wire precision. */
export interface Stat extends StatCounters {
  /** UTC system time, `YYYY-MM-DD hh:mm:ss GMT`. */
  time: string;
  /** Latitude, degrees N (5 decimals); absent when unknown. */
  lati?: number;
  /** Longitude, degrees E (5 decimals); absent when unknown. */
  long?: number;
  /** Altitude, m, integer; absent when unknown. */
  alti?: number;
}

/** Interval counters that go into a stat object. */
export interface StatCounters {
  /** Packets received in the interval. */
  rxnb: number;
  /** Packets received with a good CRC. */
  rxok: number;
  /** Packets forwarded. */
  rxfw: number;
  /** % of PUSH_DATA acknowledged, 0..100, 0.1 precision. */
  ackr: number;
  /** PULL_RESPs accepted. */
  dwnb: number;
  /** Packets emitted. */
  txnb: number;
}

/** Gateway position for the stat object. */
export interface StatLocation {
  lati: number;
  long: number;
  /** Metres. */
  alti: number;
}

/** Result of {@link decodeStat}. */
export type DecodeStatResult = { ok: true; stat: Stat } | { ok: false; reason: string };

/**
 * Builds the stat for the interval ending at `nowUnixMs` (whole seconds, UTC),
 * rounded to wire precision (ackr 0.1, lati/long 1e-5°, alti whole metres) so
 * that decoding the encoded text gives it back. Omit `location` when unknown:
 * servers read 0,0,0 as a real place or as "no location" depending on who they are.
 */
export function makeStat(nowUnixMs: number, counters: StatCounters, location?: StatLocation): Stat {
  const stat: Stat = {
    time: formatExpandedUtc(nowUnixMs),
    rxnb: counters.rxnb,
    rxok: counters.rxok,
    rxfw: counters.rxfw,
    ackr: roundLikeWire(counters.ackr, 1),
    dwnb: counters.dwnb,
    txnb: counters.txnb,
  };
  if (location) {
    stat.lati = roundLikeWire(location.lati, 5);
    stat.long = roundLikeWire(location.long, 5);
    // PF4 keeps ref_altitude as a C short; whole metres on the wire (servers decode int32).
    stat.alti = Math.round(location.alti);
  }
  return stat;
}

/**
 * Writes the stat as JSON text in PF4 order and formats: time, lati (%.5f),
 * long (%.5f), alti (integer), rxnb, rxok, rxfw, ackr (%.1f), dwnb, txnb.
 */
export function encodeStat(s: Stat): string {
  const parts: string[] = [`"time":${JSON.stringify(s.time)}`];
  if (s.lati !== undefined) parts.push(`"lati":${formatFixed(s.lati, 5)}`);
  if (s.long !== undefined) parts.push(`"long":${formatFixed(s.long, 5)}`);
  if (s.alti !== undefined) parts.push(`"alti":${formatInteger('alti', s.alti)}`);
  parts.push(
    `"rxnb":${formatInteger('rxnb', s.rxnb)}`,
    `"rxok":${formatInteger('rxok', s.rxok)}`,
    `"rxfw":${formatInteger('rxfw', s.rxfw)}`,
    `"ackr":${formatFixed(s.ackr, 1)}`,
    `"dwnb":${formatInteger('dwnb', s.dwnb)}`,
    `"txnb":${formatInteger('txnb', s.txnb)}`,
  );
  return `{${parts.join(',')}}`;
}

/** Integer-typed stat keys, for the literal check in push-data.ts. */
export const STAT_INTEGER_KEYS: readonly string[] = ['alti', 'rxnb', 'rxok', 'rxfw', 'dwnb', 'txnb'];

// Go layout "2006-01-02 15:04:05 MST" as ChirpStack and TTS parse it; we take GMT or UTC.
const EXPANDED_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) (GMT|UTC)$/;

/**
 * Reads a stat object strictly: `time` required in the expanded layout with
 * GMT or UTC (ISO `T…Z` is rejected by both servers); lati/long numbers,
 * alti an int32, each optional; the five counters u32 and ackr a number in
 * 0..100, all required (PF4 always writes them). Unknown keys are ignored.
 */
export function decodeStat(obj: unknown): DecodeStatResult {
  if (!isJsonObject(obj)) return { ok: false, reason: 'stat is not a JSON object' };
  const time = reqString(obj, 'time');
  if (!time.ok) return time;
  const m = EXPANDED_TIME.exec(time.value);
  const [mo = 0, d = 0, h = 99, mi = 99, s = 99] = m ? m.slice(2, 7).map(Number) : [];
  if (!m || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
    return { ok: false, reason: `stat time ${show(time.value)} is not like "2014-01-12 08:59:28 GMT"` };
  }
  const lati = optNumber(obj, 'lati');
  if (!lati.ok) return lati;
  const long = optNumber(obj, 'long');
  if (!long.ok) return long;
  const alti = optInt(obj, 'alti', -(2 ** 31), 2 ** 31 - 1);
  if (!alti.ok) return alti;
  const rxnb = reqInt(obj, 'rxnb', 0, U32_MAX);
  if (!rxnb.ok) return rxnb;
  const rxok = reqInt(obj, 'rxok', 0, U32_MAX);
  if (!rxok.ok) return rxok;
  const rxfw = reqInt(obj, 'rxfw', 0, U32_MAX);
  if (!rxfw.ok) return rxfw;
  const ackr = reqNumber(obj, 'ackr');
  if (!ackr.ok) return ackr;
  if (ackr.value < 0 || ackr.value > 100) return { ok: false, reason: `ackr ${ackr.value} is not a percentage in 0..100` };
  const dwnb = reqInt(obj, 'dwnb', 0, U32_MAX);
  if (!dwnb.ok) return dwnb;
  const txnb = reqInt(obj, 'txnb', 0, U32_MAX);
  if (!txnb.ok) return txnb;
  const stat: Stat = {
    time: time.value,
    rxnb: rxnb.value,
    rxok: rxok.value,
    rxfw: rxfw.value,
    ackr: ackr.value,
    dwnb: dwnb.value,
    txnb: txnb.value,
  };
  if (lati.value !== undefined) stat.lati = lati.value;
  if (long.value !== undefined) stat.long = long.value;
  if (alti.value !== undefined) stat.alti = alti.value;
  return { ok: true, stat };
}

