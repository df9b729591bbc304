/**
 * GpsService: PPS pairing, the product rule for late or missing PPS, coarse
 * time without PPS, NAV-TIMEGPS preferred over RMC, bad lines counted. The
 * counter, the PPS latches and the host clock are the test's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Concentrator } from '../hal/index.js';
import { utcToGpsMs } from '../hal/gps/time-reference.js';
import { ubxFrame } from '../hal/gps/ubx.js';
import { gpioPps, GpsService, type PpsLatch } from '../src/gps.js';
import type { GpioProvider } from '../hal/gpio/lines.js';
import { memoryLogger } from './helpers/harness.js';
import { rmcAt as rmcSentence } from './helpers/nmea.js';

const S0 = Date.UTC(2022, 2, 9, 15, 1, 19);

const rmcAt = (utcMs: number) => rmcSentence(utcMs, { where: '5104.0859,N,11405.7387,W', crlf: true });

function navTimegps(gpsMs: number, leapS = 18): Buffer {
  const p = Buffer.alloc(16);
  const week = Math.floor(gpsMs / 604_800_000);
  p.writeUInt32LE(gpsMs - week * 604_800_000, 0);
  p.writeInt32LE(0, 4);
  p.writeInt16LE(week, 8);
  p.writeInt8(leapS, 10);
  p[11] = 0x07;
  p.writeUInt32LE(30, 12);
  return p;
}

/** A fake board: a counter running from `c0` on the test's clock. */
function rig(o: { pps: boolean }) {
  let nowMs = 0;
  const c0 = 4_000_000_000;
  const counter = () => (c0 + Math.round(nowMs * 1000)) >>> 0;
  const conc = { counterUs: async () => counter() } as unknown as Concentrator;
  let latch: PpsLatch | null = null;
  const gps = new GpsService({ concentrator: conc, pps: { last: async () => (o.pps ? latch : null) }, log: memoryLogger().log, now: () => nowMs });
  return {
    gps, counter,
    at: (ms: number) => {
      nowMs = ms;
    },
    pps: () => {
      latch = { countUs: counter(), atMs: nowMs };
    },
  };
}

describe('GpsService', () => {
  test('PPS then RMC each second: precise reference after two, uplinks get time and tmms, tmms → counter', async () => {
    const r = rig({ pps: true });
    for (let k = 0; k < 4; k++) {
      r.at(k * 1000);
      r.pps();
      r.at(k * 1000 + 120); // the sentence arrives 120 ms after its edge
      r.gps.nmea(rmcAt(S0 + k * 1000), k * 1000 + 120);
      await r.gps.settled();
      if (k === 0) assert.equal(r.gps.rxTime(r.counter()), undefined, 'one point is not a reference');
    }
    assert.ok(r.gps.locked());
    r.at(3500);
    const t = r.gps.rxTime(r.counter())!;
    assert.equal(t.utcUs, (S0 + 3500) * 1000);
    assert.equal(t.gpsMs, utcToGpsMs(S0 + 3500));
    assert.equal(r.gps.gpsToCount(utcToGpsMs(S0 + 5000)), (r.counter() + 1_500_000) >>> 0, 'across the counter wrap');
    assert.equal(r.gps.counters.ppsPairs, 4);
    const loc = r.gps.location()!;
    assert.ok(Math.abs(loc.lati - (51 + 4.0859 / 60)) < 1e-9 && Math.abs(loc.long + (114 + 5.7387 / 60)) < 1e-9);
    assert.equal(r.gps.status().reference.valid, true);
    r.at(3000 + 30_001);
    assert.equal(r.gps.locked(), false, 'expired');
    assert.equal(r.gps.rxTime(r.counter()), undefined);
  });

  test('a sentence arriving more than 1 s after the last PPS is not paired with it', async () => {
    const r = rig({ pps: true });
    r.at(0);
    r.pps();
    r.at(1200);
    r.gps.nmea(rmcAt(S0), 1200);
    await r.gps.settled();
    assert.equal(r.gps.counters.ppsPairs, 0);
    assert.equal(r.gps.counters.unpaired, 1);
    assert.equal(r.gps.rxTime(r.counter()), undefined);
  });

  test('no PPS: coarse time from the arrival, `time` only, never tmms or GPS-timed TX', async () => {
    const r = rig({ pps: false });
    r.at(250);
    r.gps.nmea(rmcAt(S0), 250);
    await r.gps.settled();
    r.at(750);
    const t = r.gps.rxTime(r.counter())!;
    assert.equal(t.utcUs, (S0 + 500) * 1000, 'the arrival taken as the second');
    assert.equal(t.gpsMs, undefined);
    assert.equal(r.gps.locked(), false);
    assert.equal(r.gps.gpsToCount(utcToGpsMs(S0 + 2000)), null);
    assert.equal(r.gps.status().reference.coarse, true);
  });

  test('NAV-TIMEGPS gives GPS time and leap seconds; the same second from RMC is not synced twice', async () => {
    const r = rig({ pps: true });
    for (let k = 0; k < 3; k++) {
      r.at(k * 1000);
      r.pps();
      r.at(k * 1000 + 50);
      const gpsMs = utcToGpsMs(S0 + k * 1000, 17); // a receiver saying GPS−UTC = 17 s
      const f = ubxFrame(0x01, 0x20, navTimegps(gpsMs, 17));
      r.gps.ubx(f[2]!, f[3]!, f.subarray(6, 22), k * 1000 + 50);
      r.gps.nmea(rmcAt(S0 + k * 1000), k * 1000 + 80);
      await r.gps.settled();
    }
    assert.equal(r.gps.counters.ppsPairs, 3, 'one pairing per second');
    assert.equal(r.gps.status().leapSeconds, 17);
    r.at(2000);
    assert.equal(r.gps.rxTime(r.counter())!.gpsMs, utcToGpsMs(S0 + 2000, 17));
  });

  test('garbage, bad checksums and unknown sentences are counted, never thrown', () => {
    const r = rig({ pps: true });
    const good = rmcAt(S0);
    for (const l of ['', 'noise', good.replace('A,5104', 'A,5105'), '$GPGSV,1,1,00*79', '$PMTK001,604,3*32', good.slice(0, 30)]) r.gps.nmea(l, 0);
    const c = r.gps.counters;
    assert.deepEqual([c.rejected['no-start'], c.rejected['bad-checksum'], c.rejected['no-checksum'], c.other], [2, 1, 1, 2]);
  });
});

test('PPS on a GPIO: each rising edge latches the counter at the edge (the read delay taken off)', async () => {
  let edge: (() => void) | null = null;
  let closed = false;
  const gpio: GpioProvider = {
    output: () => { throw new Error('not used'); },
    risingEdge: (bcm, label) => {
      assert.deepEqual([bcm, label], [18, 'pps']);
      return { watch: (cb) => { edge = cb; }, read: () => 1, close: () => { closed = true; } };
    },
  };
  let reads = 0;
  const t0 = performance.now();
  // A counter that takes 2 ms to read, as a busy SPI bus might.
  const conc = {
    counterUs: async () => {
      reads++;
      await new Promise((r) => setTimeout(r, 2));
      return Math.round((performance.now() - t0) * 1000) >>> 0;
    },
  } as unknown as Concentrator;
  const pps = await gpioPps(conc, 18, memoryLogger().log, gpio);
  assert.equal(await pps.last(), null);
  const at = performance.now();
  edge!();
  await new Promise((r) => setTimeout(r, 20));
  const l = (await pps.last())!;
  assert.equal(reads, 1);
  assert.ok(Math.abs(l.atMs - at) < 1, 'stamped in the edge callback');
  assert.ok(Math.abs(l.countUs - (at - t0) * 1000) < 500, `latch ${l.countUs} vs edge ${Math.round((at - t0) * 1000)} µs`);
  pps.close!();
  assert.ok(closed);
});
