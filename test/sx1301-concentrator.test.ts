/**
 * The SX1301 driver as a Concentrator on the TypeScript SX1301 emulator:
 * start-up against the emulated MCUs, calibration and AGC handshake, the
 * RX FIFO with injected packets, transmission as the chip decodes its TX
 * buffer, counters and PPS; then the Concentrator contract suite.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BoardConfig, TxPacket } from '../hal/index.js';
import { loraTimestampCorrectionUs } from '../hal/sx1301/receive.js';
import { TX_START_DELAY_US } from '../hal/sx1301/send.js';
import type { Sx1301AirPacket, Sx1301EmulatorOptions } from '../hal/sx1301/sx1301-emulator.js';
import { runConcentratorContract, type ContractSubject } from './contract/concentrator-contract.js';
import { testConfig, waitFor } from './helpers/harness.js';
import { emulatedSx1301 } from './helpers/sx1301-emulated.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rig(opts: Sx1301EmulatorOptions & { swapImages?: boolean } = {}, board: BoardConfig = testConfig().board) {
  return { ...emulatedSx1301(board, opts), board };
}

/** 868.1 MHz in the shipped EU868 plan: radio 1 (868.5 MHz), IF −400 kHz, IF chain 0. */
const UPLINK: Sx1301AirPacket = { ifChain: 0, sf: 7, cr: 1, crc: 'ok', payload: Buffer.from('up'), snrDb: 9.5, rssiRaw: 100 };

function downlink(over: Partial<TxPacket> = {}): TxPacket {
  return {
    mode: 'timestamped', countUs: 0, freqHz: 869_525_000, rfChain: 0, powerDbm: 14,
    radio: { modulation: 'LORA', spreadingFactor: 9, bandwidthHz: 125000, codeRate: '4/5' },
    invertPolarity: true, preambleSymbols: 8, noCrc: true, noHeader: false, payload: Buffer.from('0123456789'), ...over,
  };
}

describe('SX1301 concentrator on the emulated chip: start-up', () => {
  test('the MCUs run cal then AGC/arbiter, calibration 0xBF, the AGC takes the TX gain table; no refused access', async () => {
    const { chip, conc, board } = rig();
    try {
      await conc.start();
      assert.ok(chip.started);
      assert.deepEqual(chip.mcu, ['arb', 'agc']);
      assert.deepEqual(chip.calibrations, [0x17], 'radios A and B in RX, A in TX');
      assert.equal(conc.radioStats().calibrationStatus, 0xbf);
      assert.deepEqual(chip.agc.lut, board.txLut.map((e) => e.mixGain + 16 * e.dacGain + 64 * e.paGain));
      assert.equal(chip.agc.freqMsbs, 3, '869.5 MHz: PLL integer byte 0xD9, top bits 3');
      assert.equal(chip.agc.chanSelect, 0);
      const onB = board.multiSfChannels.reduce((m, c, i) => (c.enable && c.radio === 1 ? m | (1 << i) : m), 0);
      assert.equal(chip.agc.radioSelect, onB);
      assert.equal(chip.peek(89, 2) & 1, 1, 'GPS_EN set');
      assert.deepEqual(chip.violations, []);
      assert.equal(await conc.txStatus(), 'free');
    } finally {
      await conc.stop();
    }
    assert.equal(chip.started, false, 'stop soft-resets the chip');
  });

  test('every failed check names its step and the value read, and leaves the concentrator off', async () => {
    const cases: [Sx1301EmulatorOptions & { swapImages?: boolean }, string, RegExp][] = [
      [{ version: 0 }, 'EVERSION', /connect: VERSION reads 0, expected 103/],
      [{ pllNeverLocks: true }, 'EPLLLOCK', /radio A \(SX1257\) PLL did not lock/],
      [{ swapImages: true }, 'EFWVERSION', /AGC firmware: version 1 at AGC RAM 0x20, expected 4/],
      [{ firmware: { cal: Buffer.alloc(8192, 1), agc: Buffer.alloc(8192, 2), arb: Buffer.alloc(8192, 3) } }, 'EFWVERSION', /calibration firmware: version 0 at AGC RAM 0x20, expected 2/],
    ];
    for (const [opts, code, message] of cases) {
      const { conc } = rig(opts);
      await assert.rejects(conc.start(), (e: Error & { code?: string }) => e.code === code && message.test(e.message) && !e.message.includes('\n'), code);
      assert.equal(await conc.txStatus(), 'off');
    }
  });

  test('a calibration that reports a failed radio starts with a warning naming it', async () => {
    const { conc, lines } = rig({ calibrationFailures: 0x08 });
    try {
      await conc.start();
      assert.equal(conc.radioStats().calibrationStatus, 0xb7);
      const warn = lines().find((l) => l.msg === 'SX1301 calibration warnings');
      assert.deepEqual(warn?.warnings, ['radio A image rejection failed']);
    } finally {
      await conc.stop();
    }
  });
});

describe('SX1301 concentrator on the emulated chip: receive', () => {
  test('multi-SF, LoRa std, FSK and CRC-error packets: channel, modulation, RSSI, SNR and count_us as the HAL decodes them', async () => {
    const { chip, conc } = rig();
    try {
      await conc.start();
      const t = chip.counterUs();
      const sent: Sx1301AirPacket[] = [
        { ...UPLINK, rawTimestamp: t },
        { ifChain: 8, sf: 7, cr: 1, crc: 'none', payload: Buffer.from([1, 2, 3, 4, 5]), snrDb: -5, rssiRaw: 50, rawTimestamp: t },
        { ifChain: 9, crc: 'ok', payload: Buffer.from('FSK'), rssiRaw: 80, rawTimestamp: t },
        { ifChain: 5, sf: 12, cr: 4, crc: 'bad', payload: Buffer.alloc(8, 0xa0), snrDb: -10, snrMinDb: -12, snrMaxDb: -8, rssiRaw: 20, rawTimestamp: t },
      ];
      for (const p of sent) assert.deepEqual(chip.injectPacket(p), { ok: true });
      await waitFor(() => conc.counters.received === 4, 2000, 'four packets');
      const got = await conc.receive(8);
      assert.deepEqual(got.map((p) => [p.ifChain, p.rfChain, p.freqHz, p.crcStatus]), [
        [0, 1, 868_100_000, 'ok'], [8, 1, 868_300_000, 'none'], [9, 1, 868_800_000, 'ok'], [5, 0, 867_500_000, 'bad'],
      ]);
      assert.deepEqual(got.map((p) => p.radio), [
        { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 125000, codeRate: '4/5' },
        { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 250000, codeRate: '4/5' },
        { modulation: 'FSK', datarateBps: 50000 },
        { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 125000, codeRate: '4/8' },
      ]);
      // RSSI: raw + rssi_offset (−166), +35 on the multi-SF chains; FSK through its polynomial.
      assert.deepEqual([got[0]!.rssiDbm, got[1]!.rssiDbm, got[3]!.rssiDbm], [100 - 166 + 35, 50 - 166, 20 - 166 + 35]);
      assert.ok(Math.abs(got[2]!.rssiDbm - (60 + 1.5351 * (80 - 166) + 0.003 * (80 - 166) ** 2)) < 1e-9);
      assert.deepEqual(got.map((p) => p.snrDb), [9.5, -5, undefined, -10]);
      assert.deepEqual(got.map((p) => Buffer.from(p.payload).toString('hex')), sent.map((p) => Buffer.from(p.payload).toString('hex')));
      const corr = [
        loraTimestampCorrectionUs({ multiSf: true, bwHz: 125000, sf: 7, cr: 1, size: 2, crc: true }),
        loraTimestampCorrectionUs({ multiSf: false, bwHz: 250000, sf: 7, cr: 1, size: 5, crc: false }),
        Math.trunc(680_000 / 50000) - 20,
        loraTimestampCorrectionUs({ multiSf: true, bwHz: 125000, sf: 12, cr: 4, size: 8, crc: true }),
      ];
      assert.deepEqual(got.map((p) => p.countUs), corr.map((c) => (t - c) >>> 0));
    } finally {
      await conc.stop();
    }
  });

  test('packets the configured demodulators cannot hear are refused; nothing is heard before start', async () => {
    const { chip, conc } = rig();
    assert.equal(chip.injectPacket(UPLINK).ok, false, 'before start');
    try {
      await conc.start();
      const r = chip.injectPacket({ ...UPLINK, ifChain: 8, sf: 9 });
      assert.deepEqual(r, { ok: false, reason: 'the LoRa standard channel demodulates SF7, not SF9' });
      assert.deepEqual(chip.injectPacket(UPLINK), { ok: true });
      await waitFor(() => conc.counters.received === 1, 2000, 'the audible packet');
    } finally {
      await conc.stop();
    }
    assert.equal(chip.injectPacket(UPLINK).ok, false, 'after stop');
  });

  test('a packet is in the FIFO only once the counter reaches its latch; the chip keeps 16 and drops the rest', async () => {
    const { chip, conc } = rig();
    try {
      await conc.start();
      const later = (chip.counterUs() + 150_000) >>> 0;
      chip.injectPacket({ ...UPLINK, payload: Buffer.from('late'), rawTimestamp: later });
      await sleep(60);
      assert.equal(conc.counters.received, 0, 'not before its timestamp');
      await waitFor(() => conc.counters.received === 1, 2000, 'the late packet');
      assert.ok(((chip.counterUs() - later) | 0) >= 0);
      // 20 at once, between two polls: the chip's FIFO holds 16.
      for (let i = 0; i < 20; i++) chip.injectPacket({ ...UPLINK, payload: Buffer.from([i]) });
      await waitFor(() => conc.counters.received === 17, 2000, '16 more');
      await sleep(30);
      assert.equal(conc.counters.received, 17);
      assert.equal(chip.rx.dropped, 4);
      const got = await conc.receive(32);
      assert.deepEqual(got.slice(1).map((p) => p.payload[0]), [...Array(16).keys()]);
    } finally {
      await conc.stop();
    }
  });
});

describe('SX1301 concentrator on the emulated chip: receive poll period', () => {
  test('a quiet chip is polled every pollIntervalMs; after a find, 1 ms, backing off to the idle period again', async () => {
    const idleMs = 10;
    const { chip, conc } = emulatedSx1301(testConfig().board, {}, { pollIntervalMs: idleMs });
    try {
      await conc.start();
      const t0 = performance.now();
      const polls0 = conc.counters.polls;
      await sleep(200);
      const quietPolls = conc.counters.polls - polls0;
      const spanMs = performance.now() - t0;
      // Timers never fire early (1 ms of clock rounding aside): an upper bound, not a race.
      assert.ok(quietPolls >= 1 && quietPolls <= Math.floor(spanMs / (idleMs - 1)) + 1, `${quietPolls} polls in ${spanMs.toFixed(0)} ms`);
      assert.equal(conc.pollDelayMs, idleMs);
      const afterFind: number[] = [];
      conc.onReceive(() => setImmediate(() => afterFind.push(conc.pollDelayMs)));
      chip.injectPacket(UPLINK);
      await waitFor(() => afterFind.length === 1, 2000, 'the find');
      assert.deepEqual(afterFind, [1], 'the poll after a find is armed 1 ms out');
      await waitFor(() => conc.pollDelayMs === idleMs, 500, 'back off to the idle period');
      assert.equal((await conc.receive(8)).length, 1);
    } finally {
      await conc.stop();
    }
  });
});

describe('SX1301 concentrator on the emulated chip: transmit and counters', () => {
  test('a timestamped LoRa frame starts at its count: the chip decodes frequency, gain index, modulation, IQ, preamble and payload from the buffer', async () => {
    const { chip, conc, board } = rig();
    try {
      await conc.start();
      const target = (chip.counterUs() + 100_000) >>> 0;
      assert.deepEqual(await conc.send(downlink({ countUs: target, powerDbm: 14 })), { ok: true });
      assert.equal(await conc.txStatus(), 'scheduled');
      const e = await waitFor(() => chip.emissions[0], 2000, 'emission');
      assert.equal(e.trigger, 'timestamped');
      assert.equal(e.startUs, target, 'trigger count + TX_START_DELAY lands exactly on the target');
      assert.equal(e.startDelayUs, Math.trunc(TX_START_DELAY_US - 1.5), '125 kHz: 1.5 µs less');
      assert.ok(Math.abs(e.freqHz - 869_525_000) < 62, `${e.freqHz} Hz (PLL step 61 Hz)`);
      assert.equal(board.txLut[e.lutIndex]!.rfPowerDbm, 14);
      assert.deepEqual(
        [e.rfChain, e.radio, e.invertIq, e.noCrc, e.noHeader, e.preamble, e.payload.toString()],
        [0, { modulation: 'LORA', spreadingFactor: 9, bandwidthHz: 125000, codeRate: '4/5' }, true, true, false, 8, '0123456789'],
      );
      const st = await conc.txStatus();
      if (((chip.counterUs() - e.startUs) | 0) < e.airtimeUs - 20_000) assert.equal(st, 'emitting');
      await sleep(Math.ceil(e.airtimeUs / 1000) + 20);
      assert.equal(await conc.txStatus(), 'free');
      assert.deepEqual(chip.violations, []);
    } finally {
      await conc.stop();
    }
  });

  test('FSK immediate at 20 dBm: gain index, deviation, bit rate, payload as the chip decodes them', async () => {
    const { chip, conc, board } = rig();
    try {
      await conc.start();
      const before = chip.counterUs();
      const fsk = downlink({
        mode: 'immediate', powerDbm: 20, radio: { modulation: 'FSK', datarateBps: 50000 }, fdevHz: 25000, preambleSymbols: 5,
        noCrc: false, payload: Buffer.from('fsk-frame'), freqHz: 868_800_000,
      });
      assert.deepEqual(await conc.send(fsk), { ok: true });
      const e = await waitFor(() => chip.emissions[0], 2000, 'emission');
      assert.equal(e.trigger, 'immediate');
      assert.ok(((e.startUs - before) | 0) >= TX_START_DELAY_US, 'RF starts TX_START_DELAY after the trigger');
      assert.equal(board.txLut[e.lutIndex]!.rfPowerDbm, 20);
      assert.deepEqual([e.radio, e.fdevHz, e.preamble, e.noCrc, e.payload.toString()], [{ modulation: 'FSK', datarateBps: 50000 }, 25000, 5, false, 'fsk-frame']);
      assert.ok(Math.abs(e.freqHz - 868_800_000) < 62);
    } finally {
      await conc.stop();
    }
  });

  test('on-PPS: scheduled until the edge, then emitted TX_START_DELAY after it; ppsCounterUs is the latched edge', async () => {
    const { chip, conc } = rig({ counterStartUs: 5_000_000 });
    try {
      await conc.start();
      assert.equal(await conc.ppsCounterUs(), null, 'no edge yet');
      assert.deepEqual(await conc.send(downlink({ mode: 'on-pps' })), { ok: true });
      await sleep(30);
      assert.equal(await conc.txStatus(), 'scheduled');
      assert.equal(chip.emissions.length, 0);
      const edge = chip.counterUs();
      chip.ppsEdge();
      const pps = await conc.ppsCounterUs();
      assert.ok(pps !== null && ((pps - edge) | 0) >= 0 && ((pps - edge) | 0) < 1000, `latched ${pps}, edge ${edge}`);
      const e = await waitFor(() => chip.emissions[0], 2000, 'emission');
      assert.equal(e.trigger, 'pps');
      assert.equal(e.startUs, (pps! + e.startDelayUs) >>> 0);
    } finally {
      await conc.stop();
    }
  });

  test('across the 32-bit wrap: the counter wraps and a frame due after it starts exactly at its count', async () => {
    const { chip, conc } = rig({ counterStartUs: 2 ** 32 - 200_000 });
    try {
      await conc.start();
      const now = await conc.counterUs();
      const target = (now + 300_000) >>> 0;
      assert.ok(target < now, 'the target is past the wrap');
      assert.deepEqual(await conc.send(downlink({ countUs: target })), { ok: true });
      const e = await waitFor(() => chip.emissions[0], 2000, 'emission');
      assert.equal(e.startUs, target);
      assert.ok((await conc.counterUs()) < 2 ** 31, 'counter wrapped');
    } finally {
      await conc.stop();
    }
  });

  test('abortTx cancels a scheduled frame: status free at once, nothing on the air, the next send goes out', async () => {
    const { chip, conc } = rig();
    try {
      await conc.start();
      assert.deepEqual(await conc.send(downlink({ countUs: (chip.counterUs() + 60_000) >>> 0, payload: Buffer.from('cancelled') })), { ok: true });
      assert.equal(await conc.txStatus(), 'scheduled');
      await conc.abortTx!();
      assert.equal(await conc.txStatus(), 'free');
      assert.deepEqual(await conc.send(downlink({ countUs: (chip.counterUs() + 100_000) >>> 0, payload: Buffer.from('next') })), { ok: true });
      await waitFor(() => chip.emissions.length > 0, 2000, 'emission');
      await sleep(20);
      assert.deepEqual(chip.emissions.map((e) => e.payload.toString()), ['next']);
      assert.equal(conc.radioStats().aborted, 1);
    } finally {
      await conc.stop();
    }
  });

  test('stop lets a frame on the air finish before the soft reset', async () => {
    const { chip, conc } = rig();
    await conc.start();
    const target = (chip.counterUs() + 20_000) >>> 0;
    assert.deepEqual(await conc.send(downlink({ countUs: target })), { ok: true });
    const e = await waitFor(() => chip.emissions[0], 2000, 'emission');
    await conc.stop();
    assert.ok(((chip.counterUs() - e.startUs) | 0) >= e.airtimeUs, 'stopped after the end of the frame');
  });

  test('stop aborts a scheduled frame: it never goes on the air', async () => {
    const { chip, conc } = rig();
    await conc.start();
    assert.deepEqual(await conc.send(downlink({ countUs: (chip.counterUs() + 80_000) >>> 0 })), { ok: true });
    await conc.stop();
    await sleep(150);
    assert.deepEqual(chip.emissions, []);
  });
});

runConcentratorContract('Sx1301Concentrator (emulated SX1301)', async (): Promise<ContractSubject> => {
  const { chip, conc, board } = rig();
  return {
    conc,
    injectUplink: async (payload) => {
      // A frame that ends now: the chip latches its counter the processing delay later.
      const raw = chip.counterUs() + loraTimestampCorrectionUs({ multiSf: true, bwHz: 125000, sf: 7, cr: 1, size: payload.length, crc: true });
      const n = conc.counters.received;
      const r = chip.injectPacket({ ...UPLINK, payload, rawTimestamp: raw >>> 0 });
      assert.ok(r.ok, r.ok ? '' : r.reason);
      await waitFor(() => conc.counters.received > n, 2000, 'packet fetched');
    },
    emissionOf: async (payload, timeoutMs) =>
      (await waitFor(() => chip.emissions.find((e) => e.payload.equals(payload)), timeoutMs, 'emission')).startUs,
    fskEmissionOf: async (payload, timeoutMs) => {
      const e = await waitFor(() => chip.emissions.find((x) => x.payload.equals(payload)), timeoutMs, 'emission');
      assert.equal(e.radio.modulation, 'FSK');
      return { startUs: e.startUs, freqHz: e.freqHz, datarateBps: e.radio.modulation === 'FSK' ? e.radio.datarateBps : 0, fdevHz: e.fdevHz ?? 0, syncWord: e.fskSyncWord };
    },
    txRange: [board.radios[0]!.txFreqMinHz, board.radios[0]!.txFreqMaxHz],
    tablePowerDbm: 14,
    afterStart: async () => undefined,
    cleanup: () => conc.stop(),
  };
});

describe('SX1301 faults on the emulated chip: detected, counted, re-initialised within 5 s', () => {
  // The chip stays the same across re-initialisations: closing the link leaves it as it is.
  const fast = async (opts: Sx1301EmulatorOptions = {}) => emulatedSx1301(testConfig().board, { ...opts, keepChip: true }, { healthIntervalMs: 100, txStuckMs: 500 });

  test('a chip that stops answering: fault, retries with back-off while it is gone, running again once it answers', async () => {
    const { chip, conc, lines } = await fast();
    try {
      await conc.start();
      chip.faults.dead = true;
      await waitFor(() => conc.counters.faults === 1, 2000, 'fault detected');
      assert.equal(conc.radioStats().state, 'down');
      assert.ok(lines().some((l) => l.msg === 'SX1301 fault: re-initialising' && /VERSION reads 0/.test(String(l.reason))));
      await sleep(400);
      assert.ok(lines().some((l) => l.msg === 'SX1301 re-initialisation failed'), 'retried while gone');
      const t0 = performance.now();
      chip.faults.dead = false;
      await waitFor(() => conc.counters.reinits === 1, 5000, 're-initialised');
      assert.ok(performance.now() - t0 < 5000);
      assert.equal(conc.radioStats().state, 'listening');
      assert.ok(chip.started, 'the AGC handshake ran again');
      assert.deepEqual(chip.injectPacket(UPLINK), { ok: true });
      await waitFor(() => conc.counters.received === 1, 2000, 'receiving again');
    } finally {
      await conc.stop();
    }
  });

  test('a chip that reset itself (counter back to 0) and a TX that never completes are faults too', async () => {
    const { chip, conc, lines } = await fast({ counterStartUs: 50_000_000 });
    try {
      await conc.start();
      await conc.counterUs();
      await sleep(250);
      chip.selfReset();
      await waitFor(() => conc.counters.reinits === 1, 5000, 're-initialised after the self-reset');
      assert.ok(lines().some((l) => /counter went back/.test(String(l.reason))));
      // A transmitter that never finishes (here: still "emitting" after 0.5 s, the configured limit).
      chip.faults.stuckTx = true;
      await sleep(300);
      assert.equal(conc.counters.faults, 1, 'emitting for a while is not a fault');
      await waitFor(() => conc.counters.faults === 2, 3000, 'stuck TX detected');
      assert.ok(lines().some((l) => /TX never completes/.test(String(l.reason))));
      chip.faults.stuckTx = false;
      await waitFor(() => conc.counters.reinits === 2, 5000, 're-initialised after the stuck TX');
    } finally {
      await conc.stop();
    }
  });

  test('a restart for a new plan that fails (chip gone) is not left off: re-initialised with the new plan once the chip answers', async () => {
    const { chip, conc, lines } = await fast();
    try {
      await conc.start();
      chip.faults.dead = true;
      const board = { ...testConfig().board };
      await assert.rejects(conc.reconfigure(board));
      assert.equal(conc.state, 'recovering');
      assert.ok(lines().some((l) => l.msg === 'SX1301 could not be restarted with the new plan: re-initialising'));
      chip.faults.dead = false;
      await waitFor(() => conc.counters.reinits === 1, 5000, 're-initialised');
      assert.equal(conc.state, 'running');
      assert.ok(chip.started, 'the chip receives again');
    } finally {
      await conc.stop();
    }
  });
});
