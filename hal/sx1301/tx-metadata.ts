/**
 * What the SX1301 makes of its TX buffer: the 16-byte metadata followed by
 * the payload [sx1301.md §5 table; the same layout ../shared/sx1301/fake-chip
 * decodes in its trace]. The driver writes this layout (send.ts txBuffer);
 * the emulator reads it back with this function to decide what goes on the
 * air, so a field the driver puts in the wrong place shows up as a wrong
 * frequency, modulation or start time in the emulated emission.
 */
import type { CodeRate, LoraBandwidthHz, RadioParams, SpreadingFactor } from '../types.js';

/** The fields of a TX buffer. */
export interface DecodedTxBuffer {
  /**
   * The low bits of the PLL integer byte carried by byte 0 (6 for LoRa, whose bits 6-7 are filter
   * flags; 7 for FSK, whose bit 7 is the filter flag, always 0), then the middle and low bytes.
   */
  pll: [number, number, number];
  /** How many low bits of the PLL integer byte 0 carries: 6 (LoRa) or 7 (FSK). */
  pllBits: 6 | 7;
  /** Trigger count, bytes 3-6 big-endian (meaningful for timestamped sends only). */
  triggerCount: number;
  rfChain: 0 | 1;
  /** TX gain table index (0-15). */
  lutIndex: number;
  radio: RadioParams;
  /** FSK frequency deviation, Hz. */
  fdevHz?: number;
  invertIq: boolean;
  noCrc: boolean;
  noHeader: boolean;
  /** LoRa: symbols; FSK: bytes. */
  preamble: number;
  payload: Buffer;
}

const BW: Record<number, LoraBandwidthHz> = { 0: 125000, 1: 250000, 2: 500000 };
const CR: Record<number, CodeRate> = { 1: '4/5', 2: '4/6', 3: '4/7', 4: '4/8' };

/** Decodes a TX buffer; a string says why the chip could not make sense of it. */
export function decodeTxBuffer(buf: Uint8Array): DecodedTxBuffer | string {
  if (buf.length < 16) return `TX buffer of ${buf.length} bytes, shorter than its 16-byte metadata`;
  const b = Buffer.from(buf);
  const fsk = (b[7]! & 0x10) !== 0;
  const common = {
    pll: [b[0]! & (fsk ? 0x7f : 0x3f), b[1]!, b[2]!] as [number, number, number],
    pllBits: (fsk ? 7 : 6) as 6 | 7,
    triggerCount: b.readUInt32BE(3),
    rfChain: ((b[7]! >> 5) & 1) as 0 | 1,
    lutIndex: b[7]! & 0x0f,
    preamble: b.readUInt16BE(12),
  };
  const size = b[10]!;
  if (!fsk) {
    const sf = b[9]! & 0x0f;
    const cr = (b[9]! >> 4) & 0x07;
    const bw = BW[b[11]! & 0x03];
    if (sf < 7 || sf > 12) return `LoRa SF ${sf} in TX metadata byte 9`;
    if (!CR[cr]) return `LoRa coding rate code ${cr} in TX metadata byte 9`;
    if (!bw) return `LoRa bandwidth code ${b[11]! & 0x03} in TX metadata byte 11`;
    const bwFlags = b[0]! & 0xc0;
    const expected = bw === 500000 ? 0x80 : bw === 125000 ? 0x40 : 0;
    if (bwFlags !== expected) return `TX metadata byte 0 bandwidth flags 0x${bwFlags.toString(16)} disagree with bandwidth ${bw} Hz in byte 11`;
    if (b.length < 16 + size) return `TX buffer holds ${b.length - 16} payload bytes, metadata says ${size}`;
    return {
      ...common,
      radio: { modulation: 'LORA', spreadingFactor: sf as SpreadingFactor, bandwidthHz: bw, codeRate: CR[cr]! },
      invertIq: (b[11]! & 0x10) !== 0,
      noCrc: (b[9]! & 0x80) === 0,
      noHeader: (b[11]! & 0x04) !== 0,
      payload: Buffer.from(b.subarray(16, 16 + size)),
    };
  }
  // libloragw's FSK branch clears only bit 7 (narrow analog filter); bits 0-6 are the PLL integer's.
  if ((b[0]! & 0x80) !== 0) return 'TX metadata byte 0 bit 7 (wide filter) set for an FSK frame';
  const ratio = b.readUInt16BE(14);
  if (ratio === 0) return 'FSK bit-rate ratio 0 in TX metadata bytes 14-15';
  if (b.length < 17 + size || b[16] !== size) return `FSK TX buffer: length byte ${b[16]} and metadata size ${size} disagree, or the payload is short`;
  return {
    ...common,
    radio: { modulation: 'FSK', datarateBps: 32_000_000 / ratio },
    fdevHz: b[9]! * 1000,
    invertIq: false,
    noCrc: (b[11]! & 0x02) === 0,
    noHeader: false,
    payload: Buffer.from(b.subarray(17, 17 + size)),
  };
}

/**
 * RF frequency from the PLL bytes of the metadata and the two MSBs the AGC
 * firmware was given at start-up (a LoRa buffer has room for 6 bits of the
 * integer byte, an FSK one for 7: `pllBits`) [sx1301.md §2 PLL word, §3 step
 * 17; libloragw v5.0.1 lgw_send clears bits 6-7 for LoRa, bit 7 for FSK].
 */
export function txFrequencyHz(type: 'SX1257' | 'SX1255', pll: [number, number, number], freqMsbs: number, pllBits: 6 | 7 = 6): number {
  const step = type === 'SX1257' ? 4_000_000 : 2_000_000;
  const div = type === 'SX1257' ? 256 : 512;
  const int = pllBits === 7 ? (((freqMsbs >> 1) & 0x01) << 7) | (pll[0] & 0x7f) : ((freqMsbs & 0x03) << 6) | (pll[0] & 0x3f);
  const frac = (pll[1] << 8) | pll[2];
  return int * step + (frac * 15625) / div;
}
