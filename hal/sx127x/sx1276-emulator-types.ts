/**
 * Public data shapes of the SX1276 emulator: its options, what it records
 * (SPI transactions, transmissions) and the frames a test injects.
 */
import type { CodeRate, CrcStatus } from '../types.js';
import type { ModemSettings } from './sx1276-emulator-state.js';

/** Construction options of `Sx1276Emulator`. */
export interface Sx1276EmulatorOptions {
  /** Monotonic clock in µs; the only time source the emulator uses. */
  now: () => number;
  /**
   * RegVersion to present: 0x12 (SX1276, default) or 0x22 (SX1272). 0x00 or
   * 0xFF make a radio that does not answer: every byte read is that value and
   * writes have no effect (as with MISO stuck low or high).
   */
  version?: number;
  /**
   * Keep only about this many newest entries in `transactions`, `txEvents`
   * and `modeChanges` (long runs: the benchmark); default unbounded.
   */
  maxRecords?: number;
}

/** One SPI transaction as seen on the bus. */
export interface SpiTransaction {
  /** `now()` when the transaction happened. */
  atUs: number;
  /** True for a write (address bit 7 set). */
  write: boolean;
  /** Register address (bit 7 cleared). */
  addr: number;
  /** Data bytes: written by the host, or returned by the chip on a read. */
  data: Buffer;
}

/** A transmission the emulated chip started. */
export interface EmulatedTx {
  /** `now()` at the RegOpMode = TX write. */
  startUs: number;
  /** startUs + airtimeUs: when TxDone is raised. */
  endUs: number;
  /** Time on air computed from the register settings. */
  airtimeUs: number;
  /** Copy of the whole register file at the moment TX started. */
  registers: Uint8Array;
  /** RegPayloadLength bytes taken from the FIFO at RegFifoTxBaseAddr. */
  payload: Buffer;
  /** The modem settings decoded from `registers`. */
  settings: ModemSettings;
  /** Set when the host left TX mode before TxDone (the frame was cut). */
  abortedAtUs?: number;
}

/** A frame on the air, ending now, offered to the receiver by a test. */
export interface InjectedFrame {
  /** PHY payload, 1..255 bytes. */
  payload: Uint8Array;
  /** Spreading factor the frame was sent with. */
  sf: number;
  /** Bandwidth in Hz the frame was sent with. */
  bwHz: number;
  /** 'ok' / 'bad': the header announces a CRC that matches / does not; 'none': no CRC. */
  crc: CrcStatus;
  /** Packet RSSI in dBm as the §11 formula should read it back. */
  rssiDbm: number;
  /** Packet SNR in dB (stored in 0.25 dB steps). */
  snrDb: number;
  /** Carrier frequency; when given, must be within a quarter bandwidth of Frf. */
  freqHz?: number;
  /** Coding rate in the header (RegModemStat bits 7:5); default 4/5. */
  codeRate?: CodeRate;
  /** Sync word the frame was sent with; default 0x34 (LoRaWAN public). */
  syncWord?: number;
  /** True for inverted I/Q (a downlink); default false (an uplink). */
  iqInverted?: boolean;
}
