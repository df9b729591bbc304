import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JitQueue, type JitClass, type JitEnqueueResult, type JitRequest } from '../src/jit/index.js';
import { expectError, expectOk, req } from './helpers/jit.js';

// The concentrator counter is u32 µs and wraps every 2^32 µs (71.6 min).
// W sits 65 536 µs before the wrap.
const W = 0xffff0000;
const u32 = (v: number): number => v >>> 0;




test('late packet across the u32 wrap is TOO_LATE, not TOO_EARLY', () => {
  // now just after the wrap, target just before it: 356 µs late. PF4's
  // unsigned (count − now) reads 2^32 − 356 and answers TOO_EARLY.
  const q = new JitQueue<string>();
  const reason = expectError(q.enqueue(100, req('A', 0xffffff00)), 'TOO_LATE');
  assert.match(reason, /356 us behind/);
  // 30 min late across the wrap: still TOO_LATE (PF4: TOO_EARLY up to ~63 min late)
  expectError(q.enqueue(100, req('A', 100 - 30 * 60 * 1_000_000)), 'TOO_LATE');
  expectError(q.enqueue(100, req('B', 100 - 30 * 60 * 1_000_000)), 'TOO_LATE');
  assert.equal(q.size, 0);
});

test('the reverse: now just before the wrap, target just after it is ahead, not late or early', () => {
  const q = new JitQueue<string>();
  const now = 0xffffff00;
  // 356 µs ahead: inside the 32.5 ms lead, so TOO_LATE for being too close
  assert.match(expectError(q.enqueue(now, req('A', 100)), 'TOO_LATE'), /356 us ahead/);
  // 1 s ahead across the wrap: accepted with its u32 target
  assert.equal(expectOk(q.enqueue(now, req('A', now + 1_000_000))), u32(now + 1_000_000));
  assert.equal(q.entries(now)[0]?.inUs, 1_000_000);
});

test('TOO_LATE and TOO_EARLY boundaries hold across the wrap', () => {
  const q = new JitQueue<string>();
  const now = 0xffffff00;
  expectError(q.enqueue(now, req('A', now + 32_500)), 'TOO_LATE');
  expectOk(q.enqueue(now, req('A', now + 32_501)));
  expectOk(q.enqueue(now, req('A', now + 512_000_000)));
  expectError(q.enqueue(now, req('A', now + 512_000_001)), 'TOO_EARLY');
});

test('ordering across the wrap: targets before the wrap come before targets after it', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(W, req('A', W + 300_000, 10_000, 'after2')));
  expectOk(q.enqueue(W, req('A', W + 100_000, 10_000, 'after1')));
  expectOk(q.enqueue(W, req('A', W + 40_000, 10_000, 'before')));
  const view = q.entries(W);
  assert.deepEqual(view.map((e) => e.item), ['before', 'after1', 'after2']);
  assert.deepEqual(view.map((e) => e.countUs), [0xffff9c40, 34_464, 234_464]);
  assert.deepEqual(view.map((e) => e.inUs), [40_000, 100_000, 300_000]);
  // a snapshot after the wrap still reads in order, first one already past
  assert.deepEqual(q.entries(50_000).map((e) => e.inUs), [-75_536, -15_536, 184_464]);
});

test('collision across the wrap: queued before the wrap, new one just after', () => {
  const q = new JitQueue<string>();
  const queued = W + 60_000; // 0xffffea60, before the wrap
  expectOk(q.enqueue(W, req('A', queued, 20_000)));
  // after it by pre 31 500 + post 20 000 + margin 1000 = 52 500 µs, landing past the wrap
  assert.ok(u32(queued + 52_500) < W);
  assert.equal(expectError(q.enqueue(W, req('A', queued + 52_500)), 'COLLISION_PACKET'), `overlaps downlink at ${queued}`);
  expectOk(q.enqueue(W, req('A', queued + 52_501)));
});

test('collision across the wrap: queued after the wrap, new one just before', () => {
  const q = new JitQueue<string>();
  const queued = u32(W + 100_000);
  expectOk(q.enqueue(W, req('A', queued, 10_000)));
  // before it by queued pre 31 500 + new post 10 000 + margin 1000 = 42 500 µs
  expectError(q.enqueue(W, req('A', W + 100_000 - 42_500)), 'COLLISION_PACKET');
  expectOk(q.enqueue(W, req('A', W + 100_000 - 42_501)));
});

test('takeDue across the wrap: the entry before the wrap is expired, the one after is due', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(W, req('A', 0xfffffff0, 1_000, 'before')));
  expectOk(q.enqueue(W, req('A', 40_000, 1_000, 'after')));
  assert.equal(q.nextWakeInUs(W), 0xfffffff0 - W - 30_000 + 1);
  const r = q.takeDue(10_010);
  assert.deepEqual(r.expired.map((e) => e.item), ['before']);
  assert.deepEqual(r.due.map((e) => e.item), ['after']);
});

test('nextWakeInUs across the wrap', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(W, req('A', W + 100_000)));
  assert.equal(q.nextWakeInUs(W), 70_001);
  assert.equal(q.takeDue(u32(W + 70_000)).due.length, 0);
  assert.equal(q.takeDue(u32(W + 70_001)).due.length, 1);
});

test('class C ASAP slot across the wrap', () => {
  const q = new JitQueue<string>();
  const now = 0xfffffff0;
  assert.equal(expectOk(q.enqueue(now, req('C', 0))), 59_984);
  // the next one slots after it: 59 984 + 10 000 + 31 500 + 30 000 + 1000
  assert.equal(expectOk(q.enqueue(now, req('C', 0))), 132_484);
});
