/**
 * End to end over a real serial path: a socat pty pair, the capture of a
 * Quectel L70 (shared/reference/nmea) replayed into it at 9600 baud pacing,
 * a PPS edge on the simulated concentrator before each epoch, the real
 * SerialGpsSource (serialport + parser-readline) and the forwarder. Uplinks
 * must gain `time`/`tmms` consistent with the replayed time, the stat must
 * carry the receiver's position, and a `tmms` downlink must go out at the
 * counter value the reference gives. Skipped, with the reason, without socat
 * (.ci/run installs it) or without the captures.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SimConcentrator } from '../hal/index.js';
import { SerialGpsSource } from '../hal/gps/serial-source.js';
import { utcToGpsMs } from '../hal/gps/time-reference.js';
import { NetworkServerStandIn, type PushEvent } from '../src/demo/network-server.js';
import { Forwarder } from '../src/forwarder.js';
import { concentratorPps, GpsService } from '../src/gps.js';
import { captureEpochs, gpsReplaySkip as skip, PtyPair } from './helpers/gps-replay.js';
import { AirClient, loraUplink, memoryLogger, testConfig, waitFor } from './helpers/harness.js';

const haveSocat = spawnSync('sh', ['-c', 'command -v socat']).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('serial GPS end to end: capture replayed through a pty, PPS on the sim; uplinks get time/tmms, stat the position, a tmms downlink goes out on its counter', { skip, timeout: 60_000 }, async () => {
  const pty = new PtyPair();
  const ns = new NetworkServerStandIn();
  const stats: Record<string, unknown>[] = [];
  const rxpk: { tmst: number; time?: string; tmms?: number }[] = [];
  ns.on('push', (e: PushEvent & { stat?: Record<string, unknown> }) => {
    rxpk.push(...(e.rxpk as typeof rxpk));
    if (e.stat) stats.push(e.stat);
  });
  const port = await ns.start();
  const config = testConfig({ serv_port_up: port, serv_port_down: port, stat_interval: 2, keepalive_interval: 1, gps_tty_path: pty.gps });
  const { log, lines } = memoryLogger();
  const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, counterStartUs: 4_290_000_000, log: log.child({ module: 'sim' }) });
  const gps = new GpsService({ concentrator: sim, pps: concentratorPps(sim), log: log.child({ module: 'gps' }) });
  const fwd = new Forwarder({ config, concentrator: sim, log, gps });
  let source: SerialGpsSource | null = null;
  const air = { c: null as AirClient | null };
  try {
    await pty.ready();
    await fwd.start();
    gps.start();
    source = new SerialGpsSource({ path: pty.gps, baudRate: 9600, ubx: false, log: log.child({ module: 'gps' }) }, gps);
    source.start();
    await waitFor(() => source!.state === 'open', 5000, 'serial port open');
    air.c = new AirClient(sim.airPortBound);
    const startCount = await air.c.listen();
    const eps = captureEpochs().slice(0, 6);
    await pty.replay(air.c, startCount, eps);
    await waitFor(() => gps.locked(), 5000, 'a precise time reference');
    const st = gps.status();
    assert.equal(st.reference.precise, true);
    assert.ok(Math.abs(st.reference.xtalErrPpm) < 10, `crystal ${st.reference.xtalErrPpm} ppm`);
    assert.ok(gps.counters.rmc >= 6 && gps.counters.ppsPairs >= 5, JSON.stringify(gps.counters));
    assert.equal(Object.values(gps.counters.rejected).reduce((a, b) => a + b, 0), 0);

    // An uplink now: its time is within the second after the last replayed epoch.
    air.c.send(loraUplink());
    const up = await waitFor(() => rxpk.find((r) => r.time !== undefined), 5000, 'rxpk with time');
    const utcMs = Date.parse(up.time!);
    const last = eps.at(-1)!.utcMs;
    assert.ok(utcMs >= last && utcMs < last + 1500, `time ${up.time} vs last epoch ${new Date(last).toISOString()}`);
    assert.ok(Math.abs(up.tmms! - utcToGpsMs(utcMs)) <= 1, `tmms ${up.tmms} vs time ${up.time}`);

    // The stat carries the receiver's position (the capture: 51.0681 N, 114.0956 W, 1102 m).
    const stat = await waitFor(() => stats.find((s) => s.lati !== undefined), 5000, 'stat with a position');
    assert.deepEqual([stat.lati, stat.long], [51.06810, -114.09565]);
    assert.ok(typeof stat.alti === 'number' && Math.abs(stat.alti - 1102) <= 1);

    // A Class B style downlink at tmms = the uplink's + 1 s: emitted at its tmst + 1 s on the counter.
    await waitFor(() => ns.counts.pull > 0, 5000, 'PULL_DATA');
    ns.sendPullResp({ tmms: up.tmms! + 1000, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 1, data: 'AA==' });
    const dl = await waitFor(() => air.c!.downlinks()[0], 5000, 'the tmms downlink on the air');
    const expected = (up.tmst + 1_000_000 + Math.round((up.tmms! - Math.trunc(up.tmms!)) * 1000)) >>> 0;
    const err = ((dl.target_us as number) - expected) | 0;
    assert.ok(Math.abs(err) <= 1000, `target ${dl.target_us} vs tmst+1 s ${expected} (${err} µs; tmms is whole ms)`);
    assert.ok(lines().some((l) => l.msg === 'GPS time reference valid') || gps.locked());
  } finally {
    await source?.stop();
    gps.stop();
    await fwd.stop();
    air.c?.close();
    ns.stop();
    pty.close();
  }
});

test('serial source with UBX: CFG-MSG sent at open, NAV-TIMEGPS and NMEA read from one stream; a port that disappears is reopened', { skip: haveSocat ? false : 'socat not installed', timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-gps-ubx-'));
  const startSocat = () => spawn('socat', ['pty,raw,echo=0,link=' + join(dir, 'gps'), 'pty,raw,echo=0,link=' + join(dir, 'feed')], { stdio: 'ignore' });
  let socat = startSocat();
  const got: string[] = [];
  const { log, lines } = memoryLogger();
  const source = new SerialGpsSource(
    { path: join(dir, 'gps'), baudRate: 9600, ubx: true, log, reopenMinMs: 100, reopenMaxMs: 400 },
    { nmea: (l) => got.push(`nmea ${l.slice(0, 6)}`), ubx: (cls, id, p) => got.push(`ubx ${cls}/${id}/${p.length}`) },
  );
  const { createReadStream } = await import('node:fs');
  try {
    await waitFor(() => existsSync(join(dir, 'feed')), 5000, 'ptys');
    const fromGateway: Buffer[] = [];
    const rd = createReadStream(join(dir, 'feed'));
    rd.on('data', (d) => fromGateway.push(d as Buffer));
    rd.on('error', () => undefined);
    source.start();
    await waitFor(() => source.state === 'open', 5000, 'open');
    await waitFor(() => Buffer.concat(fromGateway).length >= 16, 5000, 'CFG-MSG from the gateway');
    assert.equal(Buffer.concat(fromGateway).subarray(0, 16).toString('hex'), 'b56206010800012000010100000032' + '94');
    const nav = Buffer.from('b5620120100000709914c7cfffff1a091207320000005012', 'hex');
    const fd = openSync(join(dir, 'feed'), 'w');
    writeSync(fd, Buffer.concat([Buffer.from('$GNRMC,223745.00,A,3806.62964,N,12237.61382,W,0.040,,110720,,,D,V*0E\r\n'), nav, Buffer.from('\x00junk')]));
    closeSync(fd);
    await waitFor(() => got.length >= 2, 5000, 'frames');
    assert.deepEqual(got, ['nmea $GNRMC', 'ubx 1/32/16']);
    rd.destroy();
    // The receiver goes away (USB unplugged): the source says so and retries; it comes back: reopened.
    socat.kill();
    await waitFor(() => source.state === 'waiting', 5000, 'waiting after the port vanished');
    await sleep(500);
    socat = startSocat();
    await waitFor(() => source.state === 'open' && source.counters.opens === 2, 10_000, 'reopened');
    assert.ok(lines().some((l) => l.msg === 'GPS serial port unavailable; retrying'));
  } finally {
    await source.stop();
    socat.kill();
  }
});
