import type { CodeRate, RadioParams } from '../types.js';

/**
 * Time on air of radio frames, in integer microseconds rounded up.
 *
 * LoRa follows Semtech AN1200.13 (SX1272/3/6/7/8 "LoRa Modem Designer's
 * Guide"), the same form as LoRaMac-node `RegionCommon` [LMN]:
 *
 *   Tsym      = 2^SF / BW
 *   Tpreamble = (Npreamble + 4.25) · Tsym
 *   Npayload  = 8 + max(ceil((8·PL − 4·SF + 28 + 16·CRC − 20·IH) / (4·(SF − 2·DE))) · (CR + 4), 0)
 *   ToA       = Tpreamble + Npayload · Tsym
 *
 * with DE = 1 (LowDataRateOptimize) when Tsym > 16 ms, i.e. SF11/SF12 at
 * 125 kHz and SF12 at 250 kHz. See shared/reference/constants.md §13.
 *
 * This differs on purpose from the HAL's `lgw_time_on_air` [HAL5 loragw_hal.c],
 * which returns truncated milliseconds, always counts the CRC, applies DE for
 * SF >= 11 at every bandwidth and does not clamp at 0 (so it reads 452 ms for
 * SF12BW500 33 B where the air holds 411.648 ms).
 *
 * FSK counts, at `datarateBps`, the preamble bytes, a 3-byte sync word
 * (0xC194C1, the HAL default [HAL5], sx1301.md step 14), 1 length byte
 * (the HAL always transmits variable-length frames, so `noHeader` is ignored
 * for FSK), the payload and 2 CRC bytes unless `noCrc` [HAL5 lgw_time_on_air].
 * The HAL truncates that to ms and adds 1 ms; we round the exact value up to µs.
 */

/** Everything the time on air of one frame depends on. */
export interface AirtimeParams {
  /** Modulation and its rate parameters. */
  radio: RadioParams;
  /** MAC payload length in bytes (0..255). */
  payloadSize: number;
  /** Preamble length: symbols for LoRa (usually 8; beacons 10), bytes for FSK. */
  preambleSymbols: number;
  /** True when the frame carries no physical-layer payload CRC. */
  noCrc: boolean;
  /** True for LoRa implicit header mode (beacons); ignored for FSK. */
  noHeader: boolean;
}

/** Error thrown for parameters no radio could transmit (a programmer error). */
export class AirtimeParamsError extends RangeError {
  /** Stable error code for callers that branch on it. */
  readonly code = 'ERR_AIRTIME_PARAMS';
}

/** FSK sync word length in bytes as configured by the HAL (0xC194C1). */
const FSK_SYNC_WORD_BYTES = 3;
/** FSK length byte of variable-length frames. */
const FSK_LENGTH_BYTES = 1;
/** FSK CRC-16 bytes. */
const FSK_CRC_BYTES = 2;

/** AN1200.13 `CR` term: 1..4 for 4/5..4/8. */
const CODE_RATE_TERM: Record<CodeRate, number> = { '4/5': 1, '4/6': 2, '4/7': 3, '4/8': 4 };

/**
 * Time on air of one frame in integer microseconds, rounded up.
 * Throws {@link AirtimeParamsError} (code `ERR_AIRTIME_PARAMS`) for
 * parameters outside what the radios accept.
 */
export function timeOnAirUs(p: AirtimeParams): number {
  checkInteger('payloadSize', p.payloadSize, 0, 255);
  checkInteger('preambleSymbols', p.preambleSymbols, 0, 65535);
  const r = p.radio;
  if (r.modulation === 'FSK') {
    if (!Number.isFinite(r.datarateBps) || r.datarateBps <= 0) {
      throw new AirtimeParamsError(`FSK datarateBps must be a positive number, got ${r.datarateBps}`);
    }
    const bytes = p.preambleSymbols + FSK_SYNC_WORD_BYTES + FSK_LENGTH_BYTES + p.payloadSize + (p.noCrc ? 0 : FSK_CRC_BYTES);
    return ceilDiv(bytes * 8 * 1_000_000, r.datarateBps);
  }
  const sf = r.spreadingFactor;
  const bw = r.bandwidthHz;
  checkInteger('spreadingFactor', sf, 7, 12);
  if (bw !== 125000 && bw !== 250000 && bw !== 500000) {
    throw new AirtimeParamsError(`LoRa bandwidthHz must be 125000, 250000 or 500000, got ${String(bw)}`);
  }
  const cr = CODE_RATE_TERM[r.codeRate];
  if (cr === undefined) throw new AirtimeParamsError(`unknown LoRa codeRate ${String(r.codeRate)}`);

  const chips = 2 ** sf;
  // Tsym > 16 ms  <=>  2^SF / BW > 0.016 s, compared in integers.
  const de = chips * 1000 > 16 * bw ? 1 : 0;
  const crc = p.noCrc ? 0 : 1;
  const ih = p.noHeader ? 1 : 0;
  const payloadBits = 8 * p.payloadSize - 4 * sf + 28 + 16 * crc - 20 * ih;
  const nPayload = 8 + Math.max(ceilDiv(payloadBits, 4 * (sf - 2 * de)) * (cr + 4), 0);
  // ToA = (Npreamble + 4.25 + Npayload) · 2^SF / BW, kept in integers as
  // (4·Npreamble + 17 + 4·Npayload) · 2^SF · 10^6 / (4·BW) µs.
  const quarterSymbols = 4 * p.preambleSymbols + 17 + 4 * nPayload;
  return ceilDiv(quarterSymbols * chips * 1_000_000, 4 * bw);
}

/** ceil(a / b) for an integer `a` (any sign) and b > 0, exact for |a| < 2^53. */
function ceilDiv(a: number, b: number): number {
  const q = Math.floor(a / b);
  // Float division can land one off at the edge; correct with an exact product test.
  if (q * b < a) return q + 1;
  if ((q - 1) * b >= a) return q - 1;
  return q;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AirtimeParamsError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

/**
 * Time on air of a frame about to be sent, or the reason no radio could send
 * it (the {@link AirtimeParamsError} message): how the drivers refuse such a
 * frame with INVALID instead of throwing.
 */
export function frameAirtimeUs(p: { radio: AirtimeParams['radio']; payload: Uint8Array; preambleSymbols: number; noCrc: boolean; noHeader: boolean }): { ok: true; us: number } | { ok: false; reason: string } {
  try {
    return { ok: true, us: timeOnAirUs({ radio: p.radio, payloadSize: p.payload.length, preambleSymbols: p.preambleSymbols, noCrc: p.noCrc, noHeader: p.noHeader }) };
  } catch (err) {
    if (err instanceof AirtimeParamsError) return { ok: false, reason: err.message };
    throw err;
  }
}
