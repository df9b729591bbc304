/**
 * Starting an SX1301 concentrator: the steps of libloragw v5.0.1
 * `lgw_start` in their order, with every check it makes (facts:
 * sx1301.md §3 and the golden eu868 trace, transactions 2-564; the code is
 * ours). Every failed check is an Error with a code naming the step and the
 * value read.
 */
import type { BoardConfig } from '../types.js';
import { loadMcuFirmware } from './mcu.js';
import type { RegisterName } from './register-table.js';
import type { Sx1301Registers } from './registers.js';
import { setupSx125x, sx125xPllBytes, type Sx125xType } from './sx125x.js';

/** What start-up measured and what later calls need (lgw_send uses the TX offsets). */
export interface Sx1301StartResult {
  /** MCU_AGC_STATUS after calibration (bit 7 done, bit 0 chip access, bits 1-6 per-radio results). */
  calibrationStatus: number;
  /** Warnings from the calibration status bits (1-6), one line each. */
  calibrationWarnings: string[];
  /** TX I and Q DC offsets per radio (A, B) and mixer gain 8..15 (index 0..7), from AGC RAM 0xA0-0xBF. */
  txOffsetI: [number[], number[]];
  txOffsetQ: [number[], number[]];
}

/** The three firmware images. */
export interface Sx1301Firmware {
  cal: Uint8Array;
  agc: Uint8Array;
  arb: Uint8Array;
}

function fail(step: string, message: string, code: string): never {
  throw Object.assign(new Error(`SX1301 start, ${step}: ${message}`), { code });
}

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

/** Radio chip of a configured radio ('SX1257' unless it says SX1255). */
function radioType(t: string): Sx125xType {
  return t.toUpperCase() === 'SX1255' ? 'SX1255' : 'SX1257';
}

/** IF frequency in the chip's unit: IF_Hz·32/15625, truncated toward zero like C's division [§3 step 12]. */
export function ifFreqCode(ifHz: number): number {
  return Math.trunc((ifHz * 32) / 15625);
}

/** FSK_CH_BW_EXPO for a channel bandwidth: 500 kHz → 1, 250 → 2, 125 → 3, ... 7.8 → 7. */
export function fskBandwidthExpo(bwHz: number): number {
  for (let expo = 1; expo <= 7; expo++) if (bwHz >= 1_000_000 / 2 ** expo) return expo;
  return 7;
}

/** Reads one byte of an MCU's RAM through the debug port (page 2). */
function mcuRam(regs: Sx1301Registers, mcu: 'agc' | 'arb', addr: number): number {
  regs.write(mcu === 'agc' ? 'DBG_AGC_MCU_RAM_ADDR' : 'DBG_ARB_MCU_RAM_ADDR', addr);
  return regs.read(mcu === 'agc' ? 'DBG_AGC_MCU_RAM_DATA' : 'DBG_ARB_MCU_RAM_DATA');
}

/**
 * Runs the start-up sequence on a connected chip. `sleep` is the millisecond
 * wait (500 ms radio power-up, 5 ms reset, 2.3 s calibration, 1 ms AGC
 * handshake steps); tests against the fake chip may pass a no-op.
 */
export async function startSx1301(regs: Sx1301Registers, conf: BoardConfig, fw: Sx1301Firmware, sleep: (ms: number) => Promise<void>): Promise<Sx1301StartResult> {
  const w = (name: RegisterName, v: number) => regs.write(name, v);
  // 1. Connect: VERSION must read 103, then page 0 [§3 step 1].
  const version = regs.read('VERSION');
  if (version !== 103) fail('connect', `VERSION reads ${version}, expected 103 (no SX1301, or SPI wiring)`, 'EVERSION');
  w('PAGE_REG', 0);
  // 2-3. Soft reset, clocks gated.
  w('SOFT_RESET', 1);
  w('GLOBAL_EN', 0);
  w('CLK32M_EN', 0);
  // 4. Radios powered, reset pulse.
  w('RADIO_A_EN', 1);
  w('RADIO_B_EN', 1);
  await sleep(500);
  w('RADIO_RST', 1);
  await sleep(5);
  w('RADIO_RST', 0);
  // 5. Each radio, A then B.
  for (const i of [0, 1] as const) {
    const r = conf.radios[i];
    await setupSx125x(regs, i, { type: radioType(r?.type ?? 'SX1257'), enable: r?.enable ?? false, freqHz: r?.freqHz ?? 0, clockSource: conf.clockSource === i }, sleep);
  }
  // 6. The AGC drives the TX filter and TX-on GPIOs.
  w('GPIO_MODE', 31);
  w('GPIO_SELECT_OUTPUT', 2);
  // 8. Clocks on.
  w('GLOBAL_EN', 1);
  w('CLK32M_EN', 1);
  // 9. Calibration: its firmware in the AGC MCU, the command, run, check.
  const [ra, rb] = [conf.radios[0], conf.radios[1]];
  const calCmd =
    (ra?.enable ? 0x01 : 0) | (rb?.enable ? 0x02 : 0) | (ra?.enable && ra.txEnable ? 0x04 : 0) | (rb?.enable && rb.txEnable ? 0x08 : 0) |
    0x10 | (radioType(ra?.type ?? 'SX1257') === 'SX1255' ? 0x20 : 0);
  loadMcuFirmware(regs, 1, fw.cal);
  w('FORCE_HOST_RADIO_CTRL', 0);
  w('RADIO_SELECT', calCmd);
  w('MCU_RST_1', 0);
  const calVersion = mcuRam(regs, 'agc', 0x20);
  if (calVersion !== 2) fail('calibration firmware', `version ${calVersion} at AGC RAM 0x20, expected 2`, 'EFWVERSION');
  w('PAGE_REG', 3); // starts the calibration
  w('EMERGENCY_FORCE_HOST_CTRL', 0);
  await sleep(2300);
  w('EMERGENCY_FORCE_HOST_CTRL', 1);
  const calStatus = regs.read('MCU_AGC_STATUS');
  if ((calStatus & 0x81) !== 0x81) fail('calibration', `MCU_AGC_STATUS ${hex(calStatus)}, expected bits 7 and 0 set`, 'ECALIBRATION');
  const calibrationWarnings: string[] = [];
  const bits: Array<[number, string, boolean]> = [
    [0x02, 'radio A not accessible', !!ra?.enable], [0x04, 'radio B not accessible', !!rb?.enable],
    [0x08, 'radio A image rejection failed', !!ra?.enable], [0x10, 'radio B image rejection failed', !!rb?.enable],
    [0x20, 'radio A TX DC offset failed', !!(ra?.enable && ra.txEnable)], [0x40, 'radio B TX DC offset failed', !!(rb?.enable && rb.txEnable)],
  ];
  for (const [bit, what, relevant] of bits) if (relevant && (calStatus & bit) === 0) calibrationWarnings.push(what);
  const txOffsetI: [number[], number[]] = [[], []];
  const txOffsetQ: [number[], number[]] = [[], []];
  const s8 = (b: number) => (b << 24) >> 24;
  for (let i = 0; i < 8; i++) {
    txOffsetI[0].push(s8(mcuRam(regs, 'agc', 0xa0 + i)));
    txOffsetQ[0].push(s8(mcuRam(regs, 'agc', 0xa8 + i)));
    txOffsetI[1].push(s8(mcuRam(regs, 'agc', 0xb0 + i)));
    txOffsetQ[1].push(s8(mcuRam(regs, 'agc', 0xb8 + i)));
  }
  // 10. Constant adjustments [§3 step 10].
  w('RSSI_BB_FILTER_ALPHA', 6);
  w('RSSI_DEC_FILTER_ALPHA', 7);
  w('RSSI_CHANN_FILTER_ALPHA', 7);
  w('RSSI_BB_DEFAULT_VALUE', 23);
  w('RSSI_CHANN_DEFAULT_VALUE', 85);
  w('RSSI_DEC_DEFAULT_VALUE', 66);
  w('DEC_GAIN_OFFSET', 7);
  w('CHAN_GAIN_OFFSET', 6);
  w('SNR_AVG_CST', 3);
  // Frame synch peaks: 3/4 for the public sync word 0x34, 1/2 for private 0x12.
  const [peak1, peak2] = conf.lorawanPublic ? [3, 4] : [1, 2];
  w('FRAME_SYNCH_PEAK1_POS', peak1);
  w('FRAME_SYNCH_PEAK2_POS', peak2);
  w('MBWSSF_FRAME_SYNCH_PEAK1_POS', peak1);
  w('MBWSSF_FRAME_SYNCH_PEAK2_POS', peak2);
  w('ADJUST_MODEM_START_OFFSET_RDX4', 1);
  w('ADJUST_MODEM_START_OFFSET_SF12_RDX4', 4094);
  w('CORR_MAC_GAIN', 7);
  w('FSK_RX_INVERT', 1);
  w('FSK_MODEM_INVERT_IQ', 1);
  w('FSK_RSSI_LENGTH', 4);
  w('FSK_PKT_MODE', 1); // variable length
  w('FSK_CRC_EN', 1);
  w('FSK_DCFREE_ENC', 2);
  w('FSK_ERROR_OSR_TOL', 10);
  w('FSK_PKT_LENGTH', 255);
  w('FSK_PATTERN_TIMEOUT_CFG', 128);
  w('TX_START_DELAY', 1497);
  w('TX_SWAP_IQ', 1);
  w('TX_FRAME_SYNCH_PEAK1_POS', peak1);
  w('TX_FRAME_SYNCH_PEAK2_POS', peak2);
  w('FSK_TX_GAUSSIAN_SELECT_BT', 2);
  // 11. Frequency-to-time drift from radio 0's frequency.
  const f0 = ra?.freqHz ?? 0;
  w('FREQ_TO_TIME_DRIFT', Math.min(63, Math.trunc(4_096_000_000 / Math.trunc(f0 / 2))));
  w('MBWSSF_FREQ_TO_TIME_DRIFT', Math.min(63, Math.trunc(4_096_000_000 / Math.trunc(f0 / 8))));
  // 12. The eight multi-SF channels.
  const ms = conf.multiSfChannels;
  ms.forEach((c, i) => w(`IF_FREQ_${i}` as RegisterName, c.enable ? ifFreqCode(c.ifHz) : 0));
  ms.forEach((c, i) => w(`CORR${i}_DETECT_EN` as RegisterName, c.enable ? 0x7e : 0));
  w('PPM_OFFSET', 0x60); // ppm offset for SF11/12 at 125 kHz
  w('CONCENTRATOR_MODEM_ENABLE', 1);
  // 13. The LoRa standard channel (IF8).
  // IF_FREQ_8 is written whether or not the channel is enabled (0 when disabled) [libloragw v5.0.1 lgw_start].
  const std = conf.loraStdChannel;
  w('IF_FREQ_8', std.enable ? ifFreqCode(std.ifHz) : 0);
  if (std.enable) {
    w('MBWSSF_RADIO_SELECT', std.radio);
    w('MBWSSF_MODEM_BW', std.bandwidthHz === 500000 ? 2 : std.bandwidthHz === 250000 ? 1 : 0);
    w('MBWSSF_RATE_SF', std.spreadingFactor);
    // Low data rate optimisation when a symbol lasts 16 ms or more: SF11/12 at 125 kHz, SF12 at 250 kHz.
    const ppm = (std.bandwidthHz === 125000 && std.spreadingFactor >= 11) || (std.bandwidthHz === 250000 && std.spreadingFactor === 12);
    w('MBWSSF_PPM_OFFSET', ppm ? 1 : 0);
    w('MBWSSF_MODEM_ENABLE', 1);
  } else {
    w('MBWSSF_MODEM_ENABLE', 0);
  }
  // 14. The FSK channel (IF9): sync word 0xC194C1 (3 bytes), left-aligned in the 64-bit pattern.
  // The IF, preamble sizes and sync pattern are written whether or not the channel receives: FSK
  // downlinks use FSK_TX_PSIZE and the pattern too [libloragw v5.0.1 lgw_start: only radio select,
  // bit-rate ratio, bandwidth and enable depend on chan_FSK.enable; a disabled IF has frequency 0].
  const fsk = conf.fskChannel;
  w('IF_FREQ_9', fsk.enable ? ifFreqCode(fsk.ifHz) : 0);
  w('FSK_PSIZE', 3 - 1);
  w('FSK_TX_PSIZE', 3 - 1);
  w('FSK_REF_PATTERN_LSB', 0);
  w('FSK_REF_PATTERN_MSB', 0xc194c100);
  if (fsk.enable) {
    w('FSK_RADIO_SELECT', fsk.radio);
    w('FSK_BR_RATIO', Math.trunc(32_000_000 / fsk.datarateBps));
    w('FSK_CH_BW_EXPO', fskBandwidthExpo(fsk.bandwidthHz));
    w('FSK_MODEM_ENABLE', 1);
  } else {
    w('FSK_MODEM_ENABLE', 0);
  }
  // 15. Runtime firmware: arbiter into MCU 0, AGC into MCU 1, then both released.
  loadMcuFirmware(regs, 0, fw.arb);
  loadMcuFirmware(regs, 1, fw.agc);
  w('FORCE_HOST_RADIO_CTRL', 0);
  w('FORCE_HOST_FE_CTRL', 0);
  w('FORCE_DEC_FILTER_GAIN', 0);
  w('RADIO_SELECT', 0); // must not be 1 or 2 at firmware init
  w('MCU_RST_0', 0);
  w('MCU_RST_1', 0);
  // 16. Versions and the AGC's ready status.
  const agcVersion = mcuRam(regs, 'agc', 0x20);
  if (agcVersion !== 4) fail('AGC firmware', `version ${agcVersion} at AGC RAM 0x20, expected 4`, 'EFWVERSION');
  const arbVersion = mcuRam(regs, 'arb', 0x20);
  if (arbVersion !== 1) fail('arbiter firmware', `version ${arbVersion} at ARB RAM 0x20, expected 1`, 'EFWVERSION');
  await sleep(1);
  const ready = regs.read('MCU_AGC_STATUS');
  if (ready !== 0x10) fail('AGC start', `MCU_AGC_STATUS ${hex(ready)}, expected 0x10`, 'EAGC');
  // 17. The AGC mailbox: each value after AGC_CMD_WAIT (16), then its acknowledgement.
  const agc = async (value: number, expect: number, what: string) => {
    w('RADIO_SELECT', 16);
    await sleep(1);
    w('RADIO_SELECT', value);
    await sleep(1);
    const st = regs.read('MCU_AGC_STATUS');
    if (st !== expect) fail(`AGC handshake (${what})`, `MCU_AGC_STATUS ${hex(st)}, expected ${hex(expect)}`, 'EAGC');
  };
  for (const [i, e] of conf.txLut.entries()) await agc(e.mixGain + 16 * e.dacGain + 64 * e.paGain, 0x30 + i, `TX gain entry ${i}`);
  if (conf.txLut.length < 16) await agc(17, 0x30, 'end of the TX gain table');
  // TX frequency MSBs: the two top bits of the PLL integer byte, which the TX metadata has no room for
  // (libloragw always sends 3: right for 768-1024 MHz on an SX1257, 384-512 MHz on an SX1255).
  const txRadio = conf.radios.find((r) => r.enable && r.txEnable) ?? ra;
  const msbs = sx125xPllBytes(radioType(txRadio?.type ?? 'SX1257'), txRadio?.freqHz ?? 0)[0] >> 6;
  await agc(msbs, 0x30 + msbs, 'TX frequency MSBs');
  await agc(0, 0x30, 'channel select option');
  const onB = ms.reduce((m, c, i) => (c.enable && c.radio === 1 ? m | (1 << i) : m), 0);
  await agc(onB, 0x40, 'radio select');
  // 18. The TIMESTAMP register latches on PPS from now on.
  w('GPS_EN', 1);
  return { calibrationStatus: calStatus, calibrationWarnings, txOffsetI, txOffsetQ };
}
