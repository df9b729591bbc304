/**
 * Time-reference math: drift tracked at ±5 ppm, rejected at ±20 ppm, three
 * aberrant points force a reset, the 32-bit wrap crossed, expiry at 30 s,
 * coarse mode, and the GPS/UTC conversions of gps.md §4's worked values.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gpsToUtcMs, TimeReference, utcToGpsMs, type SyncPoint } from '../hal/gps/time-reference.js';

const T0 = Date.UTC(2020, 6, 11, 22, 37, 45);

/** Points one second apart from a crystal `ppm` fast, starting at counter `c0`. */
function points(n: number, ppm: number, c0 = 1_000_000, from = 0): SyncPoint[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { countUs: Math.round(c0 + i * 1_000_000 * (1 + ppm * 1e-6)) >>> 0, utcMs: T0 + i * 1000, gpsMs: utcToGpsMs(T0 + i * 1000), hostMs: i * 1000 };
  });
}

describe('GPS time reference', () => {
  test('GPS ↔ UTC: the worked values of gps.md §4', () => {
    assert.equal(utcToGpsMs(Date.UTC(2020, 6, 11, 22, 37, 45)), 1_278_542_283_000);
    assert.equal(utcToGpsMs(Date.UTC(2022, 2, 9, 15, 1, 19)), 1_330_873_297_000);
    assert.equal(utcToGpsMs(Date.UTC(2013, 2, 31, 16, 21, 17), 16), 1_048_782_093_000);
    assert.equal(gpsToUtcMs(1_278_542_283_000), Date.UTC(2020, 6, 11, 22, 37, 45));
  });

  for (const ppm of [5, -5]) {
    test(`a crystal ${ppm > 0 ? '+' : ''}${ppm} ppm off is tracked: conversions exact to the µs, crystal correction settles`, () => {
      const ref = new TimeReference();
      const ps = points(20, ppm);
      assert.deepEqual(ps.map((p) => ref.sync(p)), ['first', ...Array(19).fill('accepted')]);
      const host = ps.at(-1)!.hostMs + 500;
      assert.ok(ref.valid(host) && ref.precise(host));
      assert.ok(Math.abs((ref.xtalErr - 1) * 1e6 - ppm) < 0.01, `xtalErr ${(ref.xtalErr - 1) * 1e6} ppm`);
      // Half a second after the last edge, as the crystal counts it.
      const last = ps.at(-1)!;
      const count = Math.round(last.countUs + 500_000 * (1 + ppm * 1e-6)) >>> 0;
      assert.ok(Math.abs(ref.countToUtcMs(count, host)! - (last.utcMs + 500)) < 0.001);
      assert.ok(Math.abs(ref.countToGpsMs(count, host)! - (last.gpsMs + 500)) < 0.001);
      assert.equal(ref.gpsToCount(last.gpsMs + 500, host), count);
      // A count just before the reference is in the past (signed difference), not 71 minutes ahead.
      assert.ok(Math.abs(ref.countToUtcMs((last.countUs - 1000) >>> 0, host)! - (last.utcMs - 1000 / (1 + ppm * 1e-6) / 1000)) < 0.001);
      assert.ok(ref.xtalCorrectOk);
      assert.ok(Math.abs(ref.xtalCorrect - 1 / (1 + ppm * 1e-6)) < 1e-9);
    });
  }

  test('a crystal 20 ppm off is rejected: every point aberrant, a reset every third, never valid', () => {
    const ref = new TimeReference();
    const r = points(10, 20).map((p) => ref.sync(p));
    assert.deepEqual(r, ['first', 'aberrant', 'aberrant', 'reset', 'aberrant', 'aberrant', 'reset', 'aberrant', 'aberrant', 'reset']);
    assert.equal(ref.valid(9500), false);
    assert.equal(ref.countToUtcMs(12_345, 9500), null);
    assert.equal(ref.status(9500).resets, 3);
  });

  test('one mispaired point is aberrant and the reference stays; three in a row reset it', () => {
    const ref = new TimeReference();
    const ps = points(6, 0);
    for (const p of ps.slice(0, 3)) ref.sync(p);
    const off = (p: SyncPoint) => ({ ...p, countUs: (p.countUs + 2000) >>> 0 }); // 2 ms late latch: 2000 ppm
    assert.equal(ref.sync(off(ps[3]!)), 'aberrant');
    assert.ok(ref.valid(3500), 'still valid on the old reference');
    assert.ok(Math.abs(ref.countToUtcMs(ps[3]!.countUs, 3500)! - ps[3]!.utcMs) < 0.001, 'and still right');
    assert.equal(ref.sync(ps[4]!), 'accepted', 'the next good point is accepted against the kept reference');
    const again = new TimeReference();
    for (const p of ps.slice(0, 2)) again.sync(p);
    const bad = points(3, 0, 1_000_000 + 400_000, 2); // every latch 400 ms off
    assert.deepEqual(bad.map((p) => again.sync(p)), ['aberrant', 'aberrant', 'reset']);
    assert.equal(again.valid(4500), false, 'a reset point needs a good slope before it is trusted');
    assert.equal(again.sync({ ...points(1, 0, 1_400_000, 5)[0]! }), 'accepted');
    assert.ok(again.valid(5500));
  });

  test('across the 32-bit counter wrap', () => {
    const ref = new TimeReference();
    const c0 = 2 ** 32 - 2_500_000;
    const ps = points(6, 3, c0);
    assert.ok(ps.at(-1)!.countUs < ps[0]!.countUs, 'the counter wrapped');
    assert.deepEqual(ps.map((p) => ref.sync(p)), ['first', 'accepted', 'accepted', 'accepted', 'accepted', 'accepted']);
    const mid = ps[2]!; // just before the wrap
    const host = ps.at(-1)!.hostMs;
    const after = (mid.countUs + 3_000_000) >>> 0;
    assert.ok(after < mid.countUs);
    assert.ok(Math.abs(ref.countToUtcMs(after, host)! - (mid.utcMs + 3000 / (1 + 3e-6))) < 0.001, 'a count after the wrap converts from one before it');
    assert.equal(ref.gpsToCount(ps.at(-1)!.gpsMs, host), ps.at(-1)!.countUs);
    assert.equal(ref.gpsToCount(ps[1]!.gpsMs, host), ps[1]!.countUs, 'back across the wrap');
  });

  test('expires 30 s after the last good sync (and the crystal correction with it)', () => {
    const ref = new TimeReference();
    const ps = points(17, 1);
    for (const p of ps) ref.sync(p);
    const last = ps.at(-1)!.hostMs;
    assert.ok(ref.xtalCorrectOk);
    assert.equal(ref.valid(last + 30_000), true);
    assert.equal(ref.valid(last + 30_001), false);
    assert.equal(ref.xtalCorrectOk, false);
    assert.equal(ref.gpsToCount(ps.at(-1)!.gpsMs, last + 30_001), null);
  });

  test('the radio counter restarted: the reference is dropped at once; a coarse point, then PPS pairs on the new counter, make it precise and the crystal correction usable again', () => {
    const ref = new TimeReference();
    for (const p of points(17, 2)) ref.sync(p);
    assert.ok(ref.precise(16_000) && ref.xtalCorrectOk);
    ref.counterRestarted();
    assert.equal(ref.valid(16_000), false);
    assert.equal(ref.counters.counterRestarts, 1);
    // The SX1301's PPS latch reads 0 after a restart: the first second may be paired coarsely.
    const next = points(18, 2, 0, 17);
    assert.equal(ref.sync({ ...next[0]!, coarse: true }), 'coarse');
    assert.equal(ref.xtalCorrectOk, false);
    assert.deepEqual(next.slice(1, 3).map((p) => ref.sync(p)), ['first', 'accepted']);
    assert.ok(ref.precise(next[2]!.hostMs));
    for (const p of next.slice(3)) ref.sync(p);
    assert.ok(ref.xtalCorrectOk, 'averaged anew over 16 accepted pairs (beacons need it)');
    assert.ok(Math.abs(ref.xtalCorrect - 1 / (1 + 2e-6)) < 1e-9);
  });

  test('coarse points: valid for UTC, never precise (no tmms, no GPS-timed TX)', () => {
    const ref = new TimeReference();
    assert.equal(ref.sync({ ...points(1, 0)[0]!, coarse: true }), 'coarse');
    assert.ok(ref.valid(500));
    assert.equal(ref.precise(500), false);
    assert.ok(ref.countToUtcMs(1_500_000, 500) !== null);
    assert.equal(ref.countToGpsMs(1_500_000, 500), null);
    assert.equal(ref.gpsToCount(utcToGpsMs(T0), 500), null);
    assert.equal(ref.status(500).coarse, true);
    // A PPS point after coarse ones starts a precise reference.
    assert.equal(ref.sync(points(1, 0, 1_000_000, 1)[0]!), 'first');
  });
});
