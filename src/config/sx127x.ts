/**
 * `SX127x_conf`: the single-channel radio (SX1276/RFM95). A `board` preset
 * (hal/sx127x/boards, each citing its source) fills in the wiring; any key
 * given explicitly overrides it. Required when `gateway_conf.radio` is "sx127x".
 */
import { SX127X_BOARDS, type CodeRate, type LoraBandwidthHz, type PaOutput, type SpreadingFactor, type Sx127xBoard } from '../../hal/index.js';
import { int, nullable, oneOf, str, type KeyTable, type Section } from './section.js';

/** The single-channel radio's settings. */
export interface Sx127xConf {
  /** Preset name, or "custom" when the wiring is given key by key. */
  board: string;
  spiDevice: string;
  spiSpeedHz: number;
  csPinBcm: number | null;
  resetPinBcm: number | null;
  dio0PinBcm: number | null;
  freqHz: number;
  spreadingFactor: SpreadingFactor;
  bandwidthHz: LoraBandwidthHz;
  codeRate: CodeRate;
  syncWord: number;
  txPowerMaxDbm: number;
  paOutput: PaOutput;
}

/** Wiring used when no preset is named. */
const CUSTOM: Sx127xBoard = {
  name: 'custom', description: 'custom wiring', spiDevice: '/dev/spidev0.0', csPinBcm: null, resetPinBcm: null,
  dio0PinBcm: null, paOutput: 'PA_BOOST', source: 'SX127x_conf keys',
};

/** A BCM pin on the 40-pin header, or null. */
const pin = nullable(int(0, 27, 'a BCM GPIO number 0..27'));

/** The key table, with the preset's wiring as defaults. */
function keys(b: Sx127xBoard): KeyTable<Omit<Sx127xConf, 'board'>> {
  return {
    spiDevice: { key: 'spi_device', rule: str('a spidev path such as /dev/spidev0.0'), default: b.spiDevice, doc: 'SPI device of the radio' },
    spiSpeedHz: { key: 'spi_speed_hz', rule: int(100_000, 10_000_000), default: 8_000_000, doc: 'SPI clock, Hz (SX1276 max 10 MHz; 8 MHz is safe, sx127x.md §1)' },
    csPinBcm: { key: 'cs_pin', rule: pin, default: b.csPinBcm, doc: 'GPIO chip select (BCM), null = the spidev CE line' },
    resetPinBcm: { key: 'reset_pin', rule: pin, default: b.resetPinBcm, doc: 'NRESET pin (BCM), null = not wired' },
    dio0PinBcm: { key: 'dio0_pin', rule: pin, default: b.dio0PinBcm, doc: 'DIO0 pin (BCM) for RxDone/TxDone, null = poll RegIrqFlags' },
    freqHz: { key: 'freq', rule: int(137_000_000, 1_020_000_000, 'an integer 137000000..1020000000 (Hz, SX1276 range)'), default: 868_100_000, doc: 'receive frequency, Hz' },
    spreadingFactor: { key: 'spread_factor', rule: oneOf([7, 8, 9, 10, 11, 12] as const), default: 7, doc: 'receive spreading factor' },
    bandwidthHz: { key: 'bandwidth', rule: oneOf([125000, 250000, 500000] as const), default: 125000, doc: 'receive bandwidth, Hz' },
    codeRate: { key: 'coderate', rule: oneOf(['4/5', '4/6', '4/7', '4/8'] as const), default: '4/5', doc: 'receive coding rate' },
    syncWord: { key: 'sync_word', rule: int(0, 255, 'an integer 0..255 (52 = 0x34 public LoRaWAN, 18 = 0x12 private)'), default: 0x34, doc: 'LoRa sync word' },
    txPowerMaxDbm: { key: 'tx_power_max', rule: int(0, 20, 'an integer 0..20 (dBm)'), default: 14, doc: 'highest conducted TX power the radio may use, dBm' },
    paOutput: { key: 'pa_output', rule: oneOf(['PA_BOOST', 'RFO'] as const), default: b.paOutput, doc: 'PA pin wired to the antenna (RFM95 boards: PA_BOOST)' },
  };
}

/** Reads `SX127x_conf`. */
export function readSx127xConf(sec: Section): Sx127xConf {
  const board = sec.get('board', oneOf(['custom', ...Object.keys(SX127X_BOARDS)]), 'custom');
  const preset = SX127X_BOARDS[board] ?? CUSTOM;
  const conf: Sx127xConf = { board, ...sec.table(keys(preset)) };
  if (conf.paOutput === 'RFO' && conf.txPowerMaxDbm > 14) {
    sec.fail('tx_power_max', 'at most 14 dBm with pa_output "RFO"', conf.txPowerMaxDbm);
  }
  sec.warnUnknown();
  return conf;
}
