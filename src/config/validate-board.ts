/**
 * `SX1301_conf` → hal `BoardConfig`: radios, IF channels and the TX LUT.
 *
 * Rule: every key's own domain (type, range, enumeration) is always
 * checked; relations between keys (channel on an enabled radio, IF inside
 * the radio's band, TX range) are checked only for enabled radios/channels,
 * as the HAL ignores "most parameters" of a disabled IF chain
 * [HAL5 loragw_hal.c lgw_rxif_setconf]. Absent channels are disabled.
 */
import { SX1301_LINK_KEYS } from './sx1301.js';
import type {
  BoardConfig,
  FskChannelConfig,
  LoraBandwidthHz,
  LoraStdChannelConfig,
  MultiSfChannelConfig,
  RadioConfig,
  SpreadingFactor,
} from '../../hal/index.js';
import { bool, int, num, oneOf, type Section } from './section.js';
import { readTxLut } from './tx-lut.js';

const U32_MAX = 0xffffffff;
/** Number of multi-SF IF chains (chan_multiSF_0..7) [HAL5 LGW_MULTI_NB]. */
const MULTI_SF_COUNT = 8;
/** Number of radios (RF chains) [HAL5 LGW_RF_CHAIN_NB]. */
const RADIO_COUNT = 2;

/** SX1255/SX1257 for the SX1301; SX1272/SX1276 accepted for single-channel boards. */
const RADIO_TYPES = ['SX1255', 'SX1257', 'SX1272', 'SX1276'] as const;
const LORA_BANDWIDTHS: readonly LoraBandwidthHz[] = [125000, 250000, 500000];
const SPREADING_FACTORS: readonly SpreadingFactor[] = [7, 8, 9, 10, 11, 12];
/** FSK channel bandwidths; PF4 rounds the configured value up to one of these [PF4 parse_SX1301_configuration]. */
const FSK_BANDWIDTHS = [7800, 15600, 31200, 62500, 125000, 250000, 500000] as const;

const anyInt = (what: string) => int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, `an integer (${what})`);
const hz = int(0, U32_MAX, 'an integer 0..4294967295 (Hz)');

/**
 * Radio bandwidth the HAL assumes around a channel of `channelBwHz`:
 * 925 kHz up to 125 kHz channels, 1000 kHz for 250, 1100 kHz for 500
 * [HAL5 LGW_RF_RX_BANDWIDTH_125KHZ/250KHZ/500KHZ].
 */
export function radioBandwidthHz(channelBwHz: number): number {
  if (channelBwHz === 500000) return 1100000;
  if (channelBwHz === 250000) return 1000000;
  return 925000;
}

/** Reads `SX1301_conf` into a BoardConfig; throws ConfigError on the first bad key. */
export function readBoardConf(sx: Section): BoardConfig {
  const lorawanPublic = sx.get('lorawan_public', bool, false);
  const clockSource = sx.get('clksrc', int(0, 1, '0 or 1 (the radio that clocks the SX1301)'), 0);
  const antennaGainDbi = sx.get('antenna_gain', num(-128, 127, 'a number -128..127 (dBi)'), 0);
  const radios: RadioConfig[] = [];
  for (let i = 0; i < RADIO_COUNT; i++) radios.push(readRadio(sx.child(`radio_${i}`)));
  const multiSfChannels: MultiSfChannelConfig[] = [];
  for (let i = 0; i < MULTI_SF_COUNT; i++) {
    const c = sx.child(`chan_multiSF_${i}`);
    const ch = readIfChannel(c);
    // Multi-SF demodulators are fixed at 125 kHz [HAL5 IF_LORA_MULTI].
    if (ch.enable) checkOnRadio(c, ch.radio, ch.ifHz, 125000, radios);
    c.warnUnknown();
    multiSfChannels.push(ch);
  }
  const loraStdChannel = readLoraStd(sx.child('chan_Lora_std'), radios);
  const fskChannel = readFsk(sx.child('chan_FSK'), radios);
  const txLut = readTxLut(sx);
  sx.known(...SX1301_LINK_KEYS); // read by readSx1301Link
  sx.warnUnknown({ lbt_cfg: 'listen-before-talk is not supported, ignored' });
  return { lorawanPublic, clockSource, antennaGainDbi, radios, multiSfChannels, loraStdChannel, fskChannel, txLut };
}

function readRadio(r: Section): RadioConfig {
  const radio: RadioConfig = {
    enable: r.get('enable', bool, false),
    type: r.get('type', oneOf(RADIO_TYPES, 'one of "SX1255", "SX1257" (or "SX1272", "SX1276")'), 'SX1257'),
    freqHz: r.get('freq', hz, 0),
    rssiOffsetDb: r.get('rssi_offset', num(-1000, 1000, 'a number (dB)'), 0),
    txEnable: r.get('tx_enable', bool, false),
    txFreqMinHz: r.get('tx_freq_min', hz, 0),
    txFreqMaxHz: r.get('tx_freq_max', hz, 0),
  };
  // Only used by HAL5 for US boards with a notch filter; accepted and ignored.
  r.get('tx_notch_freq', hz, 0);
  if (radio.enable) {
    // PF4 would pass a NULL type to strncmp and a 0 Hz radio cannot receive.
    if (!r.has('type')) r.fail('type', 'the radio chip name for an enabled radio ("SX1257" or "SX1255")', undefined);
    if (radio.freqHz === 0) r.fail('freq', 'a centre frequency > 0 Hz for an enabled radio', r.raw('freq'));
  }
  if (radio.txEnable && radio.txFreqMinHz >= radio.txFreqMaxHz) {
    r.fail('tx_freq_max', `a frequency above tx_freq_min (${radio.txFreqMinHz} Hz) when tx_enable is true`, r.raw('tx_freq_max'));
  }
  r.warnUnknown();
  return radio;
}

/** The keys every IF channel has: enable, radio, if. */
function readIfChannel(c: Section): MultiSfChannelConfig {
  return {
    enable: c.get('enable', bool, false),
    radio: c.get('radio', oneOf([0, 1] as const, '0 or 1 (radio_0 or radio_1)'), 0),
    ifHz: c.get('if', anyInt('Hz offset from the radio frequency'), 0),
  };
}

/** An enabled channel must sit on an enabled radio, inside that radio's band [HAL5 lgw_rxif_setconf]. */
function checkOnRadio(c: Section, radio: number, ifHz: number, channelBwHz: number, radios: RadioConfig[]): void {
  if (!radios[radio]?.enable) c.fail('radio', `an enabled radio (radio_${radio} is disabled)`, c.raw('radio') ?? radio);
  const rfBw = radioBandwidthHz(channelBwHz);
  const maxIf = rfBw / 2 - channelBwHz / 2;
  if (Math.abs(ifHz) > maxIf) {
    c.fail(
      'if',
      `|if| + bandwidth/2 within radio_${radio}'s ${rfBw / 1000} kHz bandwidth (|if| <= ${maxIf} Hz for ${channelBwHz / 1000} kHz)`,
      ifHz,
    );
  }
}

function readLoraStd(c: Section, radios: RadioConfig[]): LoraStdChannelConfig {
  const base = readIfChannel(c);
  // Absent bandwidth/SF take the HAL defaults, 250 kHz and SF9 [HAL5 lgw_rxif_setconf IF_LORA_STD].
  const bandwidthHz = c.get('bandwidth', oneOf(LORA_BANDWIDTHS), 250000);
  const spreadingFactor = c.get('spread_factor', oneOf(SPREADING_FACTORS, 'an integer 7..12'), 9);
  if (base.enable) checkOnRadio(c, base.radio, base.ifHz, bandwidthHz, radios);
  c.warnUnknown();
  return { ...base, bandwidthHz, spreadingFactor };
}

function readFsk(c: Section, radios: RadioConfig[]): FskChannelConfig {
  const base = readIfChannel(c);
  const configuredBw = c.get('bandwidth', int(0, 500000, 'an integer 0..500000 (Hz; 0 = derive from freq_deviation)'), 0);
  const fdevHz = c.get('freq_deviation', hz, 0);
  // HAL default when PF4 passes DR_UNDEFINED [HAL5 lgw_rxif_setconf IF_FSK_STD]; range = DR_FSK_MIN..DR_FSK_MAX.
  const datarateBps = c.get('datarate', int(500, 250000, 'an integer 500..250000 (bit/s)'), 64000);
  let bandwidthHz = configuredBw;
  if (bandwidthHz === 0) {
    // PF4: bandwidth 0 with a deviation means 2·fdev + datarate; neither → HAL default 250 kHz.
    bandwidthHz = fdevHz > 0 ? 2 * fdevHz + datarateBps : 250000;
  }
  if (base.enable) {
    if (bandwidthHz > 500000) {
      c.fail('freq_deviation', 'a deviation with 2·freq_deviation + datarate <= 500000 Hz (bandwidth 0 derives it)', fdevHz);
    }
    // The IF check uses the rounded-up channel bandwidth the hardware will use.
    const channelBw = FSK_BANDWIDTHS.find((b) => b >= bandwidthHz) ?? 500000;
    checkOnRadio(c, base.radio, base.ifHz, channelBw, radios);
  }
  c.warnUnknown();
  return { ...base, bandwidthHz, datarateBps, fdevHz };
}
