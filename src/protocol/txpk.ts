/**
 * The txpk object of a PULL_RESP (PROTOCOL.TXT §6) and the downlink request
 * it becomes. Validation follows PF4 thread_down (constants.md §4) with its
 * crashes and silent truncations turned into one-line reasons.
 */
import type { RadioParams } from '../../hal/index.js';
import { formatLoraDatr, parseRadio } from './datarate.js';
import type { JsonObject } from './json-fields.js';
import { isJsonObject, optBool, optInt, parseJsonObject, readSizeAndData, reqInt, reqNumber, U32_MAX, WIRE_JSON_LIMITS } from './json-fields.js';
import { encodeBase64, formatFreqMhz } from './wire-format.js';

/** txpk as it travels (PROTOCOL.TXT §6). Optional fields are omitted when undefined. */
export interface Txpk {
  /** Send immediately (Class C); wins over tmst and tmms. */
  imme?: boolean;
  /** Counter value to send at, u32 µs (Class A). */
  tmst?: number;
  /** GPS time to send at, ms since 1980-01-06 (Class B). */
  tmms?: number;
  /** MHz. */
  freq: number;
  rfch: number;
  /** dBm. */
  powe?: number;
  modu: 'LORA' | 'FSK';
  /** "SF7BW125" for LoRa, bit rate for FSK. */
  datr: string | number;
  codr?: string;
  /** FSK deviation, Hz. */
  fdev?: number;
  ipol?: boolean;
  prea?: number;
  size: number;
  /** Base64, padding optional. */
  data: string;
  ncrc?: boolean;
}

/** When a downlink goes out. */
export type TxTiming =
  | { kind: 'immediate' }
  /** At this concentrator counter value, u32 µs. */
  | { kind: 'tmst'; countUs: number }
  /** At this GPS time, ms since the GPS epoch (needs a time reference). */
  | { kind: 'tmms'; gpsMs: number };

/** A validated downlink request, in hal units. */
export interface TxRequest {
  timing: TxTiming;
  /** Whole Hz (see {@link txFreqHz}). */
  freqHz: number;
  rfChain: number;
  /** Requested power, dBm; undefined when `powe` was absent (PF4 then uses 0 dBm, no antenna gain). */
  powerDbm: number | undefined;
  radio: RadioParams;
  /** FSK only. */
  fdevHz?: number;
  invertPolarity: boolean;
  /** Preamble in symbols (LoRa) or bytes (FSK), defaults and minimums applied. */
  preambleSymbols: number;
  noCrc: boolean;
  /** The decoded `data` (which may differ in length from `size`: see warnings). */
  payload: Uint8Array;
  /** Non-fatal oddities worth a log line (size mismatch, raised preamble). */
  warnings: string[];
}

/** Result of {@link parsePullRespBody}. */
export type ParsePullRespResult = { ok: true; request: TxRequest } | { ok: false; reason: string };

/** Preamble defaults and minimums [PF4 STD_LORA_PREAMB, MIN_LORA_PREAMB, STD_FSK_PREAMB, MIN_FSK_PREAMB]. */
export const PREAMBLE = {
  LORA: { default: 8, min: 6 },
  FSK: { default: 5, min: 3 },
} as const;

/**
 * MHz → whole Hz for a downlink. Servers that keep frequencies in a C float
 * send float32 noise (util_tx_test prints 869.525 as 869.525024, 868.8 as
 * 868.799988; server-rules.md). Rule: if the value is the same float32 as the
 * nearest whole kHz, the intended frequency is that kHz; otherwise round to
 * the nearest Hz (PF4 truncates, which turns 863.00981 into 863009809 Hz).
 * A float32 cell is ~61 Hz wide around 868 MHz, the same as one SX127x/SX1301
 * synthesizer step, so the snap never moves the carrier by more than one step.
 * 869.525024 → 869525000, 868.799988 → 868800000, 868.1 → 868100000, 864.123456 → 864123456.
 */
export function txFreqHz(freqMhz: number): number {
  const hz = Math.round(freqMhz * 1e6);
  const khz = Math.round(hz / 1000) * 1000;
  return Math.fround(khz / 1e6) === Math.fround(freqMhz) ? khz : hz;
}

function readTiming(t: JsonObject): { ok: true; value: TxTiming } | { ok: false; reason: string } {
  const imme = optBool(t, 'imme');
  if (!imme.ok) return imme;
  // imme:true wins and tmst/tmms are not even read; imme:false falls through [PF4].
  if (imme.value === true) return { ok: true, value: { kind: 'immediate' } };
  const tmst = optInt(t, 'tmst', 0, U32_MAX);
  if (!tmst.ok) return tmst;
  if (tmst.value !== undefined) return { ok: true, value: { kind: 'tmst', countUs: tmst.value } };
  const tmms = optInt(t, 'tmms', 0, Number.MAX_SAFE_INTEGER);
  if (!tmms.ok) return tmms;
  if (tmms.value !== undefined) return { ok: true, value: { kind: 'tmms', gpsMs: tmms.value } };
  return { ok: false, reason: 'no timing: imme is not true and tmst and tmms are absent' };
}

/** Largest payload either radio can transmit (SX1301 lgw_send refuses size > 255). */
export const MAX_TX_PAYLOAD = 255;

/**
 * Reads a PULL_RESP body into a downlink request, or gives the one-line
 * reason (naming the field) for which PF4 would send no TX_ACK. Order and
 * rules (constants.md §4, with our improvements):
 * - strict JSON object (PF4's parser also takes comments; nobody sends them)
 *   within WIRE_JSON_LIMITS.pullResp (8 KiB, 16 levels), checked before parsing;
 *   `txpk` an object;
 * - timing: `imme` true → immediate; else `tmst` (u32 integer) → counter;
 *   else `tmms` (non-negative integer) → GPS; else rejected. A wrong type is
 *   rejected rather than ignored (`"imme":"true"` is a server bug, not a hint);
 * - `ncrc`, `ipol` booleans, default false; `ipol` only matters for LoRa;
 * - `freq` a positive number (MHz, see {@link txFreqHz}); `rfch` an unsigned
 *   integer; `powe` an integer if present. Their ranges are the board's
 *   business: the scheduler answers TX_FREQ / TX_POWER with a TX_ACK;
 * - `modu` LORA|FSK; LoRa `datr` SF7..12 BW125/250/500 and `codr` 4/5..4/8 or
 *   PF4's aliases 2/3 (=4/6) and 1/2 (=4/8); FSK `datr` a positive integer and
 *   `fdev` a positive integer (Hz), both required;
 * - `prea` an integer 0..65535, default 8 (LoRa) / 5 (FSK), raised to 6 / 3
 *   with a warning;
 * - `size` 0..65535 and `data` standard base64 (padding optional). URL-safe or
 *   other characters are refused with a reason (PF4 exits the process).
 *   More than 255 decoded bytes is refused (no radio can send it).
 *   Decoded length ≠ size only warns, and the decoded bytes are sent: the
 *   device's MIC covers the real bytes, PF4's zero-fill would break it.
 */
export function parsePullRespBody(body: Buffer): ParsePullRespResult {
  const root = parseJsonObject(body, 'PULL_RESP body', WIRE_JSON_LIMITS.pullResp);
  if (!root.ok) return root;
  const t = root.value['txpk'];
  if (t === undefined || t === null) return { ok: false, reason: 'txpk missing' };
  if (!isJsonObject(t)) return { ok: false, reason: 'txpk is not a JSON object' };
  const warnings: string[] = [];

  const timing = readTiming(t);
  if (!timing.ok) return timing;
  const ncrc = optBool(t, 'ncrc');
  if (!ncrc.ok) return ncrc;
  const freq = reqNumber(t, 'freq');
  if (!freq.ok) return freq;
  if (freq.value <= 0) return { ok: false, reason: `freq ${freq.value} is not a positive frequency in MHz` };
  const rfch = reqInt(t, 'rfch', 0, U32_MAX);
  if (!rfch.ok) return rfch;
  const powe = optInt(t, 'powe', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (!powe.ok) return powe;
  const radio = parseRadio(t['modu'], t['datr'], t['codr'], true);
  if (!radio.ok) return radio;
  const lora = radio.value.modulation === 'LORA';

  let fdevHz: number | undefined;
  if (!lora) {
    if (t['fdev'] === undefined || t['fdev'] === null) return { ok: false, reason: 'fdev missing (required for FSK)' };
    const fdev = reqInt(t, 'fdev', 1, U32_MAX);
    if (!fdev.ok) return fdev;
    fdevHz = fdev.value;
  }
  const ipol = optBool(t, 'ipol');
  if (!ipol.ok) return ipol;
  const prea = optInt(t, 'prea', 0, 0xffff);
  if (!prea.ok) return prea;
  const limits = lora ? PREAMBLE.LORA : PREAMBLE.FSK;
  let preambleSymbols: number = prea.value ?? limits.default;
  if (preambleSymbols < limits.min) {
    warnings.push(`prea ${preambleSymbols} raised to the ${radio.value.modulation} minimum ${limits.min}`);
    preambleSymbols = limits.min;
  }

  // Padding optional (PROTOCOL.TXT §6); a size mismatch is only a warning: the device's MIC covers the real bytes.
  const payload = readSizeAndData(t, false);
  if (!payload.ok) return payload;
  const { size, bytes } = payload.value;
  // Both radios carry at most 255 payload bytes (SX1301 lgw_send, SX127x RegPayloadLength is 8 bits):
  // a longer frame is a malformed request, refused here rather than failing in the scheduler.
  if (bytes.length > MAX_TX_PAYLOAD) {
    return { ok: false, reason: `data decodes to ${bytes.length} bytes; a radio frame carries at most ${MAX_TX_PAYLOAD}` };
  }
  if (bytes.length !== size) {
    warnings.push(`size ${size} but data decodes to ${bytes.length} bytes; sending the ${bytes.length} decoded bytes`);
  }

  const request: TxRequest = {
    timing: timing.value,
    freqHz: txFreqHz(freq.value),
    rfChain: rfch.value,
    powerDbm: powe.value,
    radio: radio.value,
    invertPolarity: lora ? (ipol.value ?? false) : false,
    preambleSymbols,
    noCrc: ncrc.value ?? false,
    payload: new Uint8Array(bytes),
    warnings,
  };
  if (fdevHz !== undefined) request.fdevHz = fdevHz;
  return { ok: true, request };
}

/** Writes a JSON number; throws (programmer error) for NaN/Infinity. */
function num(key: string, v: number): string {
  if (!Number.isFinite(v)) throw Object.assign(new Error(`txpk ${key}: cannot write ${v}`), { code: 'ERR_INVALID_WIRE_VALUE' });
  return String(v);
}

/**
 * Writes a txpk as JSON text in PROTOCOL.TXT §6 order (imme, tmst, tmms, freq,
 * rfch, powe, modu, datr, codr, fdev, ipol, prea, size, data, ncrc), omitting
 * undefined fields. freq gets 6 decimals from whole Hz; other values are
 * written as given, so tests can also produce requests we must refuse.
 */
export function encodeTxpk(t: Txpk): string {
  const parts: string[] = [];
  const put = (key: string, text: string | undefined) => {
    if (text !== undefined) parts.push(`"${key}":${text}`);
  };
  const bool = (v: boolean | undefined) => (v === undefined ? undefined : String(v));
  const n = (key: string, v: number | undefined) => (v === undefined ? undefined : num(key, v));
  put('imme', bool(t.imme));
  put('tmst', n('tmst', t.tmst));
  put('tmms', n('tmms', t.tmms));
  put('freq', formatFreqMhz(t.freq * 1e6));
  put('rfch', num('rfch', t.rfch));
  put('powe', n('powe', t.powe));
  put('modu', JSON.stringify(t.modu));
  put('datr', typeof t.datr === 'number' ? num('datr', t.datr) : JSON.stringify(t.datr));
  put('codr', t.codr === undefined ? undefined : JSON.stringify(t.codr));
  put('fdev', n('fdev', t.fdev));
  put('ipol', bool(t.ipol));
  put('prea', n('prea', t.prea));
  put('size', num('size', t.size));
  put('data', JSON.stringify(t.data));
  put('ncrc', bool(t.ncrc));
  return `{${parts.join(',')}}`;
}

/** A whole PULL_RESP body, `{"txpk":{...}}`. */
export function encodePullRespBody(t: Txpk): string {
  return `{"txpk":${encodeTxpk(t)}}`;
}

/**
 * The txpk that {@link parsePullRespBody} reads back as `req` (warnings
 * aside): imme is always written (false for timed requests, as ChirpStack and
 * TTS do), ipol only for LoRa, data padded.
 */
export function txRequestToTxpk(req: TxRequest): Txpk {
  const r = req.radio;
  const t: Txpk = {
    imme: req.timing.kind === 'immediate',
    freq: req.freqHz / 1e6,
    rfch: req.rfChain,
    modu: r.modulation,
    datr: r.modulation === 'LORA' ? formatLoraDatr(r.spreadingFactor, r.bandwidthHz) : r.datarateBps,
    size: req.payload.length,
    data: encodeBase64(req.payload),
  };
  if (req.timing.kind === 'tmst') t.tmst = req.timing.countUs;
  if (req.timing.kind === 'tmms') t.tmms = req.timing.gpsMs;
  if (req.powerDbm !== undefined) t.powe = req.powerDbm;
  if (r.modulation === 'LORA') {
    t.codr = r.codeRate;
    t.ipol = req.invertPolarity;
  } else if (req.fdevHz !== undefined) {
    t.fdev = req.fdevHz;
  }
  t.prea = req.preambleSymbols;
  t.ncrc = req.noCrc;
  return t;
}
