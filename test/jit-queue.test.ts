import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JitQueue, resolveJitTimings, type JitClass, type JitEnqueueResult, type JitRequest } from '../src/jit/index.js';
import { expectError, expectOk, req } from './helpers/jit.js';

// Default timings (constants.md §5): start 1500, margin 1000, JIT 30 000,
// downlink pre 31 500, beacon pre 3 031 500 / post 2 120 000, TOO_LATE <= 32 500.
const NOW = 1_000_000_000;




test('accepted class A keeps its target and is queued', () => {
  const q = new JitQueue<string>();
  assert.equal(expectOk(q.enqueue(NOW, req('A', NOW + 1_000_000))), NOW + 1_000_000);
  assert.equal(q.size, 1);
});

test('TOO_LATE boundary at exactly 32.5 ms ahead', () => {
  const q = new JitQueue<string>();
  const reason = expectError(q.enqueue(NOW, req('A', NOW + 32_500)), 'TOO_LATE');
  assert.match(reason, /32500 us ahead/);
  expectOk(q.enqueue(NOW, req('A', NOW + 32_501)));
});

test('TOO_LATE for a target anywhere in the past', () => {
  const q = new JitQueue<string>();
  for (const behindUs of [1, 1_000_000, 30 * 60 * 1_000_000]) {
    const reason = expectError(q.enqueue(NOW, req('A', NOW - behindUs)), 'TOO_LATE');
    assert.match(reason, new RegExp(`${behindUs} us behind`));
  }
  assert.equal(q.size, 0);
});

test('TOO_EARLY boundary at exactly 512 s ahead, class A and B', () => {
  for (const cls of ['A', 'B'] as const) {
    const q = new JitQueue<string>();
    expectOk(q.enqueue(NOW, req(cls, NOW + 512_000_000)));
    const reason = expectError(q.enqueue(NOW, req(cls, NOW + 512_000_001)), 'TOO_EARLY');
    assert.match(reason, /limit 512000000 us/);
  }
});

test('beacons are never TOO_EARLY (PF4 checks A and B only)', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(NOW, req('beacon', NOW + 600_000_000, 152_576)));
});

test('COLLISION_PACKET boundaries: after and before a queued downlink', () => {
  const q = new JitQueue<string>();
  const at = NOW + 1_000_000;
  expectOk(q.enqueue(NOW, req('A', at, 100_000)));
  // after: d <= pre 31 500 + queued post 100 000 + margin 1000
  const reason = expectError(q.enqueue(NOW, req('A', at + 132_500, 100_000)), 'COLLISION_PACKET');
  assert.equal(reason, `overlaps downlink at ${at}`);
  // before: -d <= queued pre 31 500 + new post 100 000 + margin 1000
  expectError(q.enqueue(NOW, req('A', at - 132_500, 100_000)), 'COLLISION_PACKET');
  expectOk(q.enqueue(NOW, req('A', at + 132_501, 100_000)));
  expectOk(q.enqueue(NOW, req('A', at - 132_501, 100_000)));
  assert.equal(q.size, 3);
});

test('COLLISION_BEACON when a downlink falls in the air reserved after a beacon', () => {
  const q = new JitQueue<string>();
  const beacon = NOW + 10_000_000;
  expectOk(q.enqueue(NOW, req('beacon', beacon, 152_576)));
  // after a beacon: d <= pre 31 500 + BEACON_RESERVED 2 120 000 + margin 1000
  const reason = expectError(q.enqueue(NOW, req('A', beacon + 2_152_500)), 'COLLISION_BEACON');
  assert.equal(reason, `overlaps beacon at ${beacon}`);
  expectOk(q.enqueue(NOW, req('A', beacon + 2_152_501)));
});

test('beacon guard: a class B ping slot within 3 s before a beacon is COLLISION_BEACON, class A is not', () => {
  const q = new JitQueue<string>();
  const beacon = NOW + 10_000_000;
  expectOk(q.enqueue(NOW, req('beacon', beacon, 152_576)));
  // class B sees the full beacon pre-delay: 1500 + 3 000 000 + 30 000, plus its airtime and margin
  expectError(q.enqueue(NOW, req('B', beacon - 3_042_500, 10_000)), 'COLLISION_BEACON');
  expectOk(q.enqueue(NOW, req('B', beacon - 3_042_501, 10_000)));
  // class A sees only TX_START_DELAY: -d <= 1500 + 10 000 + 1000
  expectError(q.enqueue(NOW, req('A', beacon - 12_500, 10_000)), 'COLLISION_BEACON');
  expectOk(q.enqueue(NOW, req('A', beacon - 12_501, 10_000)));
});

test('a beacon enqueued after a downlink uses its full guard and gets COLLISION_PACKET', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(NOW, req('A', NOW + 8_000_000, 10_000)));
  expectError(q.enqueue(NOW, req('beacon', NOW + 10_000_000, 152_576)), 'COLLISION_PACKET');
  expectOk(q.enqueue(NOW, req('beacon', NOW + 128_000_000, 152_576)));
  expectError(q.enqueue(NOW, req('beacon', NOW + 129_000_000, 152_576)), 'COLLISION_BEACON');
});

test('a beacon keeps its own airtime when longer than BEACON_RESERVED', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(NOW, req('beacon', NOW + 1_000_000, 3_000_000)));
  expectError(q.enqueue(NOW, req('A', NOW + 1_000_000 + 3_000_000)), 'COLLISION_BEACON');
});

test('queue full (32) is COLLISION_PACKET and comes before every other check', () => {
  const q = new JitQueue<string>();
  for (let i = 0; i < 32; i++) expectOk(q.enqueue(NOW, req('A', NOW + 1_000_000 * (i + 1))));
  assert.equal(q.size, 32);
  assert.equal(expectError(q.enqueue(NOW, req('A', NOW + 100_000_000)), 'COLLISION_PACKET'), 'queue full (32)');
  // a late request against a full queue still reads "full", as in PF4's order
  assert.equal(expectError(q.enqueue(NOW, req('A', NOW - 5)), 'COLLISION_PACKET'), 'queue full (32)');
  assert.equal(expectError(q.enqueue(NOW, req('C', 0)), 'COLLISION_PACKET'), 'queue full (32)');
});

test('capacity is a tunable', () => {
  const q = new JitQueue<string>({ capacity: 2 });
  expectOk(q.enqueue(NOW, req('A', NOW + 1_000_000)));
  expectOk(q.enqueue(NOW, req('A', NOW + 2_000_000)));
  assert.equal(expectError(q.enqueue(NOW, req('A', NOW + 3_000_000)), 'COLLISION_PACKET'), 'queue full (2)');
});

test('out-of-order inserts are kept ordered by target', () => {
  const q = new JitQueue<string>();
  for (const s of [3, 1, 5, 2, 4]) expectOk(q.enqueue(NOW, req('A', NOW + s * 1_000_000, 10_000, `s${s}`)));
  assert.deepEqual(q.entries(NOW).map((e) => e.item), ['s1', 's2', 's3', 's4', 's5']);
  assert.deepEqual(q.entries(NOW).map((e) => e.inUs), [1, 2, 3, 4, 5].map((s) => s * 1_000_000));
  const { due, expired } = q.takeDue(NOW + 5_000_000 - 29_999);
  assert.deepEqual(expired.map((e) => e.item), ['s1', 's2', 's3', 's4']);
  assert.deepEqual(due.map((e) => e.item), ['s5']);
});

test('takeDue splits due from expired and leaves the rest queued', () => {
  const q = new JitQueue<string>();
  const a = NOW + 10_000_000;
  expectOk(q.enqueue(NOW, req('A', a + 5_000_000, 10_000, 'later')));
  expectOk(q.enqueue(NOW, req('A', a + 20_000, 10_000, 'soon')));
  expectOk(q.enqueue(NOW, req('A', a - 100_000, 10_000, 'past')));
  expectOk(q.enqueue(NOW, req('A', a + 100_000, 10_000, 'next')));
  const took = q.takeDue(a);
  assert.deepEqual(took.expired.map((e) => e.item), ['past']);
  assert.deepEqual(took.due.map((e) => e.item), ['soon']);
  assert.deepEqual(q.entries(a).map((e) => e.item), ['next', 'later']);
  assert.equal(q.size, 2);
});

test('takeDue bounds: target − now = 30 000 is not due, 29 999 is', () => {
  const q = new JitQueue<string>();
  const a = NOW + 1_000_000;
  expectOk(q.enqueue(NOW, req('A', a, 10_000, 'x')));
  assert.deepEqual(q.takeDue(a - 30_000), { due: [], expired: [] });
  assert.deepEqual(q.takeDue(a - 29_999).due.map((e) => e.item), ['x']);
});

test('takeDue at the exact target is due, one microsecond later is expired', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(NOW, req('A', NOW + 100_000, 10_000, 'x')));
  expectOk(q.enqueue(NOW, req('A', NOW + 200_000, 10_000, 'y')));
  assert.deepEqual(q.takeDue(NOW + 100_000).due.map((e) => e.item), ['x']);
  const r = q.takeDue(NOW + 200_001);
  assert.deepEqual([r.due.length, r.expired.map((e) => e.item)], [0, ['y']]);
});

test('nextWakeInUs: null when empty, exact lead to the earliest hand-over, 0 when due or expired', () => {
  const q = new JitQueue<string>();
  assert.equal(q.nextWakeInUs(NOW), null);
  expectOk(q.enqueue(NOW, req('A', NOW + 500_000)));
  expectOk(q.enqueue(NOW, req('A', NOW + 100_000)));
  assert.equal(q.nextWakeInUs(NOW), 70_001);
  // waking exactly then makes it due; one µs earlier does not
  assert.deepEqual(q.takeDue(NOW + 70_000).due, []);
  assert.equal(q.nextWakeInUs(NOW + 70_000), 1);
  assert.equal(q.nextWakeInUs(NOW + 70_001), 0);
  assert.equal(q.nextWakeInUs(NOW + 150_000), 0, 'expired entries want an immediate wake');
  assert.equal(q.takeDue(NOW + 70_001).due.length, 1);
  assert.equal(q.nextWakeInUs(NOW + 70_001), 500_000 - 70_001 - 30_000 + 1);
});

test('S1302/CSD timings: 40 ms JIT delay moves the TOO_LATE bound to 42.5 ms and Class C ASAP to 80 ms', () => {
  const t = resolveJitTimings({ txJitDelayUs: 40_000 });
  assert.equal(t.minLeadUs, 42_500);
  assert.equal(t.classCAsapDelayUs, 80_000);
  const q = new JitQueue<string>({ txJitDelayUs: 40_000 });
  expectError(q.enqueue(NOW, req('A', NOW + 42_500)), 'TOO_LATE');
  assert.equal(expectOk(q.enqueue(NOW, req('C', 0))), NOW + 80_000);
});

test('invalid timings and arguments throw ERR_JIT_ARGUMENT', () => {
  const isArgErr = (e: unknown) => (e as { code?: string }).code === 'ERR_JIT_ARGUMENT';
  assert.throws(() => new JitQueue({ capacity: 0 }), isArgErr);
  assert.throws(() => new JitQueue({ txJitDelayUs: -1 }), isArgErr);
  assert.throws(() => new JitQueue({ beaconGuardUs: 1.5 }), isArgErr);
  const q = new JitQueue<string>();
  assert.throws(() => q.enqueue(-1, req('A', 0)), isArgErr);
  assert.throws(() => q.enqueue(2 ** 32, req('A', 0)), isArgErr);
  assert.throws(() => q.enqueue(NOW, { cls: 'A', countUs: 2 ** 32, timeOnAirUs: 1, item: '' }), isArgErr);
  assert.throws(() => q.enqueue(NOW, { cls: 'A', countUs: NOW + 1e6, timeOnAirUs: -1, item: '' }), isArgErr);
  assert.throws(() => q.enqueue(NOW, { cls: 'D' as JitClass, countUs: NOW + 1e6, timeOnAirUs: 1, item: '' }), isArgErr);
  assert.throws(() => q.takeDue(0.5), isArgErr);
});

test('a frame handed over still blocks its slot until its airtime ends (no BUSY radio)', () => {
  const q = new JitQueue<string>();
  const target = NOW + 100_000;
  expectOk(q.enqueue(NOW, req('A', target, 1_150_000)));
  const { due } = q.takeDue(target - 10_000);
  assert.equal(due.length, 1);
  assert.equal(q.size, 0);
  // While it is on air, a class A frame inside its airtime collides...
  expectError(q.enqueue(target + 100_000, req('A', target + 500_000)), 'COLLISION_PACKET');
  // ...and a class C frame is slotted after its end, not at now + ASAP.
  const now = target + 100_000;
  const c = expectOk(q.enqueue(now, req('C', 0, 10_000)));
  assert.ok(c - (target + 1_150_000) > 0, `class C slot ${c} must follow the frame on air (ends ${target + 1_150_000})`);
});

test('a frame handed over stops blocking once its airtime has ended', () => {
  const q = new JitQueue<string>();
  const target = NOW + 100_000;
  expectOk(q.enqueue(NOW, req('A', target, 50_000)));
  q.takeDue(target - 10_000);
  const later = target + 60_000;
  q.takeDue(later); // prunes the finished frame
  const r = expectOk(q.enqueue(later, req('C', 0, 10_000)));
  assert.equal(r, later + 60_000, 'ASAP slot (now + 2·TX_JIT_DELAY) once nothing is on air');
});

test('far-future frames cannot starve Class A: 8 of 32 slots are kept for frames due within 10 s', () => {
  const q = new JitQueue<string>();
  // 32 requests just under the TOO_EARLY limit (512 s), 2 s apart: only 24 get in.
  const results = Array.from({ length: 32 }, (_, i) => q.enqueue(NOW, req('A', NOW + 500_000_000 - i * 2_000_000)));
  assert.equal(results.filter((r) => r.ok).length, 24);
  const refused = results.filter((r) => !r.ok);
  assert.equal(refused.length, 8);
  for (const r of refused) assert.match(expectError(r, 'COLLISION_PACKET'), /far-future frames already fill 24 of 32 slots; 8 are kept for frames due within 10 s/);
  // An RX1 answer (1 s) and a join-accept in RX2 (6 s) still get in, and so does Class C.
  expectOk(q.enqueue(NOW, req('A', NOW + 1_000_000)));
  expectOk(q.enqueue(NOW, req('A', NOW + 6_000_000)));
  expectOk(q.enqueue(NOW, req('C', 0)));
  // A too-early frame still reads TOO_EARLY, not the far limit.
  expectError(q.enqueue(NOW, req('A', NOW + 600_000_000)), 'TOO_EARLY');
  // Near frames may fill the queue to its capacity.
  for (let i = 0; i < 5; i++) expectOk(q.enqueue(NOW, req('A', NOW + 2_000_000 + i * 500_000)));
  assert.equal(q.size, 32);
  assert.equal(expectError(q.enqueue(NOW, req('A', NOW + 9_000_000)), 'COLLISION_PACKET'), 'queue full (32)');
});

test('the near reservation is at most a quarter of a small queue (capacity 2: none)', () => {
  const q = new JitQueue<string>({ capacity: 2 });
  expectOk(q.enqueue(NOW, req('A', NOW + 100_000_000)));
  expectOk(q.enqueue(NOW, req('A', NOW + 200_000_000)));
});
