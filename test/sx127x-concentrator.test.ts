import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EmulatedSx127x, Sx127xConcentrator, timeOnAirUs, type Sx127xConcentratorOptions, type TxPacket } from '../hal/index.js';
import { Mode, OpModeBit, Reg } from '../hal/sx127x/registers.js';
import { runConcentratorContract, type ContractSubject } from './contract/concentrator-contract.js';
import { memoryLogger, waitFor } from './helpers/harness.js';

const clockUs = () => performance.now() * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RX = { freqHz: 868_100_000, sf: 7, bwHz: 125000, codeRate: '4/5', syncWord: 0x34 } as const;

function rig(over: Partial<Sx127xConcentratorOptions> = {}, board: { dio0?: boolean; reset?: boolean; version?: number } = {}) {
  const emu = new EmulatedSx127x({ clockUs, ...board });
  const { log, lines } = memoryLogger();
  const conc = new Sx127xConcentrator({
    open: async () => emu.hardware(), rx: { ...RX }, paOutput: 'PA_BOOST', txPowerMaxDbm: 20,
    txFreqMinHz: 863_000_000, txFreqMaxHz: 870_000_000, log, clockUs, healthIntervalMs: 50, ...over,
  });
  return { emu, chip: emu.chip, conc, lines };
}

function uplink(payload: Buffer, over: Record<string, unknown> = {}) {
  return { payload, sf: 7, bwHz: 125000, crc: 'ok' as const, rssiDbm: -70, snrDb: 8.5, freqHz: 868_100_000, ...over };
}

function downlink(countUs: number, payload: Buffer, over: Partial<TxPacket> = {}): TxPacket {
  return {
    mode: 'timestamped', countUs, freqHz: 869_525_000, rfChain: 0, powerDbm: 14,
    radio: { modulation: 'LORA', spreadingFactor: 9, bandwidthHz: 125000, codeRate: '4/5' },
    invertPolarity: true, preambleSymbols: 8, noCrc: true, noHeader: false, payload, ...over,
  };
}

describe('SX127x concentrator on the emulated SX1276', () => {
  test('start: reset pulse, version check, §12 receive configuration, continuous RX', async () => {
    const { emu, chip, conc } = rig();
    try {
      await conc.start();
      assert.equal(emu.resets, 1);
      const r = chip.registers;
      assert.equal(r[Reg.OpMode], 0x85);
      assert.deepEqual([r[Reg.FrfMsb], r[Reg.FrfMid], r[Reg.FrfLsb]], [0xd9, 0x06, 0x66]);
      assert.deepEqual([r[Reg.ModemConfig1], r[Reg.ModemConfig2], r[Reg.ModemConfig3], r[Reg.SyncWord]], [0x72, 0x74, 0x04, 0x34]);
      assert.deepEqual([r[Reg.InvertIQ], r[Reg.InvertIQ2], r[Reg.DioMapping1]! >> 6], [0x27, 0x1d, 0]);
      assert.deepEqual(chip.violations, []);
    } finally {
      await conc.stop();
    }
  });

  test('an SX1272 or a silent bus fails start with a coded one-line error', async () => {
    for (const [version, code] of [[0x22, 'ESX1272'], [0x00, 'ENORADIO'], [0xff, 'ENORADIO']] as const) {
      const { conc } = rig({}, { version });
      await assert.rejects(conc.start(), (e: Error & { code?: string }) => e.code === code && !e.message.includes('\n'));
      assert.equal(await conc.txStatus(), 'off');
    }
  });

  test('RxDone on DIO0: frame, CRC status, SNR/RSSI and tmst at the edge', async () => {
    const { chip, conc } = rig({ dio0LatencyUs: 0 });
    try {
      await conc.start();
      let signalled = 0;
      conc.onReceive(() => signalled++);
      const before = await conc.counterUs();
      assert.ok(chip.injectFrame(uplink(Buffer.from('hello'))));
      const edge = await conc.counterUs();
      // Frames on the air are tens of ms apart: each is read before the next ends.
      await waitFor(() => signalled >= 1, 2000, 'first frame');
      assert.ok(chip.injectFrame(uplink(Buffer.from('bad'), { crc: 'bad', snrDb: -7.25, rssiDbm: -118 })));
      await waitFor(() => signalled >= 2, 2000, 'second frame');
      assert.ok(chip.injectFrame(uplink(Buffer.from('none'), { crc: 'none', codeRate: '4/6' })));
      await waitFor(() => signalled >= 3, 2000, 'three frames');
      const got = await conc.receive(8);
      assert.deepEqual(got.map((p) => [p.payload.toString(), p.crcStatus]), [['hello', 'ok'], ['bad', 'bad'], ['none', 'none']]);
      const [a, b, c] = got;
      assert.equal(a!.freqHz, 868_100_000);
      assert.equal(a!.snrDb, 8.5);
      assert.equal(a!.rssiDbm, -70);
      assert.equal(b!.snrDb, -7.25);
      assert.ok(Math.abs(b!.rssiDbm - -118) <= 0.5, `rssi ${b!.rssiDbm}`); // Pkt register steps, §11
      assert.deepEqual(c!.radio, { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 125000, codeRate: '4/6' });
      // Stamped in the DIO0 callback: after the edge, and within a few ms of it on this host.
      const d = (a!.countUs - edge) | 0;
      assert.ok(((a!.countUs - before) | 0) >= 0 && d < 20_000, `tmst ${d} µs after the edge`);
      assert.equal(conc.counters.rxCrcBad, 1);
      assert.equal(conc.counters.rxNoCrc, 1);
    } finally {
      await conc.stop();
    }
  });

  test('without DIO0 the IRQ register is polled and the frame stamped between two polls', async () => {
    const { chip, conc } = rig({ pollIntervalMs: 2 }, { dio0: false });
    try {
      await conc.start();
      await sleep(10);
      const edge = await conc.counterUs();
      chip.injectFrame(uplink(Buffer.from('polled')));
      await waitFor(() => conc.counters.rxFrames === 1, 2000, 'polled frame');
      const [p] = await conc.receive(1);
      const detected = await conc.counterUs();
      // The midpoint of the previous poll and the detecting one: never later than the detection.
      assert.ok(((detected - p!.countUs) | 0) >= 0);
      assert.ok(Math.abs((p!.countUs - edge) | 0) < 20_000, `stamped ${(p!.countUs - edge) | 0} µs from the edge`);
    } finally {
      await conc.stop();
    }
  });

  test('a timestamped downlink: §13 registers at TX start, never early, back in RX after TxDone, gap counted', async () => {
    const { chip, conc } = rig();
    try {
      await conc.start();
      const target = ((await conc.counterUs()) + 60_000) >>> 0;
      const payload = Buffer.from('join-accept-17byt');
      assert.deepEqual(await conc.send(downlink(target, payload)), { ok: true });
      assert.equal(await conc.txStatus(), 'scheduled');
      const tx = await waitFor(() => chip.txEvents[0], 2000, 'TX start');
      const r = tx.registers;
      assert.equal(r[Reg.OpMode], OpModeBit.LongRangeMode | Mode.TX);
      assert.deepEqual([r[Reg.FrfMsb], r[Reg.FrfMid], r[Reg.FrfLsb]], [0xd9, 0x61, 0x9a]);
      assert.deepEqual([r[Reg.PaConfig], r[Reg.PaDac], r[Reg.Ocp]], [0x8c, 0x84, 0x2b]);
      assert.deepEqual([r[Reg.ModemConfig1], r[Reg.ModemConfig2], r[Reg.ModemConfig3]], [0x72, 0x90, 0x04]);
      assert.deepEqual([r[Reg.InvertIQ], r[Reg.InvertIQ2], r[Reg.DioMapping1]! >> 6], [0x26, 0x19, 1]);
      assert.deepEqual(tx.payload, payload);
      const startCount = conc.counterAt(tx.startUs);
      const err = (startCount - target) | 0;
      assert.ok(err >= 0, `TX started ${-err} µs early`);
      assert.ok(err < 200_000, `TX started ${err} µs late`);
      // TxDone → the §12 configuration again, in continuous RX.
      await waitFor(() => conc.rxRestoreUs.total === 1, 2000, 'return to RX');
      const back = chip.modeChanges.find((m) => m.atUs > tx.endUs && m.to === Mode.RXCONTINUOUS)!;
      // The 5 ms target is measured by `npm run bench`; here: RX comes back right after TxDone, not later.
      assert.ok(back.atUs >= tx.endUs && back.atUs - tx.endUs < 100_000, `back in RX ${back.atUs - tx.endUs} µs after TxDone`);
      const rr = chip.registers;
      assert.deepEqual([rr[Reg.OpMode], rr[Reg.InvertIQ], rr[Reg.InvertIQ2], rr[Reg.FrfMsb], rr[Reg.FrfMid], rr[Reg.FrfLsb], rr[Reg.ModemConfig2]], [0x85, 0x27, 0x1d, 0xd9, 0x06, 0x66, 0x74]);
      assert.equal(await conc.txStatus(), 'free');
      const gap = conc.rxGapUs.summary();
      assert.equal(gap.count, 1);
      assert.ok(gap.max! >= tx.airtimeUs, 'the gap covers at least the time on air');
      // DIO0 latency measured on TxDone.
      assert.equal(conc.dio0LatencyUs.total, 1);
      assert.ok(conc.dio0LatencyUs.max! >= 0);
      // And it hears uplinks again.
      assert.ok(chip.injectFrame(uplink(Buffer.from('after'))));
      await waitFor(() => conc.counters.rxFrames === 1, 2000, 'uplink after TX');
      assert.deepEqual(chip.violations, []);
    } finally {
      await conc.stop();
    }
  });

  test('without DIO0, TxDone is polled: the radio is back in RX after the frame and hears uplinks', async () => {
    const { chip, conc } = rig({ pollIntervalMs: 1 }, { dio0: false });
    try {
      await conc.start();
      const t = ((await conc.counterUs()) + 40_000) >>> 0;
      assert.deepEqual(await conc.send(downlink(t, Buffer.from('polled-tx'), { radio: { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 125000, codeRate: '4/5' } })), { ok: true });
      const tx = await waitFor(() => chip.txEvents[0], 2000, 'TX');
      assert.ok(((conc.counterAt(tx.startUs) - t) | 0) >= 0, 'never early');
      await waitFor(() => conc.rxRestoreUs.total === 1, 2000, 'polled TxDone');
      assert.equal(chip.registers[Reg.OpMode], 0x85);
      assert.equal(conc.dio0LatencyUs.total, 0, 'no DIO0 latency without DIO0');
      assert.ok(chip.injectFrame(uplink(Buffer.from('after'))));
      await waitFor(() => conc.counters.rxFrames === 1, 2000, 'uplink after a polled TX');
      assert.deepEqual(chip.violations, []);
    } finally {
      await conc.stop();
    }
  });

  test('an implicit-header frame (beacon layout) sets ImplicitHeaderModeOn only for the TX', async () => {
    const { chip, conc } = rig();
    try {
      await conc.start();
      const t = ((await conc.counterUs()) + 40_000) >>> 0;
      assert.deepEqual(await conc.send(downlink(t, Buffer.alloc(17, 0x55), { noHeader: true, noCrc: true, invertPolarity: false, preambleSymbols: 10 })), { ok: true });
      const tx = await waitFor(() => chip.txEvents[0], 2000, 'TX');
      assert.equal(tx.registers[Reg.ModemConfig1]! & 0x01, 1);
      assert.equal(tx.settings.implicitHeader, true);
      assert.equal(tx.settings.txIqInverted, false);
      assert.equal(tx.settings.preambleSymbols, 10);
      await waitFor(() => conc.rxRestoreUs.total === 1, 3000, 'back to RX');
      assert.equal(chip.registers[Reg.ModemConfig1], 0x72, 'explicit header again for RX');
    } finally {
      await conc.stop();
    }
  });

  test('stop() during an emission lets the frame finish, then puts the radio in standby', async () => {
    const { chip, conc } = rig();
    await conc.start();
    const t = ((await conc.counterUs()) + 30_000) >>> 0;
    assert.deepEqual(await conc.send(downlink(t, Buffer.from('last words'))), { ok: true });
    await waitFor(() => chip.txEvents[0], 2000, 'TX');
    await conc.stop();
    const tx = chip.txEvents[0]!;
    assert.equal(tx.abortedAtUs, undefined, 'not cut');
    assert.equal(chip.registers[Reg.OpMode], 0x81, 'LoRa standby');
    assert.equal(await conc.txStatus(), 'off');
  });

  test('LowDataRateOptimize follows the downlink: on at SF12BW125, off at SF9', async () => {
    const { chip, conc } = rig();
    try {
      await conc.start();
      const t1 = ((await conc.counterUs()) + 40_000) >>> 0;
      const sf12 = downlink(t1, Buffer.from([1, 2, 3]), { radio: { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 125000, codeRate: '4/5' }, powerDbm: 20 });
      assert.deepEqual(await conc.send(sf12), { ok: true });
      await waitFor(() => conc.rxRestoreUs.total === 1, 5000, 'SF12 TX done');
      assert.equal(chip.txEvents[0]!.registers[Reg.ModemConfig3], 0x0c);
      assert.deepEqual([chip.txEvents[0]!.registers[Reg.PaConfig], chip.txEvents[0]!.registers[Reg.PaDac]], [0x8f, 0x87]);
      assert.equal(chip.txEvents[0]!.airtimeUs, timeOnAirUs({ radio: sf12.radio, payloadSize: 3, preambleSymbols: 8, noCrc: true, noHeader: false }));
      assert.equal(chip.registers[Reg.ModemConfig3], 0x04, 'RX configuration restored');
    } finally {
      await conc.stop();
    }
  });

  test('refusals: range, power, modulation, busy, a target in the past', async () => {
    const { conc } = rig({ txPowerMaxDbm: 14 });
    try {
      await conc.start();
      const now = await conc.counterUs();
      const t = (now + 100_000) >>> 0;
      const err = async (p: TxPacket) => {
        const r = await conc.send(p);
        return r.ok ? 'ok' : r.error;
      };
      assert.equal(await err(downlink(t, Buffer.from([1]), { freqHz: 915_000_000 })), 'TX_FREQ');
      assert.equal(await err(downlink(t, Buffer.from([1]), { powerDbm: 17 })), 'TX_POWER');
      assert.equal(await err(downlink(t, Buffer.from([1]), { powerDbm: 1 })), 'TX_POWER');
      assert.equal(await err(downlink(t, Buffer.from([1]), { radio: { modulation: 'FSK', datarateBps: 50000 } })), 'INVALID');
      assert.equal(await err(downlink((now - 1000) >>> 0, Buffer.from([1]))), 'INVALID');
      assert.equal(await err(downlink(t, Buffer.from([1]))), 'ok');
      assert.equal(await err(downlink((t + 500_000) >>> 0, Buffer.from([1]))), 'BUSY');
    } finally {
      await conc.stop();
    }
  });

  test('a frame handed over while the previous one is on air waits for it (JIT spacing) and starts on time', async () => {
    const { chip, conc } = rig();
    try {
      await conc.start();
      const sf7 = { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 125000, codeRate: '4/5' } as const;
      const first = downlink(((await conc.counterUs()) + 40_000) >>> 0, Buffer.from('first-frame'), { radio: sf7 });
      const air = timeOnAirUs({ radio: sf7, payloadSize: 11, preambleSymbols: 8, noCrc: true, noHeader: false });
      assert.deepEqual(await conc.send(first), { ok: true });
      await waitFor(() => chip.txEvents.length === 1, 2000, 'first TX');
      // Handed over now, while the first is emitting: starts 3 ms after the first ends (the JIT's minimum spacing).
      assert.equal(await conc.txStatus(), 'emitting');
      const second = downlink((first.countUs + air + 3000 + 30_000) >>> 0, Buffer.from('second'), { radio: sf7 });
      assert.deepEqual(await conc.send(second), { ok: true });
      const tx2 = await waitFor(() => chip.txEvents[1], 2000, 'second TX');
      const e = (conc.counterAt(tx2.startUs) - second.countUs) | 0;
      assert.ok(e >= 0 && e < 200_000, `second TX ${e} µs from its target`);
      assert.ok(tx2.startUs >= chip.txEvents[0]!.endUs, 'after the first ended');
      assert.deepEqual(chip.violations, []);
      // Immediate frames while emitting are still refused.
      await waitFor(() => chip.mode === 3, 2000, 'second on air');
      const r = await conc.send({ ...second, mode: 'immediate', payload: Buffer.from('imm') });
      assert.equal(r.ok ? 'ok' : r.error, 'BUSY');
    } finally {
      await conc.stop();
    }
  });

  test('a timestamped downlink across the u32 counter wrap starts on time', async () => {
    const { chip, conc } = rig({ counterStartUs: 2 ** 32 - 30_000 });
    try {
      await conc.start();
      const now = await conc.counterUs();
      const target = (now + 80_000) >>> 0;
      assert.ok(target < now, 'the target is past the wrap');
      assert.deepEqual(await conc.send(downlink(target, Buffer.from('wrap'))), { ok: true });
      const tx = await waitFor(() => chip.txEvents[0], 2000, 'TX start');
      const e = (conc.counterAt(tx.startUs) - target) | 0;
      assert.ok(e >= 0 && e < 200_000, `error ${e} µs`);
    } finally {
      await conc.stop();
    }
  });

  test('an SPI error while listening: logged, counted, radio reset and listening again', async () => {
    const { emu, chip, conc, lines } = rig();
    try {
      await conc.start();
      chip.failNextTransfers(1);
      chip.injectFrame(uplink(Buffer.from('lost'))); // DIO0 → the frame read fails
      await waitFor(() => conc.counters.reinits === 1, 3000, 're-init');
      assert.equal(conc.counters.faults, 1);
      assert.equal(emu.resets, 2);
      assert.ok(lines().some((l) => l.msg === 'SX127x radio fault: re-initialising' && String(l.reason).includes('SPI error')));
      assert.equal(chip.registers[Reg.OpMode], 0x85);
      assert.ok(chip.injectFrame(uplink(Buffer.from('again'))));
      await waitFor(() => conc.counters.rxFrames === 1, 2000, 'uplink after re-init');
    } finally {
      await conc.stop();
    }
  });

  test('a radio that stops answering (0xFF) is retried with back-off until it answers again', async () => {
    const { chip, conc, lines } = rig();
    try {
      await conc.start();
      chip.stopAnswering(0xff);
      await waitFor(() => conc.counters.faults === 1, 3000, 'fault detected by the health check');
      assert.match(String(lines().find((l) => l.msg === 'SX127x radio fault: re-initialising')!.reason), /RegVersion reads 0xff/);
      const r = await conc.send(downlink(((await conc.counterUs()) + 100_000) >>> 0, Buffer.from([1])));
      assert.equal(r.ok ? 'ok' : r.error, 'NOT_STARTED');
      await waitFor(() => lines().filter((l) => l.msg === 'SX127x re-initialisation failed').length >= 2, 3000, 'failed retries');
      chip.resumeAnswering();
      await waitFor(() => conc.counters.reinits === 1, 5000, 're-init after the radio is back');
      assert.equal(chip.registers[Reg.OpMode], 0x85);
    } finally {
      await conc.stop();
    }
  });

  test('a missed DIO0 edge does not leave the radio deaf: the health check reads the frame and counts it', async () => {
    const { emu, chip, conc, lines } = rig();
    try {
      await conc.start();
      const hw = emu.hardware();
      hw.dio0!.close(); // the driver's edge subscription is gone: edges are "missed"
      assert.ok(chip.injectFrame(uplink(Buffer.from('missed'))));
      await waitFor(() => conc.counters.rxMissedEdge === 1, 3000, 'health check');
      const [p] = await conc.receive(1);
      assert.equal(p!.payload.toString(), 'missed');
      assert.ok(lines().some((l) => l.msg === 'RxDone found by the health check (DIO0 edge missed): frame forwarded with a late tmst'));
      assert.equal(conc.counters.faults, 0);
    } finally {
      await conc.stop();
    }
  });

  test('two frames before the driver reads: the overwritten one is counted as lost (RegRxPacketCntValue), not silently dropped (issue 15)', async () => {
    const { emu, chip, conc, lines } = rig();
    try {
      await conc.start();
      emu.hardware().dio0!.close(); // no edge: both frames land before the health check reads
      assert.ok(chip.injectFrame(uplink(Buffer.from('first'))));
      assert.ok(chip.injectFrame(uplink(Buffer.from('second'))));
      await waitFor(() => conc.counters.rxMissedEdge === 1, 3000, 'health check');
      const got = await conc.receive(4);
      assert.deepEqual(got.map((p) => p.payload.toString()), ['second'], 'the radio kept the last one');
      assert.equal(conc.counters.rxOverrun, 1);
      assert.ok(lines().some((l) => l.msg === 'frames overwritten in the radio FIFO before they could be read (overrun): lost' && l.lost === 1));
      // Frames read one at a time: nothing counted.
      assert.ok(chip.injectFrame(uplink(Buffer.from('third'))));
      await waitFor(() => conc.counters.rxMissedEdge === 2, 3000, 'health check');
      assert.equal(conc.counters.rxOverrun, 1);
    } finally {
      await conc.stop();
    }
  });

  test('a reset while a downlink is scheduled is found before it is loaded: counted, the downlink aborted, the radio re-initialised (issue 15)', async () => {
    const { chip, conc, lines } = rig();
    try {
      await conc.start();
      const target = ((await conc.counterUs()) + 1_500_000) >>> 0;
      assert.deepEqual(await conc.send(downlink(target, Buffer.from('late'))), { ok: true });
      chip.reset(); // brown-out 1.5 s before the frame's time
      await waitFor(() => conc.counters.resetBeforeTx === 1, 1000, 'found by the health check');
      assert.equal(conc.counters.txAborted, 1);
      assert.match(String(lines().find((l) => l.msg === 'SX127x radio fault: re-initialising')!.reason), /with a downlink scheduled \(aborted\)/);
      await waitFor(() => conc.counters.reinits === 1, 3000, 're-init');
      assert.equal(chip.registers[Reg.OpMode], 0x85);
      await new Promise((r) => setTimeout(r, 1700));
      assert.equal(conc.counters.txStarted, 0, 'nothing emitted from a radio that had lost its configuration');
    } finally {
      await conc.stop();
    }
  });

  test('a radio that reset itself (found out of RX) is re-initialised', async () => {
    const { chip, conc, lines } = rig();
    try {
      await conc.start();
      chip.reset(); // brown-out: FSK standby, default registers
      await waitFor(() => conc.counters.reinits === 1, 3000, 're-init');
      assert.match(String(lines().find((l) => l.msg === 'SX127x radio fault: re-initialising')!.reason), /left continuous RX/);
      assert.equal(chip.registers[Reg.OpMode], 0x85);
    } finally {
      await conc.stop();
    }
  });

  test('radioStats reports timing figures and counters', async () => {
    const { conc } = rig();
    try {
      await conc.start();
      const s = conc.radioStats();
      assert.equal(s.type, 'sx127x');
      assert.equal(s.state, 'listening');
      assert.deepEqual(s.txStartErrorUs, { count: 0, p50: null, p99: null, max: null });
    } finally {
      await conc.stop();
    }
  });
});

runConcentratorContract('Sx127xConcentrator (emulated SX1276)', async (): Promise<ContractSubject> => {
  const { chip, conc } = rig({ txFreqMinHz: 863_000_000, txFreqMaxHz: 870_000_000, txPowerMaxDbm: 14 });
  const emissions: { payload: Buffer; countUs: number }[] = [];
  return {
    conc,
    injectUplink: async (payload) => {
      // One frame ends at a time on the air: wait until the driver has read it.
      const n = conc.counters.rxFrames;
      assert.ok(chip.injectFrame(uplink(payload)), chip.lastRejection);
      await waitFor(() => conc.counters.rxFrames > n, 2000, 'frame read');
    },
    emissionOf: (payload, timeoutMs) =>
      waitFor(() => {
        const tx = chip.txEvents.find((t) => t.payload.equals(payload));
        return tx ? conc.counterAt(tx.startUs) : undefined;
      }, timeoutMs, 'emission'),
    txRange: [863_000_000, 870_000_000],
    tablePowerDbm: 14,
    afterStart: async () => {
      emissions.length = 0;
    },
    cleanup: () => conc.stop(),
  };
});
