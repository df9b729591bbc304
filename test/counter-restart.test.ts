/**
 * An SX1301 that resets itself restarts its counter; the driver
 * re-initialises it, and everything timed on the old counter must go
 * (issue 17: a new xtime session on the radio's self re-initialisation, not
 * only on a new plan). The driver runs on its emulator behind the SPI
 * boundary, an LNS stand-in over TLS is the server, and a GPS with PPS is
 * fed second by second. After the chip's self-reset:
 * - the downlink queued on the old counter is dropped with its line and
 *   counted, and never goes out;
 * - the xtime session is new: uplinks carry it, a dnmsg of the old session
 *   is refused, one of the new session goes out at its time;
 * - the GPS time reference is invalid at once (not after 3 aberrant pairs)
 *   and valid again, on the new counter, after two PPS pairs.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { utcToGpsMs } from '../hal/gps/time-reference.js';
import { Forwarder } from '../src/forwarder.js';
import { GpsService, type PpsLatch } from '../src/gps.js';
import { shippedConf } from './helpers/cli-process.js';
import { memoryLogger, testConfig, waitFor } from './helpers/harness.js';
import { eu868RouterConfig, LnsStandIn, stationDir, tlsFile } from './helpers/lns-server.js';
import { rmcAt } from './helpers/nmea.js';
import { emulatedSx1301 } from './helpers/sx1301-emulated.js';

/** 868.1 MHz in the shipped EU868 plan (radio 1, IF −400 kHz, IF chain 0). */
const uplink = (payload: Buffer) => ({ ifChain: 0, sf: 7, cr: 1, crc: 'ok' as const, payload, snrDb: 9.5, rssiRaw: 100 });
/** A LoRaWAN join request (MHDR 0x00, 23 bytes) with this DevNonce: sent to an LNS as `jreq`. */
const joinRequest = (devNonce: number) => {
  const b = Buffer.alloc(23);
  b.writeUInt16LE(devNonce, 17);
  return b;
};
const S0 = Date.UTC(2026, 11, 6, 12, 0, 0);

describe('radio counter restart (SX1301 self-reset on its emulator)', () => {
  test('queued downlink dropped, new xtime session (old refused, new sent on time), GPS reference dropped and rebuilt on the new counter', { timeout: 60_000 }, async () => {
    const lns = new LnsStandIn({ token: 'Bearer K', routerConfig: () => eu868RouterConfig(shippedConf().SX1301_conf!) });
    const port = await lns.start();
    const dir = stationDir({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt'), 'tc.key': 'Authorization: Bearer K\n' });
    const config = testConfig({ servers: [] }, {}, { lns_conf: [{ station_dir: dir }] as never });
    const mem = memoryLogger('info');
    // The counter starts at 50 s, so the self-reset (back to 0) is seen as the counter going back.
    const { chip, conc } = emulatedSx1301(config.board, { keepChip: true, counterStartUs: 50_000_000 }, { healthIntervalMs: 100, log: mem.log.child({ module: 'sx1301' }) });
    // PPS at the GPIO boundary: the counter latched at each edge, on an exact 1 s grid of the chip's counter.
    let latch: PpsLatch | null = null;
    const gps = new GpsService({ concentrator: conc, pps: { last: async () => latch }, log: mem.log.child({ module: 'gps' }) });
    const fwd = new Forwarder({ config, concentrator: conc, log: mem.log, gps });
    /** Seconds of GPS: an edge every 1000 ms of host time, its RMC 100 ms later. */
    let second = 0;
    const feed = async (n: number) => {
      const baseCount = chip.counterUs();
      const baseMs = performance.now();
      for (let k = 0; k < n; k++) {
        const edgeMs = baseMs + k * 1000;
        await sleep(Math.max(0, edgeMs + 100 - performance.now()));
        latch = { countUs: (baseCount + k * 1_000_000) >>> 0, atMs: edgeMs };
        gps.nmea(rmcAt(S0 + second++ * 1000), edgeMs + 100);
        await gps.settled();
      }
      return baseCount;
    };
    await fwd.start();
    try {
      await waitFor(() => fwd.lnsBackends[0]!.state === 'connected', 10_000, 'connected');
      await feed(3);
      assert.ok(gps.locked(), 'GPS time reference precise before the reset');

      assert.deepEqual(chip.injectPacket(uplink(joinRequest(1))), { ok: true });
      const up1 = await waitFor(() => lns.messages('jreq')[0], 5000, 'first uplink');
      const x1 = BigInt((up1.msg.upinfo as { xtime: string | number }).xtime);
      const session1 = Number((x1 >> 48n) & 0xffn);
      // RX1 15 s after the uplink: queued in the JIT queue on the old counter.
      const queued = Buffer.from('queued-on-old-counter');
      lns.sendText(`{"msgtype":"dnmsg","DevEui":"00-00-00-00-00-00-00-01","dC":0,"diid":1,"pdu":"${queued.toString('hex')}","RxDelay":15,"RX1DR":5,"RX1Freq":868100000,"priority":0,"rctx":0,"xtime":${x1}}`);
      await waitFor(() => fwd.scheduler.jit.size === 1, 3000, 'downlink queued');
      const failedBefore = fwd.stats.counters.txFailed;

      chip.selfReset();
      const restart = await waitFor(() => mem.lines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('radio counter restarted')), 5000, 'restart line');
      assert.equal(restart.droppedDownlinks, 1);
      assert.equal(fwd.scheduler.jit.size, 0, 'nothing left timed on the old counter');
      assert.equal(fwd.stats.counters.txFailed, failedBefore + 1);
      const dropped = mem.lines().find((l) => l.msg === 'downlink dropped: the radio restarted');
      assert.ok(dropped, 'the dropped downlink has its own line');
      assert.equal(dropped.outcome, 'dropped');
      assert.ok(mem.lines().some((l) => l.msg === 'downlink did not go out: no dntxed' && l.diid === 1 && l.outcome === 'failed'), 'the LNS side knows it did not go out');
      assert.equal(gps.locked(), false, 'GPS time reference dropped at once');
      assert.equal(gps.reference.counters.counterRestarts, 1);
      assert.equal(gps.reference.counters.aberrant, 0, 'no aberrant pairs needed to notice');
      const renewed = mem.lines().find((l) => l.msg === 'xtime session renewed: the radio counter restarted');
      assert.ok(renewed);
      assert.equal(renewed.previous, session1);

      assert.deepEqual(chip.injectPacket(uplink(joinRequest(2))), { ok: true });
      const up2 = await waitFor(() => lns.messages('jreq')[1], 5000, 'second uplink');
      const info2 = up2.msg.upinfo as { xtime: string | number };
      const x2 = BigInt(info2.xtime);
      const session2 = Number((x2 >> 48n) & 0xffn);
      assert.notEqual(session2, session1, 'uplinks carry the new session');
      assert.equal(session2, renewed.session);
      const raw2 = Number(x2 & 0xffffffffn);
      assert.ok(raw2 < 10_000_000, `the new session's xtime counts from the chip's reset (${raw2} µs)`);

      // A dnmsg of the old session (a server answering an uplink from before): refused, never sent.
      lns.sendText(`{"msgtype":"dnmsg","DevEui":"00-00-00-00-00-00-00-02","dC":0,"diid":2,"pdu":"6f6c64","RxDelay":1,"RX1DR":5,"RX1Freq":868100000,"priority":0,"rctx":0,"xtime":${x1}}`);
      const refused = await waitFor(() => mem.lines().find((l) => l.msg === 'dnmsg not scheduled (no dntxed will be sent)' && l.diid === 2), 3000, 'old-session dnmsg refused');
      assert.match(String(refused.reasons), new RegExp(`xtime of session ${session1}, this radio session is ${session2}`));
      // One of the new session goes out at its time on the new counter.
      const fresh = Buffer.from('new-session');
      lns.sendText(`{"msgtype":"dnmsg","DevEui":"00-00-00-00-00-00-00-03","dC":0,"diid":3,"pdu":"${fresh.toString('hex')}","RxDelay":1,"RX1DR":5,"RX1Freq":868100000,"priority":0,"rctx":0,"xtime":${x2}}`);
      const sent = await waitFor(() => lns.messages('dntxed').find((m) => m.msg.diid === 3), 5000, 'dntxed of the new-session downlink');
      assert.equal(BigInt(sent.msg.xtime as string | number) >> 48n, x2 >> 48n);
      // The SX1301 emits in hardware: dntxed comes at hand-over, the frame when the counter reaches it.
      await waitFor(() => chip.emissions.length > 0, 3000, 'emission');
      await sleep(100);
      assert.equal(chip.emissions.length, 1, 'only the new-session downlink went out');
      const e = chip.emissions[0]!;
      assert.ok(e.buffer.includes(fresh), 'its payload');
      assert.equal(e.startUs, raw2 + 1_000_000, 'emitted at the uplink\'s time + 1 s on the new counter');
      assert.equal(lns.messages('dntxed').some((m) => m.msg.diid === 1 || m.msg.diid === 2), false, 'no dntxed for what did not go out');

      // GPS: two PPS pairs on the new counter make the reference precise again, mapping GPS time onto it.
      const base = await feed(2);
      assert.ok(gps.locked(), 'precise again after two pairs');
      const lastGpsMs = utcToGpsMs(S0 + (second - 1) * 1000);
      const at = gps.gpsToCount(lastGpsMs + 500)!;
      assert.ok(Math.abs(at - (base + 1_500_000)) <= 2, `GPS time maps onto the new counter (${at} vs ${base + 1_500_000})`);
    } finally {
      await fwd.stop();
      await lns.stop();
    }
  });
});
