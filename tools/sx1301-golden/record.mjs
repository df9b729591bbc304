#!/usr/bin/env node
/**
 * Records the SX1301 goldens of test/fixtures/sx1301-golden/: for each
 * scenario (a shipped preset, or a variant of one), applies its SX1301_conf
 * to Semtech's libloragw v5.0.1 the way packet_forwarder v4.0.1's
 * parse_SX1301_configuration does, then runs the same call sequence (start,
 * receives, counter reads, LoRa sends at 125/250/500 kHz and an FSK send in
 * immediate / timestamped / on-PPS modes at the lowest and highest LUT
 * powers, TX status reads, stop) under the shared fake SX1301, and keeps the
 * fake chip's raw SPI trace and state dump with the configuration and what
 * libloragw returned.
 *
 * Needs: a libloragw v5.0.1 build (`make` in Lora-net/lora_gateway v5.0.1's
 * libloragw/, unmodified) and the recorder built against it (README.md), and
 * the shared kit (fake chip, firmware). Not run by CI: the recordings are
 * test data, checked in.
 *
 *   node tools/sx1301-golden/record.mjs <recorder binary> <shared sx1301 kit> [scenario ...]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(ROOT, 'test', 'fixtures', 'sx1301-golden');

/** global_conf.json with comments (the presets carry block-comment headers) → object. */
function readPreset(file) {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return JSON.parse(text).SX1301_conf;
}

const clone = (o) => JSON.parse(JSON.stringify(o));
const lutKeys = (c) => Object.keys(c).filter((k) => /^tx_lut_\d+$/.test(k)).sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)));

/** A downlink frequency inside each preset's TX range (its RX2 frequency; LoRaWAN RP002). */
const TX_FREQ = { eu868: 869_525_000, us915: 923_300_000, au915: 923_300_000, as923: 923_200_000, in865: 866_550_000 };

/** The scenarios: every shipped preset, and the variants users run. */
const SCENARIOS = {
  eu868: { preset: 'global_conf.json', region: 'eu868' },
  us915: { preset: 'global_conf.us915.json', region: 'us915' },
  au915: { preset: 'global_conf.au915.json', region: 'au915' },
  as923: { preset: 'global_conf.as923.json', region: 'as923' },
  in865: { preset: 'global_conf.in865.json', region: 'in865' },
  'eu868-private': { preset: 'global_conf.json', region: 'eu868', edit: (c) => { c.lorawan_public = false; }, note: 'lorawan_public false (private sync word 0x12)' },
  'eu868-clksrc0': { preset: 'global_conf.json', region: 'eu868', edit: (c) => { c.clksrc = 0; }, note: 'clksrc 0 (radio A supplies the clock)' },
  'eu868-fsk-off': { preset: 'global_conf.json', region: 'eu868', edit: (c) => { c.chan_FSK = { enable: false }; }, note: 'chan_FSK disabled' },
  'eu868-lut2-notch': {
    preset: 'global_conf.json', region: 'eu868',
    edit: (c) => {
      for (const k of lutKeys(c)) delete c[k];
      c.tx_lut_0 = { pa_gain: 2, dac_gain: 3, mix_gain: 10, dig_gain: 0, rf_power: 14 };
      c.tx_lut_1 = { pa_gain: 3, dac_gain: 3, mix_gain: 14, dig_gain: 0, rf_power: 27 };
      c.radio_0.tx_notch_freq = 129000;
    },
    note: '2-entry tx_lut (libloragw\'s built-in default) and tx_notch_freq 129 kHz',
  },
  'us915-fsk-on': {
    preset: 'global_conf.us915.json', region: 'us915',
    edit: (c) => { c.chan_FSK = { enable: true, radio: 1, if: 300000, bandwidth: 125000, datarate: 50000 }; },
    note: 'chan_FSK enabled on radio 1 at +300 kHz, 50 kbit/s',
  },
};

// libloragw codes (loragw_hal.h v5.0.1).
const BW = { 500000: 0x01, 250000: 0x02, 125000: 0x03, 62500: 0x04, 31200: 0x05, 15600: 0x06, 7800: 0x07 };
const SF = { 7: 0x02, 8: 0x04, 9: 0x08, 10: 0x10, 11: 0x20, 12: 0x40 };
const CR = { '4/5': 1, '4/6': 2, '4/7': 3, '4/8': 4 };
const MODE = { IMMEDIATE: 0, TIMESTAMPED: 1, ON_GPS: 2 };
const num = (v) => (typeof v === 'number' ? v : 0);

/** SX1301_conf → the recorder's configuration steps, as PF4 v4.0.1 parse_SX1301_configuration applies it. */
export function configSteps(c) {
  const out = [`board ${c.lorawan_public === true ? 1 : 0} ${typeof c.clksrc === 'number' ? c.clksrc : 0}`];
  for (const k of lutKeys(c).slice(0, 16)) {
    const l = c[k];
    out.push(`lut ${num(l.pa_gain)} ${typeof l.dac_gain === 'number' ? l.dac_gain : 3} ${num(l.mix_gain)} ${num(l.dig_gain)} ${num(l.rf_power)}`);
  }
  for (const i of [0, 1]) {
    const r = c[`radio_${i}`];
    if (!r || typeof r !== 'object') continue;
    if (r.enable !== true) out.push(`rxrf ${i} 0 0 0 0 0 0`);
    else {
      const tx = r.tx_enable === true;
      out.push(`rxrf ${i} 1 ${String(r.type).startsWith('SX1255') ? 0 : 1} ${Math.trunc(num(r.freq))} ${num(r.rssi_offset)} ${tx ? 1 : 0} ${tx ? Math.trunc(num(r.tx_notch_freq)) : 0}`);
    }
  }
  for (let i = 0; i < 8; i++) {
    const m = c[`chan_multiSF_${i}`];
    if (!m || typeof m !== 'object') continue;
    out.push(m.enable === true ? `rxif ${i} 1 ${Math.trunc(num(m.radio))} ${Math.trunc(num(m.if))} 0 0` : `rxif ${i} 0 0 0 0 0`);
  }
  const s = c.chan_Lora_std;
  if (s && typeof s === 'object') {
    out.push(s.enable === true ? `rxif 8 1 ${Math.trunc(num(s.radio))} ${Math.trunc(num(s.if))} ${BW[s.bandwidth] ?? 0} ${SF[s.spread_factor] ?? 0}` : 'rxif 8 0 0 0 0 0');
  }
  const f = c.chan_FSK;
  if (f && typeof f === 'object') {
    if (f.enable !== true) out.push('rxif 9 0 0 0 0 0');
    else {
      let bw = Math.trunc(num(f.bandwidth));
      const dr = Math.trunc(num(f.datarate));
      if (bw === 0 && num(f.freq_deviation) !== 0) bw = 2 * Math.trunc(f.freq_deviation) + dr;
      const code = bw === 0 ? 0 : bw <= 7800 ? 7 : bw <= 15600 ? 6 : bw <= 31200 ? 5 : bw <= 62500 ? 4 : bw <= 125000 ? 3 : bw <= 250000 ? 2 : bw <= 500000 ? 1 : 0;
      out.push(`rxif 9 1 ${Math.trunc(num(f.radio))} ${Math.trunc(num(f.if))} ${code} ${dr}`);
    }
  }
  return out;
}

/** The call sequence after configuration, as data (the shared golden's `replay` shape). */
function replaySteps(c, region) {
  const luts = lutKeys(c).map((k) => c[k].rf_power);
  const [low, high] = [luts[0] ?? 0, luts[luts.length - 1] ?? 0];
  const mid = luts[Math.floor(luts.length / 2)] ?? 0;
  // The FSK send at a power every region allows (AS923's EIRP limit is 16 dBm), so the same frame can go
  // through the forwarder's scheduler in the Concentrator test: the largest LUT power not above 14 dBm.
  const legal = luts.filter((p) => p <= 14).pop() ?? low;
  const freq = TX_FREQ[region];
  const payload = Buffer.from('0123456789').toString('hex');
  const lora = (bw, sf, mode, count, power, extra = {}) => ({
    op: 'lgw_send',
    txpkt: { freq_hz: freq, rf_chain: 0, rf_power: power, modulation: 'LORA', coderate: '4/5', invert_pol: true, preamble: 8, no_crc: false, no_header: false, size: 10, payload_hex: payload, tx_mode: mode, count_us: count, bandwidth_hz: bw, datarate: `SF${sf}`, ...extra },
  });
  const status = () => ({ op: 'lgw_status', select: 'TX_STATUS', repeat: 8 });
  return [
    { op: 'lgw_start' },
    { op: 'lgw_receive', max_pkt: 8 },
    { op: 'lgw_receive', max_pkt: 8 },
    { op: 'lgw_reg_w', register: 'GPS_EN', value: 0 },
    { op: 'lgw_get_trigcnt' },
    { op: 'lgw_reg_w', register: 'GPS_EN', value: 1 },
    { op: 'lgw_get_trigcnt' },
    lora(125000, 9, 'IMMEDIATE', 0, low),
    status(),
    lora(250000, 7, 'TIMESTAMPED', 306_419_896, high, { coderate: '4/8', preamble: 10 }),
    status(),
    lora(500000, 12, 'ON_GPS', 0, mid, { invert_pol: false, no_crc: true }),
    status(),
    { op: 'lgw_send', txpkt: { freq_hz: freq, rf_chain: 0, rf_power: legal, modulation: 'FSK', datarate: 50000, f_dev_khz: 25, preamble: 5, no_crc: false, no_header: false, size: 10, payload_hex: payload, tx_mode: 'TIMESTAMPED', count_us: 4_294_000_000 } },
    status(),
    // A power between two LUT entries: libloragw takes the largest entry not above it.
    lora(125000, 12, 'IMMEDIATE', 0, low + 1),
    status(),
    { op: 'lgw_stop' },
  ];
}

export function stepLine(r) {
  switch (r.op) {
    case 'lgw_start': return 'start';
    case 'lgw_stop': return 'stop';
    case 'lgw_receive': return `receive ${r.max_pkt}`;
    case 'lgw_reg_w': return `gps_en ${r.value}`;
    case 'lgw_get_trigcnt': return 'trigcnt';
    case 'lgw_status': return `status ${r.repeat}`;
    case 'lgw_send': {
      const t = r.txpkt;
      const lora = t.modulation === 'LORA';
      return ['send', MODE[t.tx_mode], t.count_us, t.freq_hz, t.rf_chain, t.rf_power, lora ? 0x10 : 0x20, lora ? BW[t.bandwidth_hz] : 0,
        lora ? SF[Number(t.datarate.slice(2))] : t.datarate, lora ? CR[t.coderate] : 0, t.invert_pol ? 1 : 0, t.f_dev_khz ?? 0, t.preamble,
        t.no_crc ? 1 : 0, t.no_header ? 1 : 0, t.payload_hex].join(' ');
    }
    default: throw new Error(`unknown op ${r.op}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();

function main() {
const [recorder, kit, ...only] = process.argv.slice(2);
if (!recorder || !kit) {
  console.error('usage: record.mjs <recorder binary> <shared sx1301 kit> [scenario ...]');
  process.exit(2);
}
const so = join(mkdtempSync(join(tmpdir(), 'golden-')), 'libfakespi.so');
execFileSync('make', ['-s', '-C', join(kit, 'fake-chip'), `OUT=${so}`]);
for (const [name, sc] of Object.entries(SCENARIOS)) {
  if (only.length && !only.includes(name)) continue;
  const conf = clone(readPreset(sc.preset));
  sc.edit?.(conf);
  const replay = replaySteps(conf, sc.region);
  const setup = configSteps(conf);
  const dir = join(OUT, name);
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), `golden-${name}-`));
  const r = spawnSync(recorder, [], {
    input: [...setup, ...replay.map(stepLine)].join('\n') + '\n',
    env: { ...process.env, LD_PRELOAD: so, FAKESPI_FW_DIR: join(kit, 'firmware'), FAKESPI_FAST: '1', FAKESPI_RAW: join(tmp, 'raw.txt'), FAKESPI_STATE_OUT: join(tmp, 'state.json') },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${name}: recorder exited ${r.status}: ${r.stderr}`);
  const results = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)); // libloragw also prints INFO lines
  const setupResults = results.slice(0, results.length - replay.length);
  const bad = setupResults.filter((x) => x.ret !== 0);
  if (bad.length) throw new Error(`${name}: configuration refused by libloragw: ${JSON.stringify(bad)}`);
  replay.forEach((step, i) => {
    const { op: _op, select: _sel, repeat: _rep, max_pkt: _max, register: _reg, value: _val, ...ret } = results[setupResults.length + i];
    step.libloragw_returned = ret;
  });
  const doc = {
    name,
    description: `SPI traffic of Semtech's libloragw v5.0.1 applying this SX1301_conf (${sc.preset}${sc.note ? `, ${sc.note}` : ''}) the way packet_forwarder v4.0.1 does, then running "replay", against the shared fake SX1301.`,
    recorded_with: {
      hal: 'Semtech libloragw v5.0.1 (Lora-net/lora_gateway tag v5.0.1, commit a955619), unmodified, built with its own Makefile and default library.cfg',
      driver: 'tools/sx1301-golden/record.c (this project), steps from tools/sx1301-golden/record.mjs',
      fake_chip: 'shared/sx1301/fake-chip, FAKESPI_FAST=1, FAKESPI_NPKT and FAKESPI_COUNTER_START unset; firmware shared/sx1301/firmware',
    },
    preset: sc.preset,
    SX1301_conf: conf,
    setup_before_lgw_start: setup,
    replay,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(doc, null, 1) + '\n');
  // Compressed: the firmware loads make each trace ~200 kB of hex.
  for (const f of ['raw.txt', 'state.json']) writeFileSync(join(dir, `${f}.gz`), gzipSync(readFileSync(join(tmp, f)), { level: 9 }));
  const n = readFileSync(join(tmp, 'raw.txt'), 'utf8').split('\n').filter((l) => l.startsWith('TX ')).length;
  rmSync(tmp, { recursive: true });
  console.log(`${name}: ${n} transactions; ${replay.filter((s) => s.op === 'lgw_send').map((s) => s.libloragw_returned.ret).join(',')} from the sends`);
}
}
