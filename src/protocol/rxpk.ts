/**
 * The rxpk object: one received RF packet in a PUSH_DATA (PROTOCOL.TXT §4).
 * Written by hand in PF4's field order with the exact number formats that
 * ChirpStack and The Things Stack accept (server-rules.md).
 */
import type { CrcStatus, RxPacket } from '../../hal/index.js';
import { formatLoraDatr, parseRadio } from './datarate.js';
import type { Field, JsonObject } from './json-fields.js';
import { findNonIntegerLiteral, isJsonObject, optInt, optNumber, optString, readSizeAndData, reqInt, reqNumber, show, U32_MAX } from './json-fields.js';
import {
  decodeBase64Strict,
  encodeBase64,
  formatCompactUtc,
  formatFixed,
  formatFreqMhz,
  formatInteger,
  roundLikeWire,
} from './wire-format.js';

/** rxpk as it travels, values already at wire precision. */
export interface Rxpk {
  /** Counter at "RX finished", u32 µs. */
  tmst: number;
  /** UTC of reception, `YYYY-MM-DDThh:mm:ss.uuuuuuZ`; absent when there is no time reference (never ""). */
  time?: string;
  /** GPS time of reception, ms since 1980-01-06, integer. */
  tmms?: number;
  /** IF channel. */
  chan: number;
  /** RF chain. */
  rfch: number;
  /** Centre frequency, MHz (Hz precision on the wire). */
  freq: number;
  /** CRC status: 1 ok, -1 bad, 0 no CRC. */
  stat: 1 | -1 | 0;
  modu: 'LORA' | 'FSK';
  /** "SF7BW125" for LoRa, bit rate for FSK. */
  datr: string | number;
  /** LoRa coding rate "4/5".."4/8"; absent for FSK. */
  codr?: string;
  /** RSSI, dBm, integer. */
  rssi: number;
  /** LoRa SNR, dB, 0.1 dB precision; absent for FSK. */
  lsnr?: number;
  /** Payload bytes. */
  size: number;
  /** Payload, standard base64 with padding. */
  data: string;
}

/** Time of a reception, when a time reference exists. */
export interface RxTime {
  /** UTC, µs since the Unix epoch (rxpk `time`). */
  utcUs?: number;
  /** GPS time, ms since the GPS epoch (rxpk `tmms`). */
  gpsMs?: number;
}

/** Result of {@link decodeRxpk}. */
export type DecodeRxpkResult = { ok: true; rxpk: Rxpk } | { ok: false; reason: string };

const STAT_OF: Record<CrcStatus, Rxpk['stat']> = { ok: 1, bad: -1, none: 0 };
const CRC_OF = { 1: 'ok', [-1]: 'bad', 0: 'none' } as const satisfies Record<Rxpk['stat'], CrcStatus>;

/**
 * Converts a received packet into its rxpk, rounding to what the wire
 * carries (rssi to an integer, lsnr to 0.1 dB, freq to whole Hz) so that
 * `decodeRxpk(JSON.parse(encodeRxpk(r)))` gives `r` back. `time`/`tmms` are
 * only written when the caller has a time reference. lsnr is LoRa-only, as in PF4.
 */
export function rxPacketToRxpk(pkt: RxPacket, time?: RxTime): Rxpk {
  const r = pkt.radio;
  const rxpk: Rxpk = {
    tmst: pkt.countUs,
    chan: pkt.ifChain,
    rfch: pkt.rfChain,
    freq: Math.round(pkt.freqHz) / 1e6,
    stat: STAT_OF[pkt.crcStatus],
    modu: r.modulation,
    datr: r.modulation === 'LORA' ? formatLoraDatr(r.spreadingFactor, r.bandwidthHz) : r.datarateBps,
    rssi: roundLikeWire(pkt.rssiDbm, 0),
    size: pkt.payload.length,
    data: encodeBase64(pkt.payload),
  };
  if (time?.utcUs !== undefined) rxpk.time = formatCompactUtc(time.utcUs);
  // PF4 tmms = gps_sec*1000 + gps_nsec/1e6 in integers: truncation.
  if (time?.gpsMs !== undefined) rxpk.tmms = Math.trunc(time.gpsMs);
  if (r.modulation === 'LORA') {
    rxpk.codr = r.codeRate;
    if (pkt.snrDb !== undefined) rxpk.lsnr = roundLikeWire(pkt.snrDb, 1);
  }
  return rxpk;
}

/**
 * Writes an rxpk as JSON text in PF4 order: tmst, time, tmms, chan, rfch,
 * freq, stat, modu, datr, codr, lsnr, rssi, size, data. freq has exactly 6
 * decimals from whole Hz, lsnr one decimal, rssi an integer (printf rounding,
 * see formatFixed). Throws (ERR_INVALID_WIRE_VALUE) on non-finite numbers.
 */
export function encodeRxpk(r: Rxpk): string {
  const parts: string[] = [`"tmst":${formatInteger('tmst', r.tmst)}`];
  if (r.time !== undefined) parts.push(`"time":${JSON.stringify(r.time)}`);
  if (r.tmms !== undefined) parts.push(`"tmms":${formatInteger('tmms', r.tmms)}`);
  parts.push(
    `"chan":${formatInteger('chan', r.chan)}`,
    `"rfch":${formatInteger('rfch', r.rfch)}`,
    `"freq":${formatFreqMhz(r.freq * 1e6)}`,
    `"stat":${formatInteger('stat', r.stat)}`,
    `"modu":${JSON.stringify(r.modu)}`,
    `"datr":${typeof r.datr === 'number' ? formatInteger('datr', r.datr) : JSON.stringify(r.datr)}`,
  );
  if (r.codr !== undefined) parts.push(`"codr":${JSON.stringify(r.codr)}`);
  if (r.lsnr !== undefined) parts.push(`"lsnr":${formatFixed(r.lsnr, 1)}`);
  parts.push(
    `"rssi":${formatFixed(r.rssi, 0)}`,
    `"size":${formatInteger('size', r.size)}`,
    `"data":${JSON.stringify(r.data)}`,
  );
  return `{${parts.join(',')}}`;
}

/** Integer-typed rxpk keys, for the literal check in push-data.ts. */
export const RXPK_INTEGER_KEYS: readonly string[] = ['tmst', 'tmms', 'chan', 'rfch', 'stat', 'rssi', 'size'];

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Checks an RFC 3339 timestamp as Go's time.Parse would (ranges included, no leap second). */
function checkRfc3339(v: string): string | null {
  const m = RFC3339.exec(v);
  const n = m ? m.slice(1, 7).map(Number) : [];
  const [, mo = 0, d = 0, h = 99, mi = 99, s = 99] = n;
  if (!m || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
    return `time ${show(v)} is not RFC 3339 like 2013-03-31T16:21:17.528002Z`;
  }
  return null;
}

/**
 * Reads an rxpk object as strictly as the strictest server: what ChirpStack
 * or The Things Stack would refuse, this refuses, plus `size` must match the
 * data. Rules: tmst u32; time, if present, RFC 3339 with T (never "", which
 * TTS rejects); tmms a non-negative integer; chan/rfch u8; stat 1/-1/0; freq a
 * positive number; modu LORA/FSK; LoRa datr SF7..12 BW125/250/500 and codr
 * 4/5..4/8 (required); FSK datr a positive integer; rssi an int16; lsnr a
 * number; size u16; data padded standard base64. Unknown keys are ignored, as
 * both servers do; an FSK codr is dropped. JSON integer *literals* (no `.0`)
 * can only be checked on the text: parsePushDataBody does that.
 */
export function decodeRxpk(obj: unknown): DecodeRxpkResult {
  if (!isJsonObject(obj)) return { ok: false, reason: 'rxpk is not a JSON object' };
  const tmst = reqInt(obj, 'tmst', 0, U32_MAX);
  if (!tmst.ok) return tmst;
  const time = optString(obj, 'time');
  if (!time.ok) return time;
  if (time.value !== undefined) {
    const bad = checkRfc3339(time.value);
    if (bad) return { ok: false, reason: bad };
  }
  const tmms = optInt(obj, 'tmms', 0, Number.MAX_SAFE_INTEGER);
  if (!tmms.ok) return tmms;
  const chan = reqInt(obj, 'chan', 0, 255);
  if (!chan.ok) return chan;
  const rfch = reqInt(obj, 'rfch', 0, 255);
  if (!rfch.ok) return rfch;
  const freq = reqNumber(obj, 'freq');
  if (!freq.ok) return freq;
  if (freq.value <= 0) return { ok: false, reason: `freq ${freq.value} is not a positive frequency in MHz` };
  const stat = reqInt(obj, 'stat', -1, 1);
  if (!stat.ok) return stat;
  const radio = parseRadio(obj['modu'], obj['datr'], obj['codr'], false);
  if (!radio.ok) return radio;
  const rssi = reqInt(obj, 'rssi', -32768, 32767);
  if (!rssi.ok) return rssi;
  const lsnr = optNumber(obj, 'lsnr');
  if (!lsnr.ok) return lsnr;
  const payload = readPayload(obj);
  if (!payload.ok) return payload;
  const rxpk: Rxpk = {
    tmst: tmst.value,
    chan: chan.value,
    rfch: rfch.value,
    freq: freq.value,
    stat: stat.value as Rxpk['stat'],
    modu: radio.value.modulation,
    datr: obj['datr'] as string | number,
    rssi: rssi.value,
    size: payload.value.size,
    data: payload.value.data,
  };
  if (time.value !== undefined) rxpk.time = time.value;
  if (tmms.value !== undefined) rxpk.tmms = tmms.value;
  if (radio.value.modulation === 'LORA') rxpk.codr = radio.value.codeRate;
  if (lsnr.value !== undefined) rxpk.lsnr = lsnr.value;
  return { ok: true, rxpk };
}

/** Reads `size` and padded `data`; unlike txpk, rxpk refuses a mismatch (a strict server does). */
function readPayload(obj: JsonObject): Field<{ size: number; data: string; bytes: Buffer }> {
  const p = readSizeAndData(obj, true);
  if (p.ok && p.value.bytes.length !== p.value.size) {
    return { ok: false, reason: `size ${p.value.size} does not match the ${p.value.bytes.length} bytes of data` };
  }
  return p;
}

/**
 * Turns an rxpk back into the packet the concentrator would have reported,
 * for test servers and the demo. The rxpk must be valid (from
 * {@link decodeRxpk} or {@link rxPacketToRxpk}); otherwise this throws
 * (code ERR_INVALID_RXPK), since that is a programming error.
 */
export function rxpkToRxPacket(r: Rxpk): RxPacket {
  const radio = parseRadio(r.modu, r.datr, r.codr, false);
  const bytes = decodeBase64Strict(r.data, true);
  if (!radio.ok || !bytes.ok) {
    const reason = !radio.ok ? radio.reason : !bytes.ok ? bytes.reason : '';
    throw Object.assign(new Error(`rxpkToRxPacket: invalid rxpk: ${reason}`), { code: 'ERR_INVALID_RXPK' });
  }
  const pkt: RxPacket = {
    countUs: r.tmst,
    freqHz: Math.round(r.freq * 1e6),
    ifChain: r.chan,
    rfChain: r.rfch,
    crcStatus: CRC_OF[r.stat],
    radio: radio.value,
    rssiDbm: r.rssi,
    payload: new Uint8Array(bytes.bytes),
  };
  if (r.lsnr !== undefined) pkt.snrDb = r.lsnr;
  return pkt;
}

/**
 * Checks one rxpk as JSON text, as strictly as a fresh one: an object
 * (within WIRE_JSON_LIMITS.pullResp's depth), accepted by {@link decodeRxpk},
 * and with integer literals where servers decode integers. Text that passes
 * can be pasted into a PUSH_DATA body unchanged. Returns a reason, or null.
 */
export function checkRxpkText(text: string): string | null {
  if (text.length === 0 || text.charCodeAt(0) !== 0x7b /* { */) return 'rxpk text is not a JSON object';
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    return `rxpk text is not valid JSON: ${(err as Error).message.slice(0, 80)}`;
  }
  const r = decodeRxpk(obj);
  if (!r.ok) return r.reason;
  return findNonIntegerLiteral(text, RXPK_INTEGER_KEYS);
}
