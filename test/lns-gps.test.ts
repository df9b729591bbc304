/**
 * The LNS backend with a GPS (issue 17): a capture replayed through a real
 * pty into the serial GPS source, PPS on the simulated concentrator (its
 * counter started just below the 32-bit wrap), the LNS stand-in over TLS.
 * Before the reference is precise a class B dnmsg is refused (GPS_UNLOCKED);
 * after, updf carries the gpstime of the reception, a class B dnmsg and a
 * dnsched entry go out at the counter value their gpstime maps to, and
 * dntxed carries the gpstime of the emission.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimConcentrator } from '../hal/index.js';
import { SerialGpsSource } from '../hal/gps/serial-source.js';
import { utcToGpsMs } from '../hal/gps/time-reference.js';
import { Forwarder } from '../src/forwarder.js';
import { concentratorPps, GpsService } from '../src/gps.js';
import { captureEpochs, gpsReplaySkip, PtyPair } from './helpers/gps-replay.js';
import { AirClient, loraUplink, memoryLogger, testConfig, waitFor } from './helpers/harness.js';
import { shippedConf } from './helpers/cli-process.js';
import { eu868RouterConfig, LnsStandIn, stationDir, tlsFile } from './helpers/lns-server.js';

/** Counter µs between two u32 counter values, across the wrap. */
const span = (from: number, to: number) => (to - from) >>> 0;

test('LNS with a GPS: class B refused until the reference is precise; then updf gpstime, class B dnmsg and dnsched at their gpstime, dntxed gpstime', { skip: gpsReplaySkip, timeout: 90_000 }, async () => {
  const pty = new PtyPair();
  const lns = new LnsStandIn({ routerConfig: () => eu868RouterConfig(shippedConf().SX1301_conf!) });
  const port = await lns.start();
  const dir = stationDir({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt') });
  const config = testConfig({ servers: [], gps_tty_path: pty.gps }, {}, { lns_conf: [{ station_dir: dir }] as never });
  const mem = memoryLogger('info');
  const out = () => mem.lines().slice(-20).map((l) => JSON.stringify(l)).join('\n');
  const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, counterStartUs: 4_290_000_000, log: mem.log.child({ module: 'sim' }) });
  const gps = new GpsService({ concentrator: sim, pps: concentratorPps(sim), log: mem.log.child({ module: 'gps' }) });
  const fwd = new Forwarder({ config, concentrator: sim, log: mem.log, gps });
  let source: SerialGpsSource | null = null;
  let air: AirClient | null = null;
  const classB = (diid: number, gpstime: number) => JSON.stringify({ msgtype: 'dnmsg', diid, dC: 1, DevEui: '00-04-A3-0B-00-1C-05-30', pdu: 'A0B1C2', rctx: 0, priority: 0, gpstime, DR: 3, Freq: 869525000 });
  try {
    await pty.ready();
    await fwd.start();
    gps.start();
    source = new SerialGpsSource({ path: pty.gps, baudRate: 9600, ubx: false, log: mem.log.child({ module: 'gps' }) }, gps);
    source.start();
    await waitFor(() => source!.state === 'open', 5000, 'serial port open');
    await waitFor(() => fwd.lnsBackends[0]!.state === 'connected', 10_000, 'LNS connected', out);
    air = new AirClient(sim.airPortBound);
    const startCount = await air.listen();

    // No reference yet: the ping slot cannot be placed on the counter.
    lns.sendText(classB(30, 1_330_000_000_000_000));
    const refused = await waitFor(() => mem.lines().find((l) => l.msg === 'dnmsg not scheduled (no dntxed will be sent)' && l.diid === 30), 5000, 'class B refused', out);
    assert.match(String((refused.reasons as string[])[0]), /class B: GPS_UNLOCKED/);

    const eps = captureEpochs().slice(0, 6);
    await pty.replay(air, startCount, eps);
    await waitFor(() => gps.locked(), 5000, 'a precise time reference', out);

    // updf: gpstime of the reception, consistent with its rxtime (UTC) and the capture's time.
    air.send(loraUplink({ data: Buffer.from([0x40, 0xda, 0x1b, 0x01, 0x26, 0x00, 1, 0, 1, 0xde, 0xad, 0xd4, 0xc3, 0xb2, 0xa1]).toString('base64') }));
    const up = (await waitFor(() => lns.messages('updf')[0], 5000, 'updf', out)).msg;
    const info = up.upinfo as { xtime: string; gpstime: number; rxtime: number };
    const upCount = Number(BigInt(info.xtime) & 0xffffffffn);
    assert.ok(info.gpstime > 0, 'gpstime set');
    assert.ok(Math.abs(info.gpstime - utcToGpsMs(info.rxtime * 1000) * 1000) <= 1000, `gpstime ${info.gpstime} vs rxtime ${info.rxtime}`);
    const last = eps.at(-1)!.utcMs;
    assert.ok(info.rxtime * 1000 >= last && info.rxtime * 1000 < last + 1500, `rxtime ${info.rxtime} vs last epoch ${new Date(last).toISOString()}`);

    // Class B one second after the uplink: emitted 1 s after it on the counter (past the wrap), dntxed at that gpstime.
    const before = air.downlinks().length;
    lns.sendText(classB(31, info.gpstime + 1_000_000));
    const dl = await waitFor(() => air!.downlinks().slice(before).find((d) => d.target_us !== undefined), 5000, 'class B emission', out);
    const err = span(upCount, dl.target_us as number) - 1_000_000;
    assert.ok(Math.abs(err) <= 20, `class B target ${dl.target_us} is ${err} µs from uplink + 1 s`);
    assert.deepEqual([dl.freq, dl.datr, dl.ipol], [869.525, 'SF9BW125', true]);
    const tx = (await waitFor(() => lns.messages('dntxed').find((m) => m.msg.diid === 31), 5000, 'dntxed 31', out)).msg;
    assert.equal(Number(BigInt(tx.xtime as string) & 0xffffffffn), dl.count_us, 'dntxed xtime = the counter of the emission');
    const txErr = (tx.gpstime as number) - (info.gpstime + 1_000_000) - span(dl.target_us as number, dl.count_us as number);
    assert.ok(Math.abs(txErr) <= 20, `dntxed gpstime ${tx.gpstime}: ${txErr} µs from the emission's GPS time`);

    // dnsched at gpstime uplink + 1.5 s.
    lns.sendText(JSON.stringify({ msgtype: 'dnsched', schedule: [{ diid: 32, DR: 5, Freq: 869525000, pdu: 'D3E4', gpstime: info.gpstime + 1_500_000 }] }));
    const ds = await waitFor(() => air!.downlinks().slice(before).find((d) => d.size === 2), 5000, 'dnsched emission', out);
    const dsErr = span(upCount, ds.target_us as number) - 1_500_000;
    assert.ok(Math.abs(dsErr) <= 20, `dnsched target ${ds.target_us} is ${dsErr} µs from uplink + 1.5 s`);
    assert.ok(upCount < 4_290_000_000, `uplink at ${upCount}: the counter wrapped (it started 4.97 s below 2^32, the replay alone takes 6 s), so the reference spans the wrap`);
  } finally {
    await source?.stop();
    gps.stop();
    air?.close();
    await fwd.stop();
    await lns.stop();
    pty.close();
  }
});
