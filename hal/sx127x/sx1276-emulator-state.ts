/**
 * Pure pieces of the SX1276 emulator: the reset register file, which
 * registers are read-only, decoding the modem settings from the register file,
 * and encoding a received frame's SNR/RSSI into register values.
 */
import type { CodeRate } from '../types.js';
import {
  BANDWIDTH_HZ_BY_CODE,
  FREQ_STEP_HZ,
  InvertIq,
  ModemConfig1,
  ModemConfig2,
  ModemConfig3,
  OpModeBit,
  REG_LAST,
  Reg,
  RF_MID_BAND_THRESH_HZ,
  RssiOffsetDb,
} from './registers.js';

/**
 * Register values after power-on / NRESET, LoRa-relevant addresses only.
 * Addresses not listed read 0x00. Sources: sx127x.md §2/§3/§10 where given,
 * otherwise the SX1276 datasheet register table (marked).
 */
const RESET_VALUES: ReadonlyArray<readonly [number, number]> = [
  [Reg.OpMode, 0x09], // FSK, LF bank, standby (datasheet; §3 says LF is set at reset)
  [Reg.FrfMsb, 0x6c], // 434 MHz (datasheet)
  [Reg.FrfMid, 0x80],
  [Reg.FrfLsb, 0x00],
  [Reg.PaConfig, 0x4f], // (datasheet)
  [Reg.PaRamp, 0x09], // 40 µs, §2
  [Reg.Ocp, 0x2b], // on, 100 mA, §5
  [Reg.Lna, 0x20], // G1, no boost (datasheet)
  [Reg.FifoTxBaseAddr, 0x80], // §2
  [Reg.FifoRxBaseAddr, 0x00], // §2
  [Reg.ModemConfig1, 0x72], // BW125 CR4/5 explicit (datasheet)
  [Reg.ModemConfig2, 0x70], // SF7, CRC off (datasheet)
  [Reg.SymbTimeoutLsb, 0x64], // §2
  [Reg.PreambleMsb, 0x00], // preamble 8, §2
  [Reg.PreambleLsb, 0x08],
  [Reg.PayloadLength, 0x0e], // as listed in §2
  [Reg.PayloadMaxLength, 0xff], // §2
  [Reg.DetectOptimize, 0xc3], // automatic IF on, SF7-12 detection (datasheet)
  [Reg.InvertIQ, 0x27], // §10
  [Reg.DetectionThreshold, 0x0a], // SF7-12, §8
  [Reg.SyncWord, 0x12], // private (datasheet)
  [Reg.InvertIQ2, 0x1d], // normal, §10
  [Reg.PllHop, 0x2d], // (datasheet)
  [Reg.Tcxo, 0x09], // crystal, TcxoInputOn clear (datasheet)
  [Reg.PaDac, 0x84], // §5
];

/** A fresh 128-byte register file at its reset values with RegVersion = `version`. */
export function resetRegisterFile(version: number): Uint8Array {
  const regs = new Uint8Array(REG_LAST + 1);
  for (const [addr, value] of RESET_VALUES) regs[addr] = value;
  regs[Reg.Version] = version;
  return regs;
}

/** Registers the host may not write in LoRa mode (status registers, version). */
const READ_ONLY = new Set<number>([
  Reg.FifoRxCurrentAddr,
  Reg.RxNbBytes,
  Reg.RxHeaderCntValueMsb,
  Reg.RxHeaderCntValueLsb,
  Reg.RxPacketCntValueMsb,
  Reg.RxPacketCntValueLsb,
  Reg.ModemStat,
  Reg.PktSnrValue,
  Reg.PktRssiValue,
  Reg.RssiValue,
  Reg.HopChannel,
  Reg.FifoRxByteAddr,
  Reg.FeiMsb,
  Reg.FeiMid,
  Reg.FeiLsb,
  Reg.RssiWideband,
  Reg.Version,
]);

/** True when `addr` is a read-only register. */
export function isReadOnly(addr: number): boolean {
  return READ_ONLY.has(addr);
}

/** True for addresses 0x0D..0x3F, which hold FSK registers unless the LoRa page is selected. */
export function isLoraPageRegister(addr: number): boolean {
  return addr >= Reg.FifoAddrPtr && addr <= 0x3f;
}

/** Modem settings decoded from the register file at one instant. */
export interface ModemSettings {
  /** RegOpMode bit 7. */
  loraMode: boolean;
  /** Carrier frequency in Hz, Frf · 32 MHz / 2^19. */
  freqHz: number;
  /** Raw 24-bit Frf. */
  frf: number;
  /** RegModemConfig2 bits 7:4. */
  spreadingFactor: number;
  /** Bandwidth in Hz, or NaN for a reserved code. */
  bandwidthHz: number;
  /** Coding rate, or undefined for a reserved code. */
  codeRate: CodeRate | undefined;
  /** RegModemConfig1 bit 0. */
  implicitHeader: boolean;
  /** RegModemConfig2 bit 2. */
  crcOn: boolean;
  /** RegModemConfig3 bit 3. */
  lowDataRateOptimize: boolean;
  /** Preamble length in symbols. */
  preambleSymbols: number;
  /** TX I/Q inverted: RegInvertIQ bit 0 clear and RegInvertIQ2 = 0x19 (§10). */
  txIqInverted: boolean;
  /** RX I/Q inverted: RegInvertIQ bit 6 set (§10). */
  rxIqInverted: boolean;
  /** RegSyncWord. */
  syncWord: number;
  /** RegPayloadLength. */
  payloadLength: number;
}

const CODE_RATES: ReadonlyArray<CodeRate | undefined> = [undefined, '4/5', '4/6', '4/7', '4/8'];

/** Decode the modem settings from a register file (SX1276 layout, sx127x.md §4, §8, §10). */
export function decodeModem(regs: Uint8Array): ModemSettings {
  const r = (a: number): number => regs[a] ?? 0;
  const frf = (r(Reg.FrfMsb) << 16) | (r(Reg.FrfMid) << 8) | r(Reg.FrfLsb);
  const mc1 = r(Reg.ModemConfig1);
  const mc2 = r(Reg.ModemConfig2);
  return {
    loraMode: (r(Reg.OpMode) & OpModeBit.LongRangeMode) !== 0,
    frf,
    freqHz: Math.round(frf * FREQ_STEP_HZ),
    spreadingFactor: (mc2 & ModemConfig2.SfMask) >> ModemConfig2.SfShift,
    bandwidthHz: BANDWIDTH_HZ_BY_CODE[(mc1 & ModemConfig1.BwMask) >> ModemConfig1.BwShift] ?? NaN,
    codeRate: CODE_RATES[(mc1 & ModemConfig1.CrMask) >> ModemConfig1.CrShift],
    implicitHeader: (mc1 & ModemConfig1.ImplicitHeaderModeOn) !== 0,
    crcOn: (mc2 & ModemConfig2.RxPayloadCrcOn) !== 0,
    lowDataRateOptimize: (r(Reg.ModemConfig3) & ModemConfig3.LowDataRateOptimize) !== 0,
    preambleSymbols: (r(Reg.PreambleMsb) << 8) | r(Reg.PreambleLsb),
    txIqInverted: (r(Reg.InvertIQ) & InvertIq.TxNormalBit) === 0 && r(Reg.InvertIQ2) === InvertIq.Iq2Inverted,
    rxIqInverted: (r(Reg.InvertIQ) & InvertIq.RxBit) !== 0,
    syncWord: r(Reg.SyncWord),
    payloadLength: r(Reg.PayloadLength),
  };
}

/** RegPktSnrValue for an SNR in dB: SNR·4 rounded, clamped to int8, two's complement (§11). */
export function encodeSnr(snrDb: number): number {
  const q = Math.max(-128, Math.min(127, Math.round(snrDb * 4)));
  return q & 0xff;
}

/** Inverse of {@link encodeSnr}: the SNR in dB a register byte stands for. */
export function decodeSnr(reg: number): number {
  return ((reg << 24) >> 24) / 4;
}

/** Packet RSSI offset for a carrier frequency: HF above 525 MHz, else LF (§11). */
export function rssiOffsetDb(freqHz: number): number {
  return freqHz > RF_MID_BAND_THRESH_HZ ? RssiOffsetDb.HF : RssiOffsetDb.LF;
}

/**
 * The packet RSSI a reader computes from the registers per sx127x.md §11:
 * offset + Pkt + Pkt>>4, plus the SNR when it is negative.
 */
export function packetRssiDbm(pktRssiReg: number, snrReg: number, freqHz: number): number {
  const snr = decodeSnr(snrReg);
  const base = rssiOffsetDb(freqHz) + pktRssiReg + (pktRssiReg >> 4);
  return snr < 0 ? base + snr : base;
}

/**
 * RegPktRssiValue for a frame received at `rssiDbm`: the byte whose
 * {@link packetRssiDbm} is closest (ties to the lower byte), so a driver that
 * applies §11 reads back the injected RSSI within the register's resolution.
 */
export function encodePktRssi(rssiDbm: number, snrReg: number, freqHz: number): number {
  let best = 0;
  let bestErr = Infinity;
  for (let v = 0; v <= 0xff; v++) {
    const err = Math.abs(packetRssiDbm(v, snrReg, freqHz) - rssiDbm);
    if (err < bestErr) {
      best = v;
      bestErr = err;
    }
  }
  return best;
}
