import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Concentrator, TxPacket } from '../../hal/index.js';
import { EMISSION_SLACK_US } from '../helpers/timing.js';

/** What an implementation under contract test provides besides the Concentrator. */
export interface ContractSubject {
  conc: Concentrator;
  /** Makes the radio hear a LoRa frame on 868.1 MHz SF7BW125 (an enabled channel of the test plan). */
  injectUplink(payload: Buffer): Promise<void>;
  /** Resolves with the counter value at which the frame carrying `payload` started to be emitted. */
  emissionOf(payload: Buffer, timeoutMs: number): Promise<number>;
  /** TX range of RF chain 0, Hz. */
  txRange: [number, number];
  /** A power present in the TX gain table, dBm. */
  tablePowerDbm: number;
  /**
   * Radios that transmit FSK (SX1301, the simulator): what went on the air for the frame carrying
   * `payload`. Absent for a radio that refuses FSK (the single-channel SX127x driver).
   */
  fskEmissionOf?(payload: Buffer, timeoutMs: number): Promise<{ startUs: number; freqHz: number; datarateBps: number; fdevHz: number; syncWord?: string }>;
  /** Called by each test right after start(): e.g. subscribe an observer of emissions. */
  afterStart(): Promise<void>;
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A timestamped LoRa frame on RF chain 0. */
export function txFrame(countUs: number, payload: Buffer, powerDbm: number, freqHz = 869_525_000): TxPacket {
  return {
    mode: 'timestamped', countUs, freqHz, rfChain: 0, powerDbm,
    radio: { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 125000, codeRate: '4/5' },
    invertPolarity: true, preambleSymbols: 8, noCrc: false, noHeader: false, payload,
  };
}

/**
 * Behaviours every Concentrator implementation must show (DESIGN.md rule 8):
 * run against the simulated concentrator now, and against the SX127x and
 * SX1301 drivers on their emulators when they land.
 */
export function runConcentratorContract(name: string, factory: () => Promise<ContractSubject>): void {
  describe(`Concentrator contract: ${name}`, () => {
    test('send and counter before start are refused; start and stop are idempotent', async () => {
      const s = await factory();
      try {
        await s.conc.stop();
        const r = await s.conc.send(txFrame(0, Buffer.from([1]), s.tablePowerDbm));
        assert.equal(r.ok, false);
        assert.equal(await s.conc.txStatus(), 'off');
        await s.conc.start();
        await s.conc.start();
        assert.equal(await s.conc.txStatus(), 'free');
      } finally {
        await s.cleanup();
      }
    });

    test('the counter is a u32 that advances with time', async () => {
      const s = await factory();
      try {
        await s.conc.start();
        const a = await s.conc.counterUs();
        await sleep(20);
        const b = await s.conc.counterUs();
        assert.ok(Number.isInteger(a) && a >= 0 && a < 2 ** 32);
        const d = (b - a) >>> 0;
        assert.ok(d >= 15_000 && d < 2_000_000, `advanced ${d} µs in 20 ms`);
      } finally {
        await s.cleanup();
      }
    });

    test('receive returns [] when idle, frames oldest first, at most max per call', async () => {
      const s = await factory();
      try {
        await s.conc.start();
        assert.deepEqual(await s.conc.receive(8), []);
        const before = await s.conc.counterUs();
        for (let i = 0; i < 3; i++) await s.injectUplink(Buffer.from([0xa0 + i]));
        let got: Awaited<ReturnType<Concentrator['receive']>> = [];
        for (let i = 0; i < 100 && got.length === 0; i++) {
          await sleep(10);
          got = await s.conc.receive(2);
        }
        const rest = await s.conc.receive(8);
        const all = got.concat(rest);
        assert.equal(got.length, 2, 'max respected');
        assert.deepEqual(all.map((p) => p.payload[0]), [0xa0, 0xa1, 0xa2]);
        const after = await s.conc.counterUs();
        for (const p of all) assert.ok(((p.countUs - before) >>> 0) <= ((after - before) >>> 0), 'stamped by the counter');
        assert.equal(all[0]!.freqHz, 868_100_000);
      } finally {
        await s.cleanup();
      }
    });

    test('TX outside the RF chain range is refused with TX_FREQ', async () => {
      const s = await factory();
      try {
        await s.conc.start();
        const now = await s.conc.counterUs();
        const r = await s.conc.send(txFrame((now + 100_000) >>> 0, Buffer.from([1]), s.tablePowerDbm, s.txRange[1] + 1_000_000));
        assert.deepEqual(r.ok ? 'ok' : r.error, 'TX_FREQ');
      } finally {
        await s.cleanup();
      }
    });

    test('TX power absent from the gain table is refused with TX_POWER; ppsCounterUs is null or a u32', async () => {
      const s = await factory();
      try {
        await s.conc.start();
        const now = await s.conc.counterUs();
        // No gain table holds a half-dB step above a table entry.
        const r = await s.conc.send(txFrame((now + 100_000) >>> 0, Buffer.from([1]), s.tablePowerDbm + 0.5));
        assert.equal(r.ok ? 'ok' : r.error, 'TX_POWER');
        assert.equal(await s.conc.txStatus(), 'free');
        const pps = await s.conc.ppsCounterUs();
        assert.ok(pps === null || (Number.isInteger(pps) && pps >= 0 && pps < 2 ** 32), `pps ${String(pps)}`);
      } finally {
        await s.cleanup();
      }
    });

    test('an immediate frame is emitted at once, at a counter value read at the emission', async () => {
      const s = await factory();
      try {
        await s.conc.start();
        await s.afterStart();
        const payload = Buffer.from('immediate');
        const before = await s.conc.counterUs();
        assert.deepEqual(await s.conc.send({ ...txFrame(0, payload, s.tablePowerDbm), mode: 'immediate' }), { ok: true });
        const at = await s.emissionOf(payload, 2000);
        const after = await s.conc.counterUs();
        assert.ok(((at - before) >>> 0) <= ((after - before) >>> 0), `emitted at ${at}, not within [${before}, ${after}]`);
      } finally {
        await s.cleanup();
      }
    });

    test('an FSK frame (radios that send FSK) is emitted at its counter value with its frequency, bit rate and deviation', async (t) => {
      const s = await factory();
      try {
        if (!s.fskEmissionOf) {
          t.skip('this radio does not transmit FSK');
          return;
        }
        await s.conc.start();
        await s.afterStart();
        const target = ((await s.conc.counterUs()) + 150_000) >>> 0;
        const payload = Buffer.from('fsk frame');
        const frame: TxPacket = { ...txFrame(target, payload, s.tablePowerDbm, 868_800_000), radio: { modulation: 'FSK', datarateBps: 50000 }, fdevHz: 25000, preambleSymbols: 5, invertPolarity: false };
        assert.deepEqual(await s.conc.send(frame), { ok: true });
        const e = await s.fskEmissionOf(payload, 2000);
        const err = (e.startUs - target) | 0;
        assert.ok(err >= 0 && err < EMISSION_SLACK_US, `emitted ${err} µs from target`);
        assert.ok(Math.abs(e.freqHz - 868_800_000) < 62, `at ${e.freqHz} Hz`);
        assert.deepEqual([e.datarateBps, e.fdevHz], [50000, 25000]);
        // LoRaWAN's FSK sync word [RP002 §2: 0xC194C1], where the radio reports it.
        if (e.syncWord !== undefined) assert.equal(e.syncWord, 'c194c1');
      } finally {
        await s.cleanup();
      }
    });

    test('a timestamped frame is emitted at its counter value; status goes scheduled → emitting → free; a second one while busy is refused', async () => {
      const s = await factory();
      try {
        await s.conc.start();
        await s.afterStart();
        const now = await s.conc.counterUs();
        const target = (now + 200_000) >>> 0;
        const payload = Buffer.from('contract');
        assert.deepEqual(await s.conc.send(txFrame(target, payload, s.tablePowerDbm)), { ok: true });
        assert.equal(await s.conc.txStatus(), 'scheduled');
        const busy = await s.conc.send(txFrame((target + 200_000) >>> 0, payload, s.tablePowerDbm));
        assert.equal(busy.ok ? 'ok' : busy.error, 'BUSY');
        const at = await s.emissionOf(payload, 2000);
        const err = (at - target) | 0;
        assert.ok(err >= 0 && err < EMISSION_SLACK_US, `emitted ${err} µs from target`);
        // An SF7 frame of 8 bytes lasts 41 ms: emitting while the counter is inside it.
        const st = await s.conc.txStatus();
        const inside = ((await s.conc.counterUs()) - target) | 0;
        if (inside < 35_000) assert.equal(st, 'emitting');
        await sleep(80);
        assert.equal(await s.conc.txStatus(), 'free');
      } finally {
        await s.cleanup();
      }
    });
  });
}
