/**
 * The simulated concentrator's "virtual air": one JSON object per UDP datagram
 * (contract in shared/DESIGN.md and issue #2). Pure encode/decode, shared by the
 * sim, the tests, the demo devices and the benchmark.
 *
 * Beyond the fields of the contract, a LoRa `downlink` carries `"nhdr":true`
 * for implicit-header frames (beacons) and omits it otherwise, so the usual
 * datagram is exactly the one of the contract.
 */
import { checkJsonLimits, showJsonValue, type JsonLimits } from '../json-limits.js';
import type { CodeRate, CrcStatus, RadioParams } from '../types.js';

/** An end device's frame, sent to the sim. Its arrival is the end of reception. */
export interface AirUplink {
  op: 'uplink';
  freqHz: number;
  radio: RadioParams;
  rssiDbm: number;
  snrDb?: number;
  crc: CrcStatus;
  payload: Buffer;
}

/** Subscribes the sender to every emission. */
export interface AirListen {
  op: 'listen';
}

/** A PPS edge: the sim latches its counter when the datagram arrives (the GPS tests' "wire"). */
export interface AirPps {
  op: 'pps';
}

/** The sim's answer to listen: the counter at the moment it answered. */
export interface AirListening {
  op: 'listening';
  countUs: number;
}

/** Sent by the sim at the moment an emission starts. */
export interface AirDownlink {
  op: 'downlink';
  /** Counter read when the emission started (never copied from the request). */
  countUs: number;
  /** Requested counter value, or null for an immediate emission. */
  targetUs: number | null;
  freqHz: number;
  radio: RadioParams;
  fdevHz?: number;
  powerDbm: number;
  invertPolarity: boolean;
  preambleSymbols: number;
  noCrc: boolean;
  /** LoRa implicit header (beacons); on the wire `"nhdr":true`, written only when true. */
  noHeader?: boolean;
  /** Requested as immediate (`imme`; `targetUs` is then null although the JIT queue timed it); on the wire `"imme":true`, written only when true. */
  imme?: boolean;
  payload: Buffer;
}

/** Any message of the virtual air. */
export type AirMessage = AirUplink | AirListen | AirListening | AirDownlink | AirPps;

/** Result of {@link decodeAirMessage}. */
export type AirDecodeResult = { ok: true; msg: AirMessage } | { ok: false; reason: string };

const CODE_RATES: readonly string[] = ['4/5', '4/6', '4/7', '4/8'];

/**
 * Size and depth limits of a virtual-air datagram, checked before parsing.
 * The largest real one (a downlink of 255 bytes) is about 600 bytes at
 * depth 1.
 */
export const AIR_JSON_LIMITS: JsonLimits = { maxBytes: 8192, maxDepth: 16 };

/**
 * RSSI and SNR an uplink may claim: wider than any radio reports (the
 * SX1301 reads about -140..0 dBm and -20..+15 dB), narrow enough that every
 * value is written as a normal rxpk number (1e300 dBm is not a reception).
 */
export const AIR_RSSI_DBM = { min: -200, max: 50 } as const;
export const AIR_SNR_DB = { min: -50, max: 50 } as const;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/** MHz on the air → whole Hz. */
const toHz = (mhz: number) => Math.round(mhz * 1e6);
/** Whole Hz → MHz number for the air (868100000 → 868.1). */
const toMHz = (hz: number) => hz / 1e6;

function datrText(r: RadioParams): string | number {
  return r.modulation === 'LORA' ? `SF${r.spreadingFactor}BW${r.bandwidthHz / 1000}` : r.datarateBps;
}

function parseRadio(modu: unknown, datr: unknown, codr: unknown): RadioParams | string {
  if (modu === 'FSK') {
    if (typeof datr !== 'number' || !Number.isInteger(datr) || datr <= 0) return 'FSK datr must be a positive integer (bit/s)';
    return { modulation: 'FSK', datarateBps: datr };
  }
  if (modu !== 'LORA') return `modu must be "LORA" or "FSK", got ${showJsonValue(modu)}`;
  const m = typeof datr === 'string' ? /^SF(7|8|9|10|11|12)BW(125|250|500)$/.exec(datr) : null;
  if (!m) return `LoRa datr must look like "SF7BW125", got ${showJsonValue(datr)}`;
  const cr = codr ?? '4/5';
  if (typeof cr !== 'string' || !CODE_RATES.includes(cr)) return `codr must be one of ${CODE_RATES.join(', ')}`;
  return {
    modulation: 'LORA',
    spreadingFactor: Number(m[1]) as 7,
    bandwidthHz: (Number(m[2]) * 1000) as 125000,
    codeRate: cr as CodeRate,
  };
}

function num(o: Record<string, unknown>, k: string, dflt?: number): number | string {
  const v = o[k];
  if (v === undefined && dflt !== undefined) return dflt;
  return typeof v === 'number' && Number.isFinite(v) ? v : `${k} must be a number`;
}

/** True for an integer counter value in [0, 2^32). */
const isU32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;

/** Decodes one datagram of the virtual air (within {@link AIR_JSON_LIMITS}); never throws. */
export function decodeAirMessage(buf: Buffer | string): AirDecodeResult {
  const over = checkJsonLimits(buf, AIR_JSON_LIMITS);
  if (over !== null) return { ok: false, reason: `datagram refused: ${over}` };
  let o: unknown;
  try {
    o = JSON.parse(buf.toString());
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { ok: false, reason: 'not a JSON object' };
  const m = o as Record<string, unknown>;
  switch (m.op) {
    case 'listen':
      return { ok: true, msg: { op: 'listen' } };
    case 'pps':
      return { ok: true, msg: { op: 'pps' } };
    case 'listening': {
      const c = num(m, 'count_us');
      if (typeof c === 'string' || !isU32(c)) return { ok: false, reason: 'count_us must be a u32 integer' };
      return { ok: true, msg: { op: 'listening', countUs: c } };
    }
    case 'uplink': {
      const freq = num(m, 'freq');
      if (typeof freq === 'string' || freq <= 0) return { ok: false, reason: 'freq must be a positive number (MHz)' };
      const radio = parseRadio(m.modu, m.datr, m.codr);
      if (typeof radio === 'string') return { ok: false, reason: radio };
      const rssi = num(m, 'rssi', -60);
      if (typeof rssi === 'string') return { ok: false, reason: rssi };
      if (rssi < AIR_RSSI_DBM.min || rssi > AIR_RSSI_DBM.max) return { ok: false, reason: `rssi must be in [${AIR_RSSI_DBM.min}, ${AIR_RSSI_DBM.max}] dBm` };
      const lsnr = num(m, 'lsnr', 10);
      if (typeof lsnr === 'string') return { ok: false, reason: lsnr };
      if (lsnr < AIR_SNR_DB.min || lsnr > AIR_SNR_DB.max) return { ok: false, reason: `lsnr must be in [${AIR_SNR_DB.min}, ${AIR_SNR_DB.max}] dB` };
      const crc = m.crc ?? 'ok';
      if (crc !== 'ok' && crc !== 'bad' && crc !== 'none') return { ok: false, reason: 'crc must be ok, bad or none' };
      if (typeof m.data !== 'string' || !BASE64.test(m.data)) return { ok: false, reason: 'data must be standard base64' };
      const payload = Buffer.from(m.data, 'base64');
      if (payload.length > 255) return { ok: false, reason: `payload of ${payload.length} bytes exceeds 255` };
      const up: AirUplink = { op: 'uplink', freqHz: toHz(freq), radio, rssiDbm: rssi, crc, payload };
      if (radio.modulation === 'LORA') up.snrDb = lsnr;
      return { ok: true, msg: up };
    }
    case 'downlink': {
      const count = num(m, 'count_us');
      if (typeof count === 'string' || !isU32(count)) return { ok: false, reason: 'count_us must be a u32 integer' };
      const target = m.target_us;
      if (target !== null && !(typeof target === 'number' && isU32(target))) return { ok: false, reason: 'target_us must be a u32 integer or null' };
      const freq = num(m, 'freq');
      if (typeof freq === 'string' || freq <= 0) return { ok: false, reason: 'freq must be a positive number (MHz)' };
      const radio = parseRadio(m.modu, m.datr, m.codr);
      if (typeof radio === 'string') return { ok: false, reason: radio };
      const powe = num(m, 'powe');
      if (typeof powe === 'string') return { ok: false, reason: powe };
      const prea = m.prea;
      if (typeof prea !== 'number' || !Number.isInteger(prea) || prea < 0 || prea > 65535) return { ok: false, reason: 'prea must be an integer in [0, 65535]' };
      if (typeof m.ncrc !== 'boolean') return { ok: false, reason: 'ncrc must be a boolean' };
      if (radio.modulation === 'LORA' && typeof m.ipol !== 'boolean') return { ok: false, reason: 'ipol must be a boolean' };
      if (m.nhdr !== undefined && typeof m.nhdr !== 'boolean') return { ok: false, reason: 'nhdr must be a boolean' };
      if (radio.modulation === 'FSK' && !(typeof m.fdev === 'number' && Number.isFinite(m.fdev) && m.fdev >= 0)) return { ok: false, reason: 'fdev must be a non-negative number (Hz)' };
      if (typeof m.data !== 'string' || !BASE64.test(m.data)) return { ok: false, reason: 'data must be standard base64' };
      const payload = Buffer.from(m.data, 'base64');
      if (m.size !== payload.length) return { ok: false, reason: `size ${showJsonValue(m.size)} does not match the ${payload.length} bytes of data` };
      const dl: AirDownlink = {
        op: 'downlink', countUs: count, targetUs: target, freqHz: toHz(freq), radio, powerDbm: powe,
        invertPolarity: m.ipol === true, preambleSymbols: prea, noCrc: m.ncrc, payload,
      };
      if (m.nhdr === true) dl.noHeader = true;
      if (m.imme === true) dl.imme = true;
      if (radio.modulation === 'FSK') dl.fdevHz = m.fdev as number;
      return { ok: true, msg: dl };
    }
    default:
      return { ok: false, reason: `unknown op ${showJsonValue(m.op)}` };
  }
}

/** Encodes a message of the virtual air as its JSON datagram text. */
export function encodeAirMessage(msg: AirMessage): string {
  switch (msg.op) {
    case 'listen':
      return '{"op":"listen"}';
    case 'pps':
      return '{"op":"pps"}';
    case 'listening':
      return JSON.stringify({ op: 'listening', count_us: msg.countUs });
    case 'uplink': {
      const r = msg.radio;
      return JSON.stringify({
        op: 'uplink', freq: toMHz(msg.freqHz), modu: r.modulation, datr: datrText(r),
        ...(r.modulation === 'LORA' ? { codr: r.codeRate } : {}), rssi: msg.rssiDbm,
        ...(r.modulation === 'LORA' ? { lsnr: msg.snrDb ?? 0 } : {}), crc: msg.crc, data: msg.payload.toString('base64'),
      });
    }
    case 'downlink': {
      const r = msg.radio;
      return JSON.stringify({
        op: 'downlink', count_us: msg.countUs, target_us: msg.targetUs, freq: toMHz(msg.freqHz), modu: r.modulation,
        datr: datrText(r), ...(r.modulation === 'LORA' ? { codr: r.codeRate } : { fdev: msg.fdevHz ?? 0 }),
        powe: msg.powerDbm, ipol: msg.invertPolarity, prea: msg.preambleSymbols, ncrc: msg.noCrc,
        ...(msg.noHeader === true ? { nhdr: true } : {}),
        ...(msg.imme === true ? { imme: true } : {}),
        size: msg.payload.length, data: Buffer.from(msg.payload.buffer, msg.payload.byteOffset, msg.payload.length).toString('base64'),
      });
    }
  }
}
