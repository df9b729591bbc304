/**
 * The LNS backend on the single-channel gateway (issue 17): a join request
 * through the emulated SX1276 reaches an LNS stand-in over TLS as `jreq`;
 * the stand-in's `dnmsg` (RX1 at xtime + 5 s) goes out of the emulated chip
 * inside the device's window with inverted I/Q, a device radio hears it, and
 * `dntxed` comes back with the xtime of the start. The server's 8-channel
 * EU868 plan on a one-channel radio is accepted with a line naming the
 * channels it does not hear. No UDP server is configured. The same RX2 and
 * class C scenarios as on the sim (lns-cli.test.ts): a dnmsg whose RX1 has
 * passed goes out in RX2 (xtime + RxDelay + 1 s, 869.525 MHz SF12), a class C
 * one without xtime at once on the RX2 settings, each heard by a device.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Forwarder } from '../src/forwarder.js';
import { memoryLogger, testConfig, waitFor } from './helpers/harness.js';
import { deviceReceiver, emulatedSx127xRadio } from './helpers/sx127x-gateway.js';
import { shippedConf } from './helpers/cli-process.js';
import { eu868RouterConfig, LnsStandIn, stationDir, tlsFile } from './helpers/lns-server.js';

const clockUs = () => performance.now() * 1000;

/** An LNS stand-in over TLS (bearer token, the shipped EU868 plan) and an LNS-only forwarder on the emulated SX1276, started. */
async function gateway() {
  const lns = new LnsStandIn({ token: 'Bearer K', routerConfig: () => eu868RouterConfig(shippedConf().SX1301_conf!) });
  const port = await lns.start();
  const dir = stationDir({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt'), 'tc.key': 'Authorization: Bearer K\n' });
  const config = testConfig({ radio: 'sx127x', servers: [] }, {}, { lns_conf: [{ station_dir: dir }] as never });
  const mem = memoryLogger('info');
  const { emu, conc } = emulatedSx127xRadio(config, mem.log, clockUs);
  const fwd = new Forwarder({ config, concentrator: conc, log: mem.log });
  await fwd.start();
  return { lns, mem, emu, fwd };
}

/** A join request (DevNonce `devNonce`) received by the emulated chip on 868.1 MHz SF7; its end on the chip's clock and the jreq the LNS got. */
async function joinUplink(emu: Awaited<ReturnType<typeof gateway>>['emu'], lns: LnsStandIn, devNonce: number) {
  const join = Buffer.alloc(23);
  join.writeUInt16LE(devNonce, 17);
  assert.ok(emu.chip.injectFrame({ payload: join, sf: 7, bwHz: 125000, crc: 'ok', rssiDbm: -90, snrDb: 7, freqHz: 868_100_000 }));
  const uplinkEnd = emu.chip.lastRxDoneUs!;
  const jreq = await waitFor(() => lns.messages('jreq')[0], 5000, 'jreq');
  return { uplinkEnd, jreq };
}

describe('LNS on the SX127x gateway (emulated SX1276)', () => {
  test('jreq → dnmsg RX1 → the emulated chip transmits at xtime + 5 s, inverted I/Q, heard by the device → dntxed', async () => {
    const { lns, mem, emu, fwd } = await gateway();
    try {
      assert.equal(fwd.links.length, 0, 'LNS only');
      const cfg = await waitFor(() => mem.lines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('router_config: the radio\'s channels differ')), 10_000, 'plan line');
      assert.equal((cfg.notHeardHz as number[]).length, 7, 'the plan\'s other 7 channels');
      await waitFor(() => fwd.lnsBackends[0]!.state === 'connected', 5000, 'connected');
      const { uplinkEnd, jreq } = await joinUplink(emu, lns, 0x0101);
      assert.equal(jreq.msg.DR, 5);
      const xtime = BigInt((jreq.msg.upinfo as { xtime: string }).xtime);
      const accept = Buffer.concat([Buffer.from([0x20]), Buffer.alloc(16, 0x5a)]);
      lns.sendText(`{"msgtype":"dnmsg","DevEui":"00-00-00-00-00-00-00-00","dC":0,"diid":42,"pdu":"${accept.toString('hex')}","RxDelay":5,"RX1DR":5,"RX1Freq":868100000,"RX2DR":0,"RX2Freq":869525000,"priority":0,"rctx":0,"xtime":${xtime}}`);
      const tx = await waitFor(() => emu.chip.txEvents.find((t) => t.payload.equals(accept)), 8000, 'RX1 transmission');
      const errUs = tx.startUs - (uplinkEnd + 5_000_000);
      // The device's window tolerance, as in sx127x-join.test.ts (LoRaMac-node ±10 ms).
      assert.ok(Math.abs(errUs) <= 10_000, `TX started ${errUs.toFixed(0)} µs from RX1`);
      assert.equal(tx.settings.txIqInverted, true);
      assert.equal(tx.settings.spreadingFactor, 7);
      const device = await deviceReceiver(868_100_000, 7, clockUs);
      assert.ok(device.injectFrame({ payload: tx.payload, sf: 7, bwHz: 125000, crc: tx.settings.crcOn ? 'ok' : 'none', rssiDbm: -50, snrDb: 9, freqHz: tx.settings.freqHz, syncWord: tx.settings.syncWord, iqInverted: tx.settings.txIqInverted }), `device: ${device.lastRejection}`);
      const dntxed = await waitFor(() => lns.messages('dntxed').find((m) => m.msg.diid === 42), 3000, 'dntxed');
      const txX = BigInt(dntxed.msg.xtime as string);
      const d = Number(txX - xtime) - 5_000_000;
      assert.ok(Math.abs(d) <= 10_000, `dntxed xtime is ${d} µs from xtime + 5 s`);
      assert.equal(txX >> 48n, xtime >> 48n);
      assert.deepEqual(emu.chip.violations, []);
    } finally {
      await fwd.stop();
      await lns.stop();
    }
  });

  test('RX1 passed: RX2 at xtime + RxDelay + 1 s on 869.525 MHz SF12; class C without xtime at once on RX2; both heard by a device, dntxed for each', async () => {
    const { lns, mem, emu, fwd } = await gateway();
    try {
      await waitFor(() => fwd.lnsBackends[0]!.state === 'connected', 10_000, 'connected');
      const { uplinkEnd, jreq } = await joinUplink(emu, lns, 0x0202);
      const xtime = BigInt((jreq.msg.upinfo as { xtime: string }).xtime);
      // RxDelay 1 s, sent once RX1 can no longer be had (at least 1 s after the uplink): RX2, one second later.
      while (clockUs() - uplinkEnd < 1_050_000) await new Promise((r) => setTimeout(r, 10));
      const rx2 = Buffer.concat([Buffer.from([0x20]), Buffer.alloc(16, 0x2b)]);
      lns.sendText(`{"msgtype":"dnmsg","DevEui":"00-00-00-00-00-00-00-00","dC":0,"diid":50,"pdu":"${rx2.toString('hex')}","RxDelay":1,"RX1DR":5,"RX1Freq":868100000,"RX2DR":0,"RX2Freq":869525000,"priority":0,"rctx":0,"xtime":${xtime}}`);
      const tx2 = await waitFor(() => emu.chip.txEvents.find((t) => t.payload.equals(rx2)), 5000, 'RX2 transmission');
      const errUs = tx2.startUs - (uplinkEnd + 2_000_000);
      assert.ok(Math.abs(errUs) <= 10_000, `RX2 started ${errUs.toFixed(0)} µs from uplink + 2 s`);
      // The frequency register's step is 32 MHz / 2^19 ≈ 61 Hz [SX1276 datasheet RegFrf].
      assert.ok(Math.abs(tx2.settings.freqHz - 869_525_000) < 62, `on ${tx2.settings.freqHz} Hz`);
      assert.deepEqual([tx2.settings.spreadingFactor, tx2.settings.txIqInverted], [12, true]);
      const device2 = await deviceReceiver(869_525_000, 12, clockUs);
      assert.ok(device2.injectFrame({ payload: tx2.payload, sf: 12, bwHz: 125000, crc: tx2.settings.crcOn ? 'ok' : 'none', rssiDbm: -50, snrDb: 9, freqHz: tx2.settings.freqHz, syncWord: tx2.settings.syncWord, iqInverted: tx2.settings.txIqInverted }), `device: ${device2.lastRejection}`);
      const d2 = await waitFor(() => lns.messages('dntxed').find((m) => m.msg.diid === 50), 3000, 'dntxed RX2');
      assert.deepEqual([d2.msg.DR, d2.msg.Freq], [0, 869525000], 'dntxed names RX2');

      const c = Buffer.concat([Buffer.from([0x60]), Buffer.alloc(12, 0x3c)]);
      const sentAt = clockUs();
      lns.sendText(`{"msgtype":"dnmsg","DevEui":"00-00-00-00-00-00-00-00","dC":2,"diid":51,"pdu":"${c.toString('hex')}","RX2DR":0,"RX2Freq":869525000,"priority":0,"rctx":0}`);
      const txc = await waitFor(() => emu.chip.txEvents.find((t) => t.payload.equals(c)), 5000, 'class C transmission');
      // At once: as soon as the RX2 frame (SF12, ~1.2 s on air) has ended, as the JIT queue slots class C.
      const freeAt = Math.max(sentAt, tx2.endUs);
      assert.ok(txc.startUs >= tx2.endUs, 'after the RX2 frame ended');
      assert.ok(txc.startUs - freeAt < 500_000, `class C went out ${(txc.startUs - freeAt) / 1000} ms after the radio was free`);
      // The frequency register's step is 32 MHz / 2^19 ≈ 61 Hz [SX1276 datasheet RegFrf].
      assert.ok(Math.abs(txc.settings.freqHz - 869_525_000) < 62, `on ${txc.settings.freqHz} Hz`);
      assert.deepEqual([txc.settings.spreadingFactor, txc.settings.txIqInverted], [12, true]);
      const deviceC = await deviceReceiver(869_525_000, 12, clockUs);
      assert.ok(deviceC.injectFrame({ payload: txc.payload, sf: 12, bwHz: 125000, crc: txc.settings.crcOn ? 'ok' : 'none', rssiDbm: -50, snrDb: 9, freqHz: txc.settings.freqHz, syncWord: txc.settings.syncWord, iqInverted: txc.settings.txIqInverted }), `device: ${deviceC.lastRejection}`);
      await waitFor(() => lns.messages('dntxed').find((m) => m.msg.diid === 51), 3000, 'dntxed class C');
      assert.deepEqual(emu.chip.violations, []);
    } finally {
      await fwd.stop();
      await lns.stop();
    }
  });
});
