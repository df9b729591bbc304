/**
 * Radio-level types shared by every concentrator implementation.
 *
 * Units are part of the names: `freqHz`, `countUs`, `powerDbm`, `bandwidthHz`.
 * Counter values (`countUs`) are the concentrator's free-running 32-bit
 * microsecond counter: always an integer in [0, 2^32), wrapping about every 71.6 min.
 */

/** Modulation of a radio frame. */
export type Modulation = 'LORA' | 'FSK';

/** LoRa coding rate as written on the Semtech UDP wire. */
export type CodeRate = '4/5' | '4/6' | '4/7' | '4/8';

/** LoRa spreading factors the SX127x / SX1301 demodulate. */
export type SpreadingFactor = 7 | 8 | 9 | 10 | 11 | 12;

/** LoRa channel bandwidths the SX1301 supports. */
export type LoraBandwidthHz = 125000 | 250000 | 500000;

/** CRC status of a received frame (rxpk `stat`: 1, -1, 0). */
export type CrcStatus = 'ok' | 'bad' | 'none';

/** Modulation parameters of a frame, LoRa or FSK. */
export type RadioParams =
  | {
      modulation: 'LORA';
      spreadingFactor: SpreadingFactor;
      bandwidthHz: LoraBandwidthHz;
      codeRate: CodeRate;
    }
  | {
      modulation: 'FSK';
      datarateBps: number;
    };

/** A frame received by the concentrator, as fetched by `Concentrator.receive()`. */
export interface RxPacket {
  /** Counter value at the end of reception ("RX finished"), u32 µs. */
  countUs: number;
  /** Centre frequency of the IF channel that received it, Hz. */
  freqHz: number;
  /** IF chain index (rxpk `chan`): 0-7 multi-SF, 8 LoRa std, 9 FSK on the SX1301. */
  ifChain: number;
  /** RF chain (radio) index (rxpk `rfch`). */
  rfChain: number;
  crcStatus: CrcStatus;
  radio: RadioParams;
  /** RSSI of the frame, dBm (may be fractional; the wire rounds it). */
  rssiDbm: number;
  /** LoRa SNR in dB; undefined for FSK. */
  snrDb?: number;
  payload: Uint8Array;
}

/** How a downlink is triggered. */
export type TxMode =
  /** Emit as soon as possible. */
  | 'immediate'
  /** Emit when the counter equals `countUs`. */
  | 'timestamped'
  /** Emit on the next PPS edge (Class B beacons). */
  | 'on-pps';

/** A frame to emit, as handed to `Concentrator.send()`. */
export interface TxPacket {
  mode: TxMode;
  /** Target counter value for 'timestamped', u32 µs; ignored otherwise. */
  countUs: number;
  freqHz: number;
  rfChain: number;
  /** Conducted power at the chip, dBm (antenna gain already subtracted). */
  powerDbm: number;
  radio: RadioParams;
  /** FSK frequency deviation, Hz (FSK only). */
  fdevHz?: number;
  /** LoRa I/Q inversion: true for downlinks to LoRaWAN end devices. */
  invertPolarity: boolean;
  /** Preamble length in symbols (LoRa) or bytes (FSK). */
  preambleSymbols: number;
  /** Disable the physical-layer CRC. */
  noCrc: boolean;
  /** LoRa implicit header (beacons). */
  noHeader: boolean;
  payload: Uint8Array;
  /**
   * The server asked for it immediately (`imme`); the JIT queue placed it at
   * `countUs`. Radios ignore it; the simulator reports the emission as
   * immediate (`target_us` null, `"imme": true`), as the air contract says.
   */
  immediate?: boolean;
}

/** State of the transmitter, as the SX1301 `lgw_status(TX_STATUS)` reports it. */
export type TxStatus = 'off' | 'free' | 'scheduled' | 'emitting';

/**
 * Result of `Concentrator.send()`. Expected refusals are values named in the
 * TX_ACK vocabulary where one exists; I/O faults are thrown with a `code`.
 */
export type SendResult =
  | { ok: true }
  | { ok: false; error: 'TX_FREQ' | 'TX_POWER' | 'BUSY' | 'NOT_STARTED' | 'INVALID'; detail: string };

/** One radio (RF chain) of the board configuration. */
export interface RadioConfig {
  enable: boolean;
  /** Radio chip, e.g. "SX1257", "SX1255", "SX1276". */
  type: string;
  /** Centre frequency of the radio, Hz. */
  freqHz: number;
  /** RSSI calibration offset, dB. */
  rssiOffsetDb: number;
  txEnable: boolean;
  txFreqMinHz: number;
  txFreqMaxHz: number;
}

/** One multi-SF LoRa IF channel. */
export interface MultiSfChannelConfig {
  enable: boolean;
  /** Index of the radio this channel is fed from. */
  radio: number;
  /** Offset from the radio's centre frequency, Hz. */
  ifHz: number;
}

/** The single-SF "standard" LoRa channel. */
export interface LoraStdChannelConfig {
  enable: boolean;
  radio: number;
  ifHz: number;
  bandwidthHz: LoraBandwidthHz;
  spreadingFactor: SpreadingFactor;
}

/** The FSK channel. */
export interface FskChannelConfig {
  enable: boolean;
  radio: number;
  ifHz: number;
  bandwidthHz: number;
  datarateBps: number;
  fdevHz: number;
}

/** One entry of the TX gain table. */
export interface TxGainEntry {
  /** Output power this entry produces, dBm. */
  rfPowerDbm: number;
  paGain: number;
  dacGain: number;
  digGain: number;
  mixGain: number;
}

/** Board configuration: the channel plan, radios and TX gain table (SX1301_conf). */
export interface BoardConfig {
  lorawanPublic: boolean;
  clockSource: number;
  /** Antenna gain, dBi (the forwarder subtracts it from requested power). */
  antennaGainDbi: number;
  radios: RadioConfig[];
  /** Exactly 8 entries (chan_multiSF_0..7); disabled ones have enable=false. */
  multiSfChannels: MultiSfChannelConfig[];
  loraStdChannel: LoraStdChannelConfig;
  fskChannel: FskChannelConfig;
  txLut: TxGainEntry[];
}

/** Wraps any number into the u32 counter domain. */
export function u32(value: number): number {
  return value >>> 0;
}

/**
 * Signed distance in µs from `fromUs` to `toUs` on the wrapping u32 counter:
 * positive when `toUs` is ahead, negative when it is behind (range ±2^31).
 */
export function counterDiffUs(toUs: number, fromUs: number): number {
  return ((toUs - fromUs) | 0);
}
