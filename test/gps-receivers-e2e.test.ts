/**
 * Issue 14 through the serial path (socat pty pair, the real SerialGpsSource
 * with serialport + parser-readline, GpsService, the forwarder on the sim
 * with a PPS edge before each epoch), with the output of receivers this
 * project's captures did not cover. Each case replays a real capture of
 * shared/reference/nmea (gpsd's regression logs: see its README), as is or
 * rewritten the way those receivers write it (the checksum recomputed):
 * - the MT3339 capture (2015-04-13) and the u-blox LEA-5H one (2010-08-21)
 *   as they are: `tmms` uses the leap seconds of their date (16 s, 15 s);
 * - the Quectel L70 capture with its times stamped .949 s before each second
 *   (GlobalSat-class USB receivers) or .010 after (Telit, Quectel EG25-G):
 *   paired with the second they belong to, time exact;
 * - the same at 5 Hz (.0/.2/.4/.6/.8 epochs): only the .0 ones paired;
 * - a UBX frame holding `$` bytes before each RMC on the same line
 *   (dual-protocol receivers with UBX on, gps_ubx off): the sentence found,
 *   the skipped bytes counted;
 * - dates 1024 weeks in the past (a GPS week-rollover receiver): corrected;
 * - the fix lost (RMC status V): no position in the stat once it is 5 s old.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SimConcentrator } from '../hal/index.js';
import { nmeaChecksum } from '../hal/gps/nmea.js';
import { ubxFrame } from '../hal/gps/ubx.js';
import { SerialGpsSource } from '../hal/gps/serial-source.js';
import { GPS_EPOCH_UNIX_MS } from '../hal/gps/time-reference.js';
import { NetworkServerStandIn, type PushEvent } from '../src/demo/network-server.js';
import { Forwarder } from '../src/forwarder.js';
import { concentratorPps, GpsService } from '../src/gps.js';
import { AirClient, loraUplink, memoryLogger, testConfig, waitFor } from './helpers/harness.js';
import { NMEA_DIR } from './helpers/shared-kit.js';

const haveSocat = spawnSync('sh', ['-c', 'command -v socat']).status === 0;
const skip = !haveSocat ? 'socat not installed (apt-get install socat; .ci/run does)' : !existsSync(NMEA_DIR) ? `${NMEA_DIR} is missing (set PKTFWD_SHARED_DIR)` : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WEEKS_1024_MS = 1024 * 7 * 86_400_000;

/** A sentence with its checksum recomputed (after a rewrite). */
function sentence(body: string): string {
  return `$${body}*${nmeaChecksum(body).toString(16).toUpperCase().padStart(2, '0')}\r\n`;
}

interface Epoch { utcMs: number; lines: string[] }

/** A capture's sentences grouped by epoch (hhmmss of their time field), with each epoch's UTC from its RMC. */
function epochs(file: string): Epoch[] {
  const out: { key: string; lines: string[]; utcMs: number }[] = [];
  for (const raw of readFileSync(join(NMEA_DIR, file), 'latin1').split('\n')) {
    const l = raw.replace(/\r$/, '');
    if (!l.startsWith('$')) continue;
    const t = /^\$[A-Z]+,(\d{6})(\.\d+)?,/.exec(l)?.[1];
    if (t && (out.length === 0 || out.at(-1)!.key !== t)) out.push({ key: t, lines: [], utcMs: NaN });
    const e = out.at(-1);
    if (!e) continue;
    e.lines.push(`${l}\r\n`);
    const rmc = /^\$..RMC,(\d{2})(\d{2})(\d{2})[^,]*,[^,]*(?:,[^,]*){6},(\d{2})(\d{2})(\d{2}),/.exec(l);
    if (rmc) e.utcMs = Date.UTC(2000 + Number(rmc[6]), Number(rmc[5]) - 1, Number(rmc[4]), Number(rmc[1]), Number(rmc[2]), Number(rmc[3]));
  }
  return out.filter((e) => Number.isFinite(e.utcMs));
}

/** Rewrites the time fields (hhmmss[.ss]) of RMC/GGA/ZDA/GLL/GNS sentences by `shiftMs`, written with `decimals` (3: .949). */
function retime(lines: string[], shiftMs: number, dateShiftMs = 0): string[] {
  return lines.map((l) => {
    const m = /^\$([A-Z]{2}(?:RMC|GGA|ZDA|GLL|GNS)),(.*)\*[0-9A-F]{2}\r\n$/.exec(l);
    if (!m) return l;
    const f = m[2]!.split(',');
    const timeIdx = m[1]!.endsWith('GLL') ? 4 : 0;
    const tm = /^(\d{2})(\d{2})(\d{2})(\.\d+)?$/.exec(f[timeIdx] ?? '');
    if (!tm) return l;
    const day = Date.UTC(2000, 0, 1);
    const ms = day + ((Number(tm[1]) * 60 + Number(tm[2])) * 60 + Number(tm[3])) * 1000 + shiftMs;
    const d = new Date(ms);
    const hh = String(d.getUTCHours()).padStart(2, '0');
    const mm = String(d.getUTCMinutes()).padStart(2, '0');
    const ss = String(d.getUTCSeconds()).padStart(2, '0');
    f[timeIdx] = `${hh}${mm}${ss}.${String(d.getUTCMilliseconds()).padStart(3, '0')}`;
    if (m[1]!.endsWith('RMC') && (dateShiftMs !== 0 || ms < day)) {
      const dd = /^(\d{2})(\d{2})(\d{2})$/.exec(f[8] ?? '');
      if (dd) {
        const date = new Date(Date.UTC(2000 + Number(dd[3]), Number(dd[2]) - 1, Number(dd[1])) + dateShiftMs + (ms < day ? -86_400_000 : 0));
        f[8] = `${String(date.getUTCDate()).padStart(2, '0')}${String(date.getUTCMonth() + 1).padStart(2, '0')}${String(date.getUTCFullYear() % 100).padStart(2, '0')}`;
      }
    }
    return sentence(`${m[1]},${f.join(',')}`);
  });
}

interface Run {
  gps: GpsService;
  rxpk: { tmst: number; time?: string; tmms?: number }[];
  stats: Record<string, unknown>[];
  lastEpochUtcMs: number;
}

/**
 * Replays `eps` through a pty with a PPS edge ~30 ms after each whole counter second and the epoch's
 * lines right after it (9600 baud pacing), then sends one uplink; `after` runs before teardown.
 */
async function replay(eps: Epoch[], o: { wallMs?: () => number; statIntervalS?: number; ubx?: boolean; linesPerEpoch?: (e: Epoch, k: number) => string[][] }, after: (r: Run) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-gps-'));
  const socat = spawn('socat', ['pty,raw,echo=0,link=' + join(dir, 'gps'), 'pty,raw,echo=0,link=' + join(dir, 'feed')], { stdio: 'ignore' });
  const ns = new NetworkServerStandIn();
  const run: Run = { gps: null as unknown as GpsService, rxpk: [], stats: [], lastEpochUtcMs: eps.at(-1)!.utcMs };
  ns.on('push', (e: PushEvent & { stat?: Record<string, unknown> }) => {
    run.rxpk.push(...(e.rxpk as Run['rxpk']));
    if (e.stat) run.stats.push(e.stat);
  });
  const port = await ns.start();
  const config = testConfig({ serv_port_up: port, serv_port_down: port, stat_interval: o.statIntervalS ?? 3600, keepalive_interval: 1, gps_tty_path: join(dir, 'gps') });
  const { log } = memoryLogger();
  const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, log: log.child({ module: 'sim' }) });
  const gps = new GpsService({ concentrator: sim, pps: concentratorPps(sim), log: log.child({ module: 'gps' }), ...(o.wallMs ? { wallMs: o.wallMs } : {}) });
  run.gps = gps;
  const fwd = new Forwarder({ config, concentrator: sim, log, gps });
  let source: SerialGpsSource | null = null;
  let feed = -1;
  let air: AirClient | null = null;
  try {
    await waitFor(() => existsSync(join(dir, 'gps')) && existsSync(join(dir, 'feed')), 5000, 'socat ptys');
    await fwd.start();
    gps.start();
    source = new SerialGpsSource({ path: join(dir, 'gps'), baudRate: 9600, ubx: o.ubx ?? false, log: log.child({ module: 'gps' }) }, gps);
    source.start();
    await waitFor(() => source!.state === 'open', 5000, 'serial port open');
    air = new AirClient(sim.airPortBound);
    const startCount = await air.listen();
    feed = openSync(join(dir, 'feed'), 'w');
    const t0 = performance.now();
    const firstBoundaryMs = (1_000_000 - (startCount % 1_000_000)) / 1000 + 30;
    for (const [k, e] of eps.entries()) {
      const due = t0 + firstBoundaryMs + k * 1000;
      await sleep(Math.max(0, due - performance.now()));
      air.send({ op: 'pps' });
      await sleep(10);
      // Several bursts per second (5 Hz receivers): each 200 ms apart.
      const bursts = o.linesPerEpoch ? o.linesPerEpoch(e, k) : [e.lines];
      for (const [b, lines] of bursts.entries()) {
        if (b > 0) await sleep(Math.max(0, due + 10 + b * 200 - performance.now()));
        for (const l of lines) {
          writeSync(feed, Buffer.from(l, 'latin1'));
          await sleep((l.length * 10) / 9.6);
        }
      }
    }
    air.send(loraUplink());
    await waitFor(() => run.rxpk.length > 0, 5000, 'the uplink at the server');
    await after(run);
  } finally {
    if (feed >= 0) closeSync(feed);
    await source?.stop();
    gps.stop();
    await fwd.stop();
    air?.close();
    ns.stop();
    socat.kill();
  }
}

/** The uplink's time is in the second after the last epoch, and tmms = time + the given leap seconds. */
function checkTime(r: Run, leapS: number, lastUtcMs = r.lastEpochUtcMs): void {
  const up = r.rxpk.find((x) => x.time !== undefined);
  assert.ok(up, `an rxpk with time (counters ${JSON.stringify(r.gps.counters)})`);
  const utcMs = Date.parse(up.time!);
  assert.ok(utcMs >= lastUtcMs && utcMs < lastUtcMs + 1500, `time ${up.time} vs last epoch ${new Date(lastUtcMs).toISOString()}`);
  assert.ok(Math.abs(up.tmms! - (utcMs - GPS_EPOCH_UNIX_MS + leapS * 1000)) <= 1, `tmms ${up.tmms} vs time ${up.time} + ${leapS} s`);
}

describe('GPS receivers through the serial path (issue 14)', { skip, concurrency: true, timeout: 60_000 }, () => {
  test('MediaTek MT3339, 2015-04-13 as captured: precise, and tmms uses the 16 leap seconds of its date', async () => {
    await replay(epochs('mt3339.log').slice(0, 6), {}, async (r) => {
      assert.ok(r.gps.locked(), JSON.stringify(r.gps.counters));
      checkTime(r, 16);
    });
  });

  test('u-blox LEA-5H, 2010-08-21 as captured: tmms uses 15 leap seconds', async () => {
    await replay(epochs('ublox-lea-5h.log').filter((e) => e.lines.some((l) => /RMC,[^,]*,A,/.test(l))).slice(0, 6), {}, async (r) => {
      assert.ok(r.gps.locked(), JSON.stringify(r.gps.counters));
      checkTime(r, 15);
    });
  });

  test('times stamped .949 before each second (GlobalSat-class): paired with the second they belong to', async () => {
    const eps = epochs('quectel-L70.log').slice(0, 6).map((e) => ({ ...e, lines: retime(e.lines, -51) }));
    await replay(eps, {}, async (r) => {
      assert.ok(r.gps.locked(), JSON.stringify(r.gps.counters));
      assert.ok(r.gps.counters.ppsPairs >= 5, JSON.stringify(r.gps.counters));
      checkTime(r, 18, eps.at(-1)!.utcMs); // 2022: 18 s
    });
  });

  test('times stamped .010 after each second (Telit, Quectel EG25-G): paired', async () => {
    const eps = epochs('quectel-L70.log').slice(0, 6).map((e) => ({ ...e, lines: retime(e.lines, 10) }));
    await replay(eps, {}, async (r) => {
      assert.ok(r.gps.locked(), JSON.stringify(r.gps.counters));
      checkTime(r, 18);
    });
  });

  test('a 5 Hz receiver (.0/.2/.4/.6/.8 epochs): only the whole seconds are paired, the others counted', async () => {
    const eps = epochs('quectel-L70.log').slice(0, 6);
    await replay(eps, { linesPerEpoch: (e) => [0, 200, 400, 600, 800].map((ms) => retime(e.lines.filter((l) => /RMC|GGA/.test(l)), ms)) }, async (r) => {
      assert.ok(r.gps.locked(), JSON.stringify(r.gps.counters));
      assert.ok(r.gps.counters.fractionalNotPaired >= 20, JSON.stringify(r.gps.counters));
      assert.ok(r.gps.counters.ppsPairs >= 5 && r.gps.counters.unpaired === 0, JSON.stringify(r.gps.counters));
      checkTime(r, 18);
    });
  });

  test('a UBX frame with `$` bytes before each sentence on its line: every sentence read, the bytes counted', async () => {
    // NAV-TIMEGPS-like frame (B5 62 01 20, 16-byte payload holding 0x24 '$' twice) and no newline after it.
    const frame = Buffer.from([0xb5, 0x62, 0x01, 0x20, 0x10, 0x00, 0x24, 0x10, 0x24, 0x47, 0x50, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x33, 0x55]).toString('latin1');
    const eps = epochs('quectel-L70.log').slice(0, 6).map((e) => ({ ...e, lines: e.lines.map((l) => frame + l) }));
    await replay(eps, {}, async (r) => {
      assert.ok(r.gps.locked(), JSON.stringify(r.gps.counters));
      assert.equal(Object.values(r.gps.counters.rejected).reduce((a, b) => a + b, 0), 0, JSON.stringify(r.gps.counters.rejected));
      assert.ok(r.gps.counters.bytesSkipped >= frame.length * 6 * 5, `${r.gps.counters.bytesSkipped} bytes skipped`);
      checkTime(r, 18);
    });
  });

  test('dates 1024 weeks in the past (week-number rollover): corrected, time exact', async () => {
    const eps = epochs('quectel-L70.log').slice(0, 6);
    const shifted = eps.map((e) => ({ ...e, lines: retime(e.lines, 0, -WEEKS_1024_MS) }));
    await replay(shifted, { wallMs: () => eps.at(-1)!.utcMs + 5000 }, async (r) => {
      assert.ok(r.gps.counters.rolloverCorrected >= 6, JSON.stringify(r.gps.counters));
      checkTime(r, 18, eps.at(-1)!.utcMs);
    });
  });

  test('a u-blox sending UBX only (NAV-TIMEGPS and NAV-PVT, no NMEA): precise time, and the position from NAV-PVT in the stat', async () => {
    // The NEO-M9N capture's epochs, re-expressed as the UBX frames a receiver configured for UBX only sends.
    const eps = epochs('ublox-neo-m9n-nmea.log').slice(0, 6).map((e) => {
      const gpsMs = e.utcMs - GPS_EPOCH_UNIX_MS + 18_000;
      const week = Math.floor(gpsMs / 604_800_000);
      const t = Buffer.alloc(16);
      t.writeUInt32LE(gpsMs - week * 604_800_000, 0);
      t.writeInt16LE(week, 8);
      t.writeInt8(18, 10);
      t[11] = 0x07; // TOW, week and leap seconds valid
      t.writeUInt32LE(20, 12);
      const pvt = Buffer.alloc(92);
      pvt[20] = 3; // 3D fix
      pvt[21] = 0x01; // gnssFixOK
      pvt[23] = 14; // satellites
      pvt.writeInt32LE(Math.round(-122.6268970 * 1e7), 24); // the capture: 38°06.62964' N, 122°37.61382' W, 29.9 m
      pvt.writeInt32LE(Math.round(38.110494 * 1e7), 28);
      pvt.writeInt32LE(29_900, 36);
      return { ...e, lines: [Buffer.concat([ubxFrame(0x01, 0x20, t), ubxFrame(0x01, 0x07, pvt)]).toString('latin1')] };
    });
    await replay(eps, { ubx: true, statIntervalS: 1 }, async (r) => {
      assert.ok(r.gps.locked(), JSON.stringify(r.gps.counters));
      assert.equal(r.gps.counters.rmc, 0);
      assert.ok(r.gps.counters.navPvt >= 6, JSON.stringify(r.gps.counters));
      checkTime(r, 18);
      const stat = await waitFor(() => r.stats.find((x) => x.lati !== undefined), 3000, 'a stat with a position');
      assert.deepEqual([stat.lati, stat.long, stat.alti], [38.11049, -122.6269, 30]);
    });
  });

  test('fix lost (status V): the stat stops carrying the position once the last fix is 5 s old', async () => {
    const eps = epochs('quectel-L70.log').slice(0, 9).map((e, k) => (k < 3 ? e : { ...e, lines: e.lines.map((l) => (/RMC/.test(l) ? sentence(l.slice(1, l.indexOf('*')).replace(/^(\w+,[^,]*),A,/, '$1,V,')) : /GGA/.test(l) ? sentence(l.slice(1, l.indexOf('*')).replace(/^((?:[^,]*,){6})\d,/, '$10,')) : l)) }));
    await replay(eps, { statIntervalS: 1 }, async (r) => {
      await sleep(1500);
      const fix = r.gps.fix();
      assert.equal(fix.fix, false);
      assert.ok(fix.lastFixAgeS! > 5, `last fix ${fix.lastFixAgeS} s ago`);
      assert.equal(r.gps.location(), undefined);
      const last = r.stats.at(-1)!;
      assert.equal(last.lati, undefined, `stat ${JSON.stringify(last)}`);
      assert.ok(r.stats.some((s) => s.lati !== undefined), 'a position while the fix was current');
    });
  });
});
