/** Shapes of the SX1301 emulator's interface (sx1301-emulator.ts). */
import type { DecodedTxBuffer } from './tx-metadata.js';

/** One SPI transaction as the emulated chip saw it. */
export interface Sx1301Transaction {
  write: boolean;
  addr: number;
  /** Page in PAGE_REG when the transaction started. */
  page: number;
  data: Buffer;
}

/** Options of {@link Sx1301Emulator}. */
export interface Sx1301EmulatorOptions {
  /** The images the MCUs recognise (default: the known images, by SHA-256). */
  firmware?: { cal: Uint8Array; agc: Uint8Array; arb: Uint8Array };
  /** Counter value at construction (default 0). */
  counterStartUs?: number;
  /** Radio chips A and B (default SX1257), for the TX frequency. */
  radioTypes?: ['SX1257' | 'SX1255', 'SX1257' | 'SX1255'];
  /** Calibration status bits (1-6) the calibration leaves clear. */
  calibrationFailures?: number;
  /** The SX125x PLLs never lock. */
  pllNeverLocks?: boolean;
  /** VERSION reads this instead of 103. */
  version?: number;
}

/** A packet on the air for {@link Sx1301Emulator.injectPacket}. */
export interface Sx1301AirPacket {
  /** 0-7 multi-SF, 8 LoRa standard channel, 9 FSK. */
  ifChain: number;
  payload: Uint8Array;
  /** LoRa SF (ignored for FSK). */
  sf?: number;
  /** Coding rate code 1-4 (4/5..4/8; ignored for FSK). */
  cr?: number;
  crc: 'ok' | 'bad' | 'none';
  snrDb?: number;
  snrMinDb?: number;
  snrMaxDb?: number;
  /** RSSI byte the chip reports (before the driver's offsets). */
  rssiRaw?: number;
  /** Counter value the chip latches (default: the counter now). The packet is in the FIFO from then. */
  rawTimestamp?: number;
  crc16?: number;
}

/** A frame the emulated chip put on the air: its decoded TX buffer (tx-metadata.ts) and when and where it went. */
export interface Sx1301Emission extends Omit<DecodedTxBuffer, 'pll' | 'pllBits' | 'triggerCount'> {
  /** FSK: the sync word the frame starts with (hex), from FSK_TX_PSIZE and FSK_REF_PATTERN at the trigger. */
  fskSyncWord?: string;
  trigger: 'immediate' | 'timestamped' | 'pps';
  /** Counter value when the RF frame started. */
  startUs: number;
  airtimeUs: number;
  freqHz: number;
  /** TX_START_DELAY when triggered, µs. */
  startDelayUs: number;
  /** The TX buffer bytes that were decoded (metadata and payload). */
  buffer: Buffer;
}

/** Addresses whose bursts stream through one port instead of incrementing. */
export const DATA_PORTS: ReadonlySet<number> = new Set([4, 6, 8, 10]);
