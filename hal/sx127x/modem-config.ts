/**
 * Pure encoders of the SX1276 LoRa modem registers (sx127x.md §4, §8, §9).
 * No I/O: the modem class writes what these return.
 */
import type { CodeRate, LoraBandwidthHz, SpreadingFactor } from '../types.js';
import { FREQ_STEP_HZ, ModemConfig1, ModemConfig2, ModemConfig3 } from './registers.js';

/** RegFrf for a frequency, rounded to the nearest synthesiser step, as LMN does [sx127x.md §4]. */
export function frfFromHz(freqHz: number): number {
  return Math.round(freqHz / FREQ_STEP_HZ);
}

/** The frequency a RegFrf value really tunes to, Hz (whole Hz). */
export function hzFromFrf(frf: number): number {
  return Math.round(frf * FREQ_STEP_HZ);
}

/** RegFrf as the three bytes written MSB, MID, LSB (the LSB write applies it, datasheet). */
export function frfBytes(freqHz: number): [number, number, number] {
  const frf = frfFromHz(freqHz);
  return [(frf >> 16) & 0xff, (frf >> 8) & 0xff, frf & 0xff];
}

/** Bandwidth codes of ModemConfig1 bits 7:4 for the LoRaWAN bandwidths [sx127x.md §8]. */
const BW_CODE: Record<LoraBandwidthHz, number> = { 125000: 7, 250000: 8, 500000: 9 };
/** Coding-rate codes of ModemConfig1 bits 3:1 [sx127x.md §8]. */
const CR_CODE: Record<CodeRate, number> = { '4/5': 1, '4/6': 2, '4/7': 3, '4/8': 4 };
const CR_BY_CODE: Record<number, CodeRate> = { 1: '4/5', 2: '4/6', 3: '4/7', 4: '4/8' };

/** RegModemConfig1: bandwidth, coding rate, explicit/implicit header. */
export function modemConfig1(bwHz: LoraBandwidthHz, cr: CodeRate, implicitHeader = false): number {
  return (BW_CODE[bwHz] << ModemConfig1.BwShift) | (CR_CODE[cr] << ModemConfig1.CrShift) | (implicitHeader ? ModemConfig1.ImplicitHeaderModeOn : 0);
}

/** RegModemConfig2: spreading factor and payload CRC (symbol-timeout MSBs 0). */
export function modemConfig2(sf: SpreadingFactor, crcOn: boolean): number {
  return (sf << ModemConfig2.SfShift) | (crcOn ? ModemConfig2.RxPayloadCrcOn : 0);
}

/**
 * LowDataRateOptimize: on when the symbol time exceeds 16 ms (SF11/12 at
 * 125 kHz, SF12 at 250 kHz), as LMN `SX1276SetRxConfig` [sx127x.md §8].
 */
export function lowDataRateOptimize(sf: SpreadingFactor, bwHz: LoraBandwidthHz): boolean {
  return (2 ** sf / bwHz) * 1000 > 16;
}

/** RegModemConfig3: AGC auto on, LDRO per {@link lowDataRateOptimize}. */
export function modemConfig3(sf: SpreadingFactor, bwHz: LoraBandwidthHz): number {
  return ModemConfig3.AgcAutoOn | (lowDataRateOptimize(sf, bwHz) ? ModemConfig3.LowDataRateOptimize : 0);
}

/** Coding rate of a received frame from RegModemStat bits 7:5, or undefined for a reserved value. */
export function codeRateFromModemStat(modemStat: number): CodeRate | undefined {
  return CR_BY_CODE[(modemStat >> 5) & 0x07];
}

/** Errata 2.1 register values (0x36, 0x3A or null) for a bandwidth and frequency [sx127x.md §9]. */
export function errata21(bwHz: LoraBandwidthHz, freqHz: number): { highBwOptimize1: number; highBwOptimize2: number | null } {
  if (bwHz !== 500000) return { highBwOptimize1: 0x03, highBwOptimize2: null };
  return { highBwOptimize1: 0x02, highBwOptimize2: freqHz > 525_000_000 ? 0x64 : 0x7f };
}

/** Which SX1276 output pin the board wires to the antenna. */
export type PaOutput = 'PA_BOOST' | 'RFO';

/** PA register values for one power, and the power they really give. */
export interface PaSettings {
  /** RegPaConfig 0x09. */
  paConfig: number;
  /** RegPaDac 0x4D: 0x87 enables the +20 dBm path, 0x84 is the default. */
  paDac: number;
  /** RegOcp 0x0B: 0x31 (140 mA) for +20 dBm, else the default 0x2B (100 mA). */
  ocp: number;
  /** Power the settings produce, dBm, after clamping to what the output supports. */
  powerDbm: number;
}

/**
 * PA settings for `requestedDbm` on `output` [sx127x.md §5]: PA_BOOST covers
 * +2..+17 dBm (OutputPower = P − 2) and +18..+20 dBm with PaDac 0x87
 * (OutputPower = P − 5) and OCP at 140 mA; RFO covers 0..+14 dBm
 * (0x70 | P). Requests outside the range are clamped and the result says so.
 */
export function paSettings(requestedDbm: number, output: PaOutput): PaSettings {
  const p = Math.round(requestedDbm);
  if (output === 'RFO') {
    const powerDbm = Math.min(14, Math.max(0, p));
    return { paConfig: 0x70 | powerDbm, paDac: 0x84, ocp: 0x2b, powerDbm };
  }
  const powerDbm = Math.min(20, Math.max(2, p));
  if (powerDbm > 17) return { paConfig: 0x80 | (powerDbm - 5), paDac: 0x87, ocp: 0x31, powerDbm };
  return { paConfig: 0x80 | (powerDbm - 2), paDac: 0x84, ocp: 0x2b, powerDbm };
}

/**
 * The output power RegPaConfig/RegPaDac select, dBm (the inverse of
 * {@link paSettings}) [sx127x.md §5]: PA_BOOST gives 2 + OutputPower, or
 * 5 + OutputPower with PaDac 0x87; RFO gives Pmax − (15 − OutputPower) with
 * Pmax = 10.8 + 0.6·MaxPower.
 */
export function powerFromPaRegisters(paConfig: number, paDac: number): number {
  const out = paConfig & 0x0f;
  if (paConfig & 0x80) return (paDac & 0x07) === 0x07 ? out + 5 : out + 2;
  const pmax = 10.8 + 0.6 * ((paConfig >> 4) & 0x07);
  return Math.round((pmax - (15 - out)) * 10) / 10;
}
