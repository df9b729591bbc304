/**
 * Transmitting with the SX1301 as libloragw v5.0.1 `lgw_send` does, plus
 * the TX status, the counters and stop (facts: sx1301.md §5-6 and the golden
 * eu868 trace, transactions 579-614; the code is ours).
 */
import type { BoardConfig, TxPacket, TxStatus } from '../types.js';
import type { Sx1301Registers } from './registers.js';
import type { Sx1301StartResult } from './start.js';
import { sx125xPllBytes } from './sx125x.js';

/** The calibrated TX start delay, µs; 1.5 µs less at 125 kHz, truncated [§5 step 3]. */
export const TX_START_DELAY_US = 1497;

/** Why a frame cannot be sent, in the TX_ACK vocabulary where one fits. */
export type Sx1301SendRefusal = { error: 'TX_FREQ' | 'INVALID'; detail: string };

/** The TX gain table index for a power: the largest entry not above it, else entry 0 [§5 step 1]. */
export function lutIndex(conf: BoardConfig, powerDbm: number): number {
  let best = 0;
  let bestPower = -Infinity;
  conf.txLut.forEach((e, i) => {
    if (e.rfPowerDbm <= powerDbm && e.rfPowerDbm > bestPower) {
      best = i;
      bestPower = e.rfPowerDbm;
    }
  });
  return best;
}

const BW_CODE: Record<number, number> = { 125000: 0, 250000: 1, 500000: 2 };
const CR_CODE: Record<string, number> = { '4/5': 1, '4/6': 2, '4/7': 3, '4/8': 4 };

/** The 16-byte TX metadata followed by the payload [§5 table]. Bytes 3-6 carry the trigger only when timestamped. */
export function txBuffer(conf: BoardConfig, p: TxPacket, lut: number, startDelayUs: number): Buffer {
  const radio = conf.radios[p.rfChain]!;
  const type = radio.type.toUpperCase() === 'SX1255' ? 'SX1255' : 'SX1257';
  const [pll0, pll1, pll2] = sx125xPllBytes(type, p.freqHz);
  const fsk = p.radio.modulation === 'FSK';
  const size = p.payload.length;
  const buf = Buffer.alloc(16 + (fsk ? 1 : 0) + size);
  if (p.radio.modulation === 'LORA') {
    const r = p.radio;
    buf[0] = (pll0 & 0x3f) | (r.bandwidthHz === 500000 ? 0x80 : 0) | (r.bandwidthHz === 125000 ? 0x40 : 0);
  } else {
    buf[0] = pll0 & 0x7f; // FSK: only the MSB (wide analog filter) is cleared [libloragw v5.0.1 lgw_send, FSK branch]
  }
  buf[1] = pll1;
  buf[2] = pll2;
  if (p.mode === 'timestamped') buf.writeUInt32BE((p.countUs - startDelayUs) >>> 0, 3);
  buf[7] = ((p.rfChain & 1) << 5) | (fsk ? 0x10 : 0) | (lut & 0x0f);
  buf[8] = 0;
  if (p.radio.modulation === 'LORA') {
    const r = p.radio;
    buf[9] = (p.noCrc ? 0 : 0x80) | (CR_CODE[r.codeRate]! << 4) | r.spreadingFactor;
    buf[10] = size;
    const ldro = (r.bandwidthHz === 125000 && r.spreadingFactor >= 11) || (r.bandwidthHz === 250000 && r.spreadingFactor === 12);
    buf[11] = BW_CODE[r.bandwidthHz]! | (p.noHeader ? 0x04 : 0) | (ldro ? 0x08 : 0) | (p.invertPolarity ? 0x10 : 0);
    const pre = p.preambleSymbols === 0 ? 8 : Math.max(6, p.preambleSymbols);
    buf.writeUInt16BE(pre, 12);
    Buffer.from(p.payload).copy(buf, 16);
  } else {
    buf[9] = Math.round((p.fdevHz ?? 0) / 1000);
    buf[10] = size;
    buf[11] = 0x01 | (p.noCrc ? 0 : 0x02) | 0x08; // variable length, CRC, DC-free (whitening)
    const pre = p.preambleSymbols === 0 ? 5 : Math.max(3, p.preambleSymbols);
    buf.writeUInt16BE(pre, 12);
    buf.writeUInt16BE(Math.trunc(32_000_000 / p.radio.datarateBps), 14);
    buf[16] = size;
    Buffer.from(p.payload).copy(buf, 17);
  }
  return buf;
}

/** Checks libloragw makes before sending [§5 "Refused when"]; null when the frame can go. */
export function sendRefusal(conf: BoardConfig, p: TxPacket): Sx1301SendRefusal | null {
  const radio = conf.radios[p.rfChain];
  if (p.rfChain > 1 || !radio?.enable || !radio.txEnable) return { error: 'TX_FREQ', detail: `RF chain ${p.rfChain} cannot transmit` };
  if (p.payload.length > 255) return { error: 'INVALID', detail: `payload of ${p.payload.length} bytes` };
  if (p.radio.modulation === 'LORA') {
    const r = p.radio;
    if (!(r.bandwidthHz in BW_CODE) || r.spreadingFactor < 7 || r.spreadingFactor > 12 || !(r.codeRate in CR_CODE)) {
      return { error: 'INVALID', detail: 'LoRa bandwidth, SF or coding rate out of range' };
    }
  } else {
    const fdev = p.fdevHz ?? 0;
    if (fdev < 1000 || fdev > 200_000) return { error: 'INVALID', detail: `FSK deviation ${fdev} Hz outside 1-200 kHz` };
    if (!(p.radio.datarateBps >= 500 && p.radio.datarateBps <= 250_000)) return { error: 'INVALID', detail: `FSK datarate ${p.radio.datarateBps}` };
  }
  return null;
}

/**
 * Loads a frame and triggers it: immediate, timestamped (count − TX start
 * delay) or on the next PPS. Refusals come back as values; SPI errors throw.
 */
export function sendSx1301(regs: Sx1301Registers, conf: BoardConfig, cal: Sx1301StartResult, p: TxPacket): Sx1301SendRefusal | null {
  const refused = sendRefusal(conf, p);
  if (refused) return refused;
  const lut = lutIndex(conf, p.powerDbm);
  const entry = conf.txLut[lut];
  const radio = p.rfChain as 0 | 1;
  const mixIdx = Math.max(0, Math.min(7, (entry?.mixGain ?? 8) - 8));
  regs.write('TX_OFFSET_I', cal.txOffsetI[radio][mixIdx] ?? 0);
  regs.write('TX_OFFSET_Q', cal.txOffsetQ[radio][mixIdx] ?? 0);
  regs.write('TX_GAIN', entry?.digGain ?? 0);
  const delay = p.radio.modulation === 'LORA' && p.radio.bandwidthHz === 125000 ? Math.trunc(TX_START_DELAY_US - 1.5) : TX_START_DELAY_US;
  regs.write('TX_START_DELAY', delay);
  regs.write('TX_TRIG_ALL', 0); // cancels anything programmed
  regs.write('TX_DATA_BUF_ADDR', 0);
  regs.writeBurst('TX_DATA_BUF_DATA', txBuffer(conf, p, lut, delay));
  regs.write(p.mode === 'immediate' ? 'TX_TRIG_IMMEDIATE' : p.mode === 'timestamped' ? 'TX_TRIG_DELAYED' : 'TX_TRIG_GPS', 1);
  return null;
}

/** TX_STATUS → free / scheduled / emitting [§6]. */
export function txStatusSx1301(regs: Sx1301Registers): TxStatus {
  const s = regs.read('TX_STATUS');
  if ((s & 0x10) === 0) return 'free';
  return (s & 0x60) !== 0 ? 'emitting' : 'scheduled';
}

/** The TIMESTAMP register: the PPS-latched counter while GPS_EN = 1, the live counter while 0 [§6]. */
export function readTimestamp(regs: Sx1301Registers): number {
  return regs.read('TIMESTAMP') >>> 0;
}

/** `lgw_abort_tx`: clears every trigger, which cancels a scheduled frame and stops one on the air. */
export function abortSx1301(regs: Sx1301Registers): void {
  regs.write('TX_TRIG_ALL', 0);
}

/** `lgw_stop`: a soft reset. */
export function stopSx1301(regs: Sx1301Registers): void {
  regs.write('SOFT_RESET', 1);
}
