/**
 * The LNS backend on the single-channel gateway (issue 17): a join request
 * through the emulated SX1276 reaches an LNS stand-in over TLS as `jreq`;
 * the stand-in's `dnmsg` (RX1 at xtime + 5 s) goes out of the emulated chip
 * inside the device's window with inverted I/Q, a device radio hears it, and
 * `dntxed` comes back with the xtime of the start. The server's 8-channel
 * EU868 plan on a one-channel radio is accepted with a line naming the
 * channels it does not hear. No UDP server is configured.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Forwarder } from '../src/forwarder.js';
import { memoryLogger, testConfig, waitFor } from './helpers/harness.js';
import { deviceReceiver, emulatedSx127xRadio } from './helpers/sx127x-gateway.js';
import { shippedConf } from './helpers/cli-process.js';
import { eu868RouterConfig, LnsStandIn, stationDir, tlsFile } from './helpers/lns-server.js';

const clockUs = () => performance.now() * 1000;

describe('LNS on the SX127x gateway (emulated SX1276)', () => {
  test('jreq → dnmsg RX1 → the emulated chip transmits at xtime + 5 s, inverted I/Q, heard by the device → dntxed', async () => {
    const lns = new LnsStandIn({ token: 'Bearer K', routerConfig: () => eu868RouterConfig(shippedConf().SX1301_conf!) });
    const port = await lns.start();
    const dir = stationDir({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt'), 'tc.key': 'Authorization: Bearer K\n' });
    const config = testConfig({ radio: 'sx127x', servers: [] }, {}, { lns_conf: [{ station_dir: dir }] as never });
    const mem = memoryLogger('info');
    const { emu, conc } = emulatedSx127xRadio(config, mem.log, clockUs);
    const fwd = new Forwarder({ config, concentrator: conc, log: mem.log });
    await fwd.start();
    try {
      assert.equal(fwd.links.length, 0, 'LNS only');
      const cfg = await waitFor(() => mem.lines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('router_config: the radio\'s channels differ')), 10_000, 'plan line');
      assert.equal((cfg.notHeardHz as number[]).length, 7, 'the plan\'s other 7 channels');
      await waitFor(() => fwd.lnsBackends[0]!.state === 'connected', 5000, 'connected');
      const join = Buffer.alloc(23);
      join.writeUInt16LE(0x0101, 17);
      assert.ok(emu.chip.injectFrame({ payload: join, sf: 7, bwHz: 125000, crc: 'ok', rssiDbm: -90, snrDb: 7, freqHz: 868_100_000 }));
      const uplinkEnd = emu.chip.lastRxDoneUs!;
      const jreq = await waitFor(() => lns.messages('jreq')[0], 5000, 'jreq');
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
});
