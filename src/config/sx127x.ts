/**
 * `SX127x_conf`: the single-channel radio (SX1276/RFM95). A `board` preset
 * (hal/sx127x/boards, each citing its source) fills in the wiring; any key
 * given explicitly overrides it. Required when `gateway_conf.radio` is "sx127x".
 */
import { SX127X_BOARDS, type BoardConfig, type CodeRate, type LoraBandwidthHz, type PaOutput, type SpreadingFactor, type Sx127xBoard } from '../../hal/index.js';
import { INVALID, int, nullable, oneOf, str, type KeyTable, type Rule, type Section } from './section.js';

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
  /** TX range, Hz; defaults to SX1301_conf radio_0's (the region plan in the same file). */
  txFreqMinHz: number;
  txFreqMaxHz: number;
  /** µs subtracted from the DIO0 callback time to stamp frames, or "auto" (measured on TxDone). */
  dio0LatencyUs: number | 'auto';
  /** RegIrqFlags poll period when no DIO0 pin is wired, ms. */
  pollIntervalMs: number;
}

/** Wiring used when no preset is named. */
const CUSTOM: Sx127xBoard = {
  name: 'custom', description: 'custom wiring', spiDevice: '/dev/spidev0.0', csPinBcm: null, resetPinBcm: null,
  dio0PinBcm: null, paOutput: 'PA_BOOST', source: 'SX127x_conf keys',
};

/** `/dev/spidevB.D`, or "emulator" (the register-level SX1276 emulator on the virtual air of sim_conf). */
const spiDevice = str('a spidev path such as /dev/spidev0.0, or "emulator"', (v) => (v === 'emulator' || /^\/dev\/spidev\d+\.\d+$/.test(v) ? v : undefined));

/** "auto" or a whole number of µs. */
const latency: Rule<number | 'auto'> = {
  expected: '"auto" or an integer 0..10000 (µs)',
  parse: (v) => (v === 'auto' ? 'auto' : typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 10_000 ? v : INVALID),
};

const freq = int(137_000_000, 1_020_000_000, 'an integer 137000000..1020000000 (Hz, SX1276 range)');

/** A BCM pin on the 40-pin header, or null. */
const pin = nullable(int(0, 27, 'a BCM GPIO number 0..27'));

/** The key table, with the preset's wiring as defaults. */
function keys(b: Sx127xBoard, tx: TxRange): KeyTable<Omit<Sx127xConf, 'board'>> {
  return {
    spiDevice: { key: 'spi_device', rule: spiDevice, default: b.spiDevice, doc: 'SPI device of the radio, or "emulator"' },
    spiSpeedHz: { key: 'spi_speed_hz', rule: int(100_000, 10_000_000), default: 8_000_000, doc: 'SPI clock, Hz (SX1276 max 10 MHz; 8 MHz is safe, sx127x.md §1)' },
    csPinBcm: { key: 'cs_pin', rule: pin, default: b.csPinBcm, doc: 'GPIO chip select (BCM), null = the spidev CE line' },
    resetPinBcm: { key: 'reset_pin', rule: pin, default: b.resetPinBcm, doc: 'NRESET pin (BCM), null = not wired' },
    dio0PinBcm: { key: 'dio0_pin', rule: pin, default: b.dio0PinBcm, doc: 'DIO0 pin (BCM) for RxDone/TxDone, null = poll RegIrqFlags' },
    freqHz: { key: 'freq', rule: freq, default: 868_100_000, doc: 'receive frequency, Hz' },
    spreadingFactor: { key: 'spread_factor', rule: oneOf([7, 8, 9, 10, 11, 12] as const), default: 7, doc: 'receive spreading factor' },
    bandwidthHz: { key: 'bandwidth', rule: oneOf([125000, 250000, 500000] as const), default: 125000, doc: 'receive bandwidth, Hz' },
    codeRate: { key: 'coderate', rule: oneOf(['4/5', '4/6', '4/7', '4/8'] as const), default: '4/5', doc: 'receive coding rate' },
    syncWord: { key: 'sync_word', rule: int(0, 255, 'an integer 0..255 (52 = 0x34 public LoRaWAN, 18 = 0x12 private)'), default: 0x34, doc: 'LoRa sync word' },
    txPowerMaxDbm: { key: 'tx_power_max', rule: int(0, 20, 'an integer 0..20 (dBm)'), default: 14, doc: 'highest conducted TX power the radio may use, dBm' },
    paOutput: { key: 'pa_output', rule: oneOf(['PA_BOOST', 'RFO'] as const), default: b.paOutput, doc: 'PA pin wired to the antenna (RFM95 boards: PA_BOOST)' },
    txFreqMinHz: { key: 'tx_freq_min', rule: freq, default: tx.min, doc: 'lowest TX frequency, Hz (default: SX1301_conf.radio_0.tx_freq_min)' },
    txFreqMaxHz: { key: 'tx_freq_max', rule: freq, default: tx.max, doc: 'highest TX frequency, Hz (default: SX1301_conf.radio_0.tx_freq_max)' },
    dio0LatencyUs: { key: 'dio0_latency_us', rule: latency, default: 'auto', doc: 'DIO0 edge → callback latency subtracted from tmst, µs; "auto" measures it on each TxDone' },
    pollIntervalMs: { key: 'poll_interval_ms', rule: int(1, 100), default: 1, doc: 'RegIrqFlags poll period without a DIO0 pin, ms' },
  };
}

/** TX range defaults. */
export interface TxRange {
  min: number;
  max: number;
}

/**
 * Reads `SX127x_conf`. `tx` gives the default TX range (the SX1301_conf
 * radio_0 range of the same file, i.e. the region's plan).
 */
export function readSx127xConf(sec: Section, tx: TxRange): Sx127xConf {
  const board = sec.get('board', oneOf(['custom', ...Object.keys(SX127X_BOARDS)]), 'custom');
  const preset = SX127X_BOARDS[board] ?? CUSTOM;
  const conf: Sx127xConf = { board, ...sec.table(keys(preset, tx)) };
  if (conf.paOutput === 'RFO' && conf.txPowerMaxDbm > 14) {
    sec.fail('tx_power_max', 'at most 14 dBm with pa_output "RFO"', conf.txPowerMaxDbm);
  }
  const minPower = conf.paOutput === 'RFO' ? 0 : 2;
  if (conf.txPowerMaxDbm < minPower) sec.fail('tx_power_max', `at least ${minPower} dBm with pa_output "${conf.paOutput}"`, conf.txPowerMaxDbm);
  if (conf.txFreqMinHz > conf.txFreqMaxHz) sec.fail('tx_freq_max', `at least tx_freq_min (${conf.txFreqMinHz})`, conf.txFreqMaxHz);
  sec.warnUnknown();
  return conf;
}

/**
 * The board the forwarder schedules against when the radio is an SX127x: one
 * RF chain (the receive channel, TX within the configured range) and a TX
 * "gain table" of the whole dBm the PA output can produce up to
 * `tx_power_max` (PA_BOOST from 2, RFO from 0 dBm [sx127x.md §5]), so the
 * scheduler's closest-lower power rule applies unchanged.
 */
export function sx127xBoardConfig(sx: Sx127xConf, base: BoardConfig): BoardConfig {
  const minPower = sx.paOutput === 'RFO' ? 0 : 2;
  const txLut = [];
  for (let p = minPower; p <= sx.txPowerMaxDbm; p++) txLut.push({ rfPowerDbm: p, paGain: 0, dacGain: 0, digGain: 0, mixGain: 0 });
  return {
    ...base,
    lorawanPublic: sx.syncWord === 0x34,
    radios: [{
      enable: true, type: 'SX1276', freqHz: sx.freqHz, rssiOffsetDb: 0, txEnable: true,
      txFreqMinHz: sx.txFreqMinHz, txFreqMaxHz: sx.txFreqMaxHz,
    }],
    multiSfChannels: base.multiSfChannels.map((c) => ({ ...c, enable: false })),
    loraStdChannel: { ...base.loraStdChannel, enable: false },
    fskChannel: { ...base.fskChannel, enable: false },
    txLut,
  };
}
