import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseConfig } from '../src/config/index.js';

const SHIPPED = fileURLToPath(new URL('../../global_conf.json', import.meta.url));
type Obj = Record<string, unknown>;
type Doc = Record<string, Obj>;
/** The shipped file with its radio chosen, as every real file has it (the shipped one names none). */
const shipped = (): Doc => {
  const d = JSON.parse(readFileSync(SHIPPED, 'utf8')) as Doc;
  d.gateway_conf!.radio = 'sim';
  return d;
};

/** Parses `json` as global_conf.json and returns the ConfigError it must raise. */
function errorOf(json: string): ConfigError {
  try {
    parseConfig([{ name: 'global_conf.json', json }]);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'ECONFIG');
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return err;
  }
  assert.fail('no ConfigError');
}

/** The shipped document with `mut` applied. */
function variant(mut: (d: Doc) => void): string {
  const d = shipped();
  mut(d);
  return JSON.stringify(d);
}

const gw = (patch: Obj) => variant((d) => Object.assign(d.gateway_conf!, patch));
const sx = (patch: Obj) => variant((d) => Object.assign(d.SX1301_conf!, patch));
const inSx = (section: string, patch: Obj) => variant((d) => Object.assign(d.SX1301_conf![section] as Obj, patch));

describe('syntax errors', () => {
  const cases: [string, string, string][] = [
    ['missing value (V8 gives no position: found by our scan)', '{"a": }', 'global_conf.json: line 1 column 7: expected valid JSON, got Unexpected token'],
    ['trailing comma (position from V8)', '{\n  "a": 1,\n}', 'global_conf.json: line 3 column 1: expected valid JSON, got Expected double-quoted property name'],
    ['truncated file', '{"gateway_conf": {', 'global_conf.json: line 1 column 19: expected valid JSON, got '],
    ['end of input (V8 gives no position)', '{"a": [1,', 'global_conf.json: line 1 column 10: expected valid JSON, got Unexpected end of JSON input'],
    ['unterminated comment hides the rest', '{"a": 1 /* }', 'global_conf.json: line 1 column 13: expected valid JSON'],
  ];
  for (const [name, json, prefix] of cases) {
    test(name, () => {
      const err = errorOf(json);
      assert.ok(err.message.startsWith(prefix), err.message);
      assert.equal(err.file, 'global_conf.json');
    });
  }

  test('the top level must be an object', () => {
    assert.equal(errorOf('[1, 2]').message, 'global_conf.json: (top level): expected a JSON object, got an array');
    assert.equal(errorOf('null').message, 'global_conf.json: (top level): expected a JSON object, got null');
  });
});

/** [name, document, exact message]. Every message names the file and the full dotted key. */
const cases: [string, string, string][] = [
  // required sections
  ['SX1301_conf absent', variant((d) => delete d.SX1301_conf), 'global_conf.json: SX1301_conf: expected an object (the radios and channel plan), got nothing'],
  ['gateway_conf not an object', variant((d) => ((d as Obj).gateway_conf = 'x')), 'global_conf.json: gateway_conf: expected an object, got "x"'],
  ['SX127x_conf not an object', variant((d) => ((d as Obj).SX127x_conf = [1])), 'global_conf.json: SX127x_conf: expected an object, got an array'],
  // gateway_conf
  ['gateway_ID too short', gw({ gateway_ID: 'AA555A000000000' }), 'global_conf.json: gateway_conf.gateway_ID: expected 16 hex digits or "auto", got "AA555A000000000"'],
  ['gateway_ID not hex', gw({ gateway_ID: 'AA555A000000000G' }), 'global_conf.json: gateway_conf.gateway_ID: expected 16 hex digits or "auto", got "AA555A000000000G"'],
  ['gateway_ID a number', gw({ gateway_ID: 1234 }), 'global_conf.json: gateway_conf.gateway_ID: expected 16 hex digits or "auto", got 1234'],
  ['server_address empty', gw({ server_address: '' }), 'global_conf.json: gateway_conf.server_address: expected a host name or IP address (1..255 characters), got ""'],
  ['server_address with a space', gw({ server_address: 'ns example' }), 'global_conf.json: gateway_conf.server_address: expected a host name or IP address (1..255 characters), got "ns example"'],
  ['server_address too long', gw({ server_address: 'a'.repeat(256) }), `global_conf.json: gateway_conf.server_address: expected a host name or IP address (1..255 characters), got "${'a'.repeat(60)}…"`],
  ['serv_port_up out of range', gw({ serv_port_up: 70000 }), 'global_conf.json: gateway_conf.serv_port_up: expected an integer 1..65535, got 70000'],
  ['serv_port_down 0', gw({ serv_port_down: 0 }), 'global_conf.json: gateway_conf.serv_port_down: expected an integer 1..65535, got 0'],
  ['port as a string', gw({ serv_port_up: '1700' }), 'global_conf.json: gateway_conf.serv_port_up: expected an integer 1..65535, got "1700"'],
  ['port with a fraction', gw({ serv_port_up: 1700.5 }), 'global_conf.json: gateway_conf.serv_port_up: expected an integer 1..65535, got 1700.5'],
  ['keepalive_interval 0 (PF4 loops hot)', gw({ keepalive_interval: 0 }), 'global_conf.json: gateway_conf.keepalive_interval: expected an integer 1..2147483 (seconds; PF4 loops hot on <= 0), got 0'],
  ['stat_interval negative', gw({ stat_interval: -30 }), 'global_conf.json: gateway_conf.stat_interval: expected an integer 1..2147483 (seconds), got -30'],
  ['push_timeout_ms 0', gw({ push_timeout_ms: 0 }), 'global_conf.json: gateway_conf.push_timeout_ms: expected an integer 1..2147483647 (milliseconds), got 0'],
  ['stat_interval beyond the timer range', gw({ stat_interval: 2147484 }), 'global_conf.json: gateway_conf.stat_interval: expected an integer 1..2147483 (seconds), got 2147484'],
  ['autoquit_threshold negative', gw({ autoquit_threshold: -1 }), 'global_conf.json: gateway_conf.autoquit_threshold: expected an integer >= 0 (0 = off), got -1'],
  ['forward_crc_valid not a boolean', gw({ forward_crc_valid: 1 }), 'global_conf.json: gateway_conf.forward_crc_valid: expected true or false, got 1'],
  ['ref_latitude beyond 90', gw({ ref_latitude: 90.5 }), 'global_conf.json: gateway_conf.ref_latitude: expected a number -90..90, got 90.5'],
  ['ref_longitude beyond -180', gw({ ref_longitude: -181 }), 'global_conf.json: gateway_conf.ref_longitude: expected a number -180..180, got -181'],
  ['beacon_period 1..5 (PF4 refuses)', gw({ beacon_period: 5 }), 'global_conf.json: gateway_conf.beacon_period: expected an integer 0 (off) or >= 6 (seconds), got 5'],
  ['beacon_datarate 11', gw({ beacon_datarate: 11 }), 'global_conf.json: gateway_conf.beacon_datarate: expected one of 8, 9, 10, 12, got 11'],
  ['beacon_bw_hz 250000', gw({ beacon_bw_hz: 250000 }), 'global_conf.json: gateway_conf.beacon_bw_hz: expected one of 125000, 500000, got 250000'],
  ['radio unknown', gw({ radio: 'rfm95' }), 'global_conf.json: gateway_conf.radio: expected one of "sim", "sx127x", "sx1301", got "rfm95"'],
  // SX1301_conf: radios
  ['radio type unknown', inSx('radio_0', { type: 'SX1301' }), 'global_conf.json: SX1301_conf.radio_0.type: expected one of "SX1255", "SX1257" (or "SX1272", "SX1276"), got "SX1301"'],
  ['enabled radio without type', variant((d) => delete (d.SX1301_conf!.radio_1 as Obj).type), 'global_conf.json: SX1301_conf.radio_1.type: expected the radio chip name for an enabled radio ("SX1257" or "SX1255"), got nothing'],
  ['enabled radio without freq', variant((d) => delete (d.SX1301_conf!.radio_0 as Obj).freq), 'global_conf.json: SX1301_conf.radio_0.freq: expected a centre frequency > 0 Hz for an enabled radio, got nothing'],
  ['radio freq as a string', inSx('radio_0', { freq: '867.5' }), 'global_conf.json: SX1301_conf.radio_0.freq: expected an integer 0..4294967295 (Hz), got "867.5"'],
  ['radio enable as a string', inSx('radio_0', { enable: 'true' }), 'global_conf.json: SX1301_conf.radio_0.enable: expected true or false, got "true"'],
  ['tx_freq_min >= tx_freq_max', inSx('radio_0', { tx_freq_min: 870000000 }), 'global_conf.json: SX1301_conf.radio_0.tx_freq_max: expected a frequency above tx_freq_min (870000000 Hz) when tx_enable is true, got 870000000'],
  ['tx_enable without a TX range', inSx('radio_1', { tx_enable: true }), 'global_conf.json: SX1301_conf.radio_1.tx_freq_max: expected a frequency above tx_freq_min (0 Hz) when tx_enable is true, got nothing'],
  ['clksrc 2', sx({ clksrc: 2 }), 'global_conf.json: SX1301_conf.clksrc: expected 0 or 1 (the radio that clocks the SX1301), got 2'],
  ['lorawan_public not a boolean', sx({ lorawan_public: 'yes' }), 'global_conf.json: SX1301_conf.lorawan_public: expected true or false, got "yes"'],
  ['radio section not an object', sx({ radio_0: true }), 'global_conf.json: SX1301_conf.radio_0: expected an object, got true'],
  // SX1301_conf: channels
  [
    'multi-SF IF outside the radio band (the brief\'s example)',
    inSx('chan_multiSF_3', { radio: 1, if: 450000 }),
    "global_conf.json: SX1301_conf.chan_multiSF_3.if: expected |if| + bandwidth/2 within radio_1's 925 kHz bandwidth (|if| <= 400000 Hz for 125 kHz), got 450000",
  ],
  ['negative IF beyond the band', inSx('chan_multiSF_0', { if: -400001 }), "global_conf.json: SX1301_conf.chan_multiSF_0.if: expected |if| + bandwidth/2 within radio_1's 925 kHz bandwidth (|if| <= 400000 Hz for 125 kHz), got -400001"],
  ['LoRa std 250 kHz beyond 375 kHz', inSx('chan_Lora_std', { if: 375001 }), "global_conf.json: SX1301_conf.chan_Lora_std.if: expected |if| + bandwidth/2 within radio_1's 1000 kHz bandwidth (|if| <= 375000 Hz for 250 kHz), got 375001"],
  ['LoRa std 500 kHz beyond 300 kHz', inSx('chan_Lora_std', { if: 300001, bandwidth: 500000 }), "global_conf.json: SX1301_conf.chan_Lora_std.if: expected |if| + bandwidth/2 within radio_1's 1100 kHz bandwidth (|if| <= 300000 Hz for 500 kHz), got 300001"],
  ['FSK 125 kHz beyond 400 kHz', inSx('chan_FSK', { if: 400001 }), "global_conf.json: SX1301_conf.chan_FSK.if: expected |if| + bandwidth/2 within radio_1's 925 kHz bandwidth (|if| <= 400000 Hz for 125 kHz), got 400001"],
  ['FSK 50 kHz rounds up to 62.5 kHz', inSx('chan_FSK', { bandwidth: 50000, if: 431251 }), "global_conf.json: SX1301_conf.chan_FSK.if: expected |if| + bandwidth/2 within radio_1's 925 kHz bandwidth (|if| <= 431250 Hz for 62.5 kHz), got 431251"],
  ['channel on a disabled radio', inSx('radio_1', { enable: false }), 'global_conf.json: SX1301_conf.chan_multiSF_0.radio: expected an enabled radio (radio_1 is disabled), got 1'],
  ['radio index 2', inSx('chan_multiSF_4', { radio: 2 }), 'global_conf.json: SX1301_conf.chan_multiSF_4.radio: expected 0 or 1 (radio_0 or radio_1), got 2'],
  ['IF not an integer', inSx('chan_multiSF_4', { if: '200k' }), 'global_conf.json: SX1301_conf.chan_multiSF_4.if: expected an integer (Hz offset from the radio frequency), got "200k"'],
  ['LoRa std bandwidth', inSx('chan_Lora_std', { bandwidth: 200000 }), 'global_conf.json: SX1301_conf.chan_Lora_std.bandwidth: expected one of 125000, 250000, 500000, got 200000'],
  ['LoRa std spread_factor', inSx('chan_Lora_std', { spread_factor: 6 }), 'global_conf.json: SX1301_conf.chan_Lora_std.spread_factor: expected an integer 7..12, got 6'],
  ['FSK datarate', inSx('chan_FSK', { datarate: 300000 }), 'global_conf.json: SX1301_conf.chan_FSK.datarate: expected an integer 500..250000 (bit/s), got 300000'],
  ['FSK derived bandwidth too wide', inSx('chan_FSK', { bandwidth: 0, freq_deviation: 240000 }), 'global_conf.json: SX1301_conf.chan_FSK.freq_deviation: expected a deviation with 2·freq_deviation + datarate <= 500000 Hz (bandwidth 0 derives it), got 240000'],
  // SX1301_conf: TX LUT
  ['duplicate rf_power', inSx('tx_lut_5', { rf_power: 6 }), 'global_conf.json: SX1301_conf.tx_lut_5.rf_power: expected a power not already in the TX LUT (tx_lut_4 has 6 dBm), got 6'],
  ['more than 16 LUT entries', sx({ tx_lut_16: { mix_gain: 8, rf_power: 28 } }), 'global_conf.json: SX1301_conf.tx_lut_16: expected at most 16 TX gain entries (tx_lut_0..tx_lut_15), got an object'],
  ['LUT entry without rf_power', variant((d) => delete (d.SX1301_conf!.tx_lut_2 as Obj).rf_power), 'global_conf.json: SX1301_conf.tx_lut_2.rf_power: expected an integer dBm -128..127, got nothing'],
  ['LUT mix_gain below 8 (HAL5 refuses)', inSx('tx_lut_0', { mix_gain: 5 }), 'global_conf.json: SX1301_conf.tx_lut_0.mix_gain: expected an integer 8..15, got 5'],
  ['LUT dac_gain other than 3', inSx('tx_lut_0', { dac_gain: 2 }), 'global_conf.json: SX1301_conf.tx_lut_0.dac_gain: expected 3 (the only DAC gain HAL5 supports), got 2'],
  ['LUT pa_gain 4', inSx('tx_lut_9', { pa_gain: 4 }), 'global_conf.json: SX1301_conf.tx_lut_9.pa_gain: expected an integer 0..3, got 4'],
  // sim_conf
  ['sim air_port out of range', variant((d) => (d.sim_conf!.air_port = 65536)), 'global_conf.json: sim_conf.air_port: expected an integer 0..65535 (0 = any free port), got 65536'],
  ['sim counter_start negative', variant((d) => (d.sim_conf!.counter_start = -1)), 'global_conf.json: sim_conf.counter_start: expected an integer 0..4294967295 or null, got -1'],
  ['sim counter_start beyond u32', variant((d) => (d.sim_conf!.counter_start = 2 ** 32)), 'global_conf.json: sim_conf.counter_start: expected an integer 0..4294967295 or null, got 4294967296'],
  ['sim air_address not a string', variant((d) => (d.sim_conf!.air_address = 127)), 'global_conf.json: sim_conf.air_address: expected a host name or IP address (1..255 characters), got 127'],
];

describe('validation errors name the file and the full dotted key', () => {
  for (const [name, json, message] of cases) {
    test(name, () => {
      const err = errorOf(json);
      assert.equal(err.message, message);
      assert.equal(err.file, 'global_conf.json');
      assert.ok(message.startsWith(`global_conf.json: ${err.key}: expected ${err.expected}, got `), 'fields match the message');
    });
  }
});
