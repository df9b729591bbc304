/**
 * The region presets global_conf.{us915,au915,as923,in865}.json: each is a
 * complete config that loads without a warning, carries the channels of its
 * region (computed here from the LoRaWAN Regional Parameters formulas, not
 * read back from the file), and starts the SX1301 driver on the emulated
 * chip, which then hears its first channel and transmits on its RX2
 * frequency.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { BoardConfig, RadioParams } from '../hal/index.js';
import { loadConfig } from '../src/config/index.js';
import { waitFor } from './helpers/harness.js';
import { emulatedSx1301 } from './helpers/sx1301-emulated.js';

const MHz = (f: number) => Math.round(f * 1e6);
const range = (from: number, n: number, step: number) => [...Array(n).keys()].map((i) => MHz(from + i * step));

interface Region {
  file: string;
  /** Multi-SF channel frequencies, in chan_multiSF order (enabled ones). */
  multiSf: number[];
  std: { freqHz: number; bw: number; sf: number } | null;
  fskHz: number | null;
  tx: [number, number];
  /** RX2 of the region: frequency and data rate. */
  rx2: { freqHz: number; radio: RadioParams };
}

const REGIONS: Region[] = [
  {
    // US902-928: 125 kHz channels 902.3 + 0.2·n, sub-band 2 = n 8..15; 500 kHz 903.0 + 1.6·n, n = 1.
    file: 'global_conf.us915.json', multiSf: range(902.3 + 0.2 * 8, 8, 0.2), std: { freqHz: MHz(903.0 + 1.6), bw: 500000, sf: 8 }, fskHz: null,
    tx: [MHz(923), MHz(928)], rx2: { freqHz: MHz(923.3), radio: { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 500000, codeRate: '4/5' } },
  },
  {
    // AU915-928: 125 kHz channels 915.2 + 0.2·n, sub-band 2 = n 8..15; 500 kHz 915.9 + 1.6·n, n = 1.
    file: 'global_conf.au915.json', multiSf: range(915.2 + 0.2 * 8, 8, 0.2), std: { freqHz: MHz(915.9 + 1.6), bw: 500000, sf: 8 }, fskHz: null,
    tx: [MHz(915), MHz(928)], rx2: { freqHz: MHz(923.3), radio: { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 500000, codeRate: '4/5' } },
  },
  {
    // AS923-1: default 923.2 and 923.4 MHz, then TTN's 922.2..923.0 and 922.0; RX2 923.2 SF10.
    file: 'global_conf.as923.json', multiSf: [923.2, 923.4, 922.2, 922.4, 922.6, 922.8, 923.0, 922.0].map(MHz), std: { freqHz: MHz(922.1), bw: 250000, sf: 7 }, fskHz: MHz(921.8),
    tx: [MHz(920), MHz(923.4)], rx2: { freqHz: MHz(923.2), radio: { modulation: 'LORA', spreadingFactor: 10, bandwidthHz: 125000, codeRate: '4/5' } },
  },
  {
    // IN865-867: default 865.0625, 865.4025, 865.985 MHz; RX2 866.55 SF10.
    file: 'global_conf.in865.json', multiSf: [865.0625, 865.4025, 865.985].map(MHz), std: null, fskHz: null,
    tx: [MHz(865), MHz(867)], rx2: { freqHz: MHz(866.55), radio: { modulation: 'LORA', spreadingFactor: 10, bandwidthHz: 125000, codeRate: '4/5' } },
  },
];

const presetPath = (file: string) => new URL(`../../${file}`, import.meta.url).pathname;
const chanHz = (b: BoardConfig, c: { radio: number; ifHz: number }) => b.radios[c.radio]!.freqHz + c.ifHz;

describe('region presets', () => {
  for (const r of REGIONS) {
    test(`${r.file}: loads without warnings, carries the region's channels, cites its sources`, () => {
      const loaded = loadConfig({ globalPath: presetPath(r.file), overrides: { radio: 'sx1301' } });
      assert.deepEqual(loaded.warnings, []);
      const b = loaded.config.board;
      assert.deepEqual(b.multiSfChannels.filter((c) => c.enable).map((c) => chanHz(b, c)), r.multiSf);
      const std = b.loraStdChannel;
      assert.deepEqual(std.enable ? { freqHz: chanHz(b, std), bw: std.bandwidthHz, sf: std.spreadingFactor } : null, r.std);
      assert.equal(b.fskChannel.enable ? chanHz(b, b.fskChannel) : null, r.fskHz);
      assert.deepEqual([b.radios[0]!.txFreqMinHz, b.radios[0]!.txFreqMaxHz], r.tx);
      assert.ok(r.rx2.freqHz >= r.tx[0] && r.rx2.freqHz <= r.tx[1], 'RX2 inside the TX range');
      assert.equal(loaded.config.sx127x!.freqHz, r.multiSf[0], 'the single-channel radio listens on the first channel');
      const text = readFileSync(presetPath(r.file), 'utf8');
      assert.match(text, /Regional Parameters/);
      assert.match(text, /Lora-net\/packet_forwarder|TheThingsNetwork\/gateway-conf/);
    });

    test(`${r.file}: the SX1301 driver starts on the emulated chip, hears the first channel, transmits on RX2`, async () => {
      const board = loadConfig({ globalPath: presetPath(r.file), overrides: { radio: 'sx1301' } }).config.board;
      const { chip, conc } = emulatedSx1301(board);
      try {
        await conc.start();
        assert.deepEqual(chip.violations, []);
        assert.equal(chip.agc.freqMsbs, 3);
        assert.deepEqual(chip.injectPacket({ ifChain: 0, sf: 10, crc: 'ok', payload: Buffer.from('up') }), { ok: true });
        await waitFor(() => conc.counters.received === 1, 2000, 'uplink');
        const [rx] = await conc.receive(1);
        assert.equal(rx!.freqHz, r.multiSf[0]);
        const target = (chip.counterUs() + 50_000) >>> 0;
        const sent = await conc.send({
          mode: 'timestamped', countUs: target, freqHz: r.rx2.freqHz, rfChain: 0, powerDbm: 14, radio: r.rx2.radio,
          invertPolarity: true, preambleSymbols: 8, noCrc: true, noHeader: false, payload: Buffer.from('down'),
        });
        assert.deepEqual(sent, { ok: true });
        const e = await waitFor(() => chip.emissions[0], 2000, 'emission');
        assert.ok(Math.abs(e.freqHz - r.rx2.freqHz) < 62, `emitted at ${e.freqHz} Hz`);
        assert.deepEqual([e.startUs, e.radio], [target, r.rx2.radio]);
        // An FSK downlink on RX2's frequency, whether the preset listens on an FSK channel or not
        // (issue 13: with chan_FSK disabled the FSK preamble size and sync pattern were never written).
        for (let i = 0; i < 400 && (await conc.txStatus()) !== 'free'; i++) await new Promise((res) => setTimeout(res, 10));
        assert.equal(await conc.txStatus(), 'free', 'the RX2 frame finished');
        const t2 = (chip.counterUs() + 50_000) >>> 0;
        const fsk = await conc.send({
          mode: 'timestamped', countUs: t2, freqHz: r.rx2.freqHz, rfChain: 0, powerDbm: 14, radio: { modulation: 'FSK', datarateBps: 50000 }, fdevHz: 25000,
          invertPolarity: false, preambleSymbols: 5, noCrc: false, noHeader: false, payload: Buffer.from('fsk down'),
        });
        assert.deepEqual(fsk, { ok: true });
        const f = await waitFor(() => chip.emissions[1], 2000, 'FSK emission');
        assert.ok(Math.abs(f.freqHz - r.rx2.freqHz) < 62, `FSK emitted at ${f.freqHz} Hz`);
        assert.deepEqual([f.startUs, f.radio, f.fdevHz, f.fskSyncWord], [t2, { modulation: 'FSK', datarateBps: 50000 }, 25000, 'c194c1']);
        assert.deepEqual(chip.violations, []);
      } finally {
        await conc.stop();
      }
    });
  }
});
