import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JitQueue, type JitClass, type JitEnqueueResult, type JitRequest } from '../src/jit/index.js';
import { expectError, expectOk, req } from './helpers/jit.js';

// Class C (immediate) gets the first free slot from ASAP = now + 2·TX_JIT_DELAY
// (60 ms, S1302/CSD style). A slot that hits frame q moves to
// q.target + q.post + pre 31 500 + TX_JIT_DELAY 30 000 + margin 1000 [PF4 jitqueue.c].
const NOW = 2_000_000_000;



test('class C on an empty queue goes at now + 60 ms and ignores countUs', () => {
  const q = new JitQueue<string>();
  assert.equal(expectOk(q.enqueue(NOW, req('C', NOW - 5_000_000))), NOW + 60_000);
  assert.equal(q.entries(NOW)[0]?.countUs, NOW + 60_000);
});

test('class C takes ASAP when it fits before the first queued frame', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(NOW, req('A', NOW + 200_000, 10_000, 'a')));
  // ASAP 60 000 is 140 000 before it: more than 31 500 + 20 000 + 1000
  assert.equal(expectOk(q.enqueue(NOW, req('C', 0, 20_000, 'c'))), NOW + 60_000);
  assert.deepEqual(q.entries(NOW).map((e) => e.item), ['c', 'a']);
});

test('class C slots into the gap after a blocking frame', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(NOW, req('A', NOW + 100_000, 50_000, 'a1')));
  expectOk(q.enqueue(NOW, req('A', NOW + 500_000, 50_000, 'a2')));
  // 100 000 + 50 000 + 31 500 + 30 000 + 1000
  assert.equal(expectOk(q.enqueue(NOW, req('C', 0, 20_000, 'c'))), NOW + 212_500);
  assert.deepEqual(q.entries(NOW).map((e) => e.item), ['a1', 'c', 'a2']);
});

test('class C walks past a chain of frames', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(NOW, req('A', NOW + 100_000, 50_000, 'a1')));
  expectOk(q.enqueue(NOW, req('A', NOW + 250_000, 10_000, 'a2')));
  expectOk(q.enqueue(NOW, req('A', NOW + 5_000_000, 10_000, 'a3')));
  // 212 500 would end too close to a2; next is 250 000 + 10 000 + 62 500
  assert.equal(expectOk(q.enqueue(NOW, req('C', 0, 20_000, 'c'))), NOW + 322_500);
  assert.deepEqual(q.entries(NOW).map((e) => e.item), ['a1', 'a2', 'c', 'a3']);
});

test('class C inserted out of order still comes back in target order from takeDue', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(NOW, req('A', NOW + 100_000, 50_000, 'a1')));
  expectOk(q.enqueue(NOW, req('A', NOW + 500_000, 50_000, 'a2')));
  expectOk(q.enqueue(NOW, req('C', 0, 20_000, 'c')));
  const r = q.takeDue(NOW + 500_000);
  assert.deepEqual(r.expired.map((e) => e.item), ['a1', 'c']);
  assert.deepEqual(r.due.map((e) => e.item), ['a2']);
});

test('class C sees a beacon with TX_START_DELAY only, then jumps the reserved air after it', () => {
  const q = new JitQueue<string>();
  expectOk(q.enqueue(NOW, req('beacon', NOW + 100_000, 152_576, 'beacon')));
  // ends 40 000 before the beacon: more than 1500 + 20 000 + 1000, so it fits
  assert.equal(expectOk(q.enqueue(NOW, req('C', 0, 20_000, 'c1'))), NOW + 60_000);
  // the next C hits c1, then the beacon: 100 000 + 2 120 000 + 31 500 + 30 000 + 1000
  assert.equal(expectOk(q.enqueue(NOW, req('C', 0, 20_000, 'c2'))), NOW + 2_282_500);
  assert.deepEqual(q.entries(NOW).map((e) => e.item), ['c1', 'beacon', 'c2']);
});

test('class C is never TOO_EARLY, even when its slot lands beyond 512 s', () => {
  const q = new JitQueue<string>();
  // an (artificially) 600 s long frame pushes the first free slot past 512 s
  expectOk(q.enqueue(NOW, req('A', NOW + 100_000, 600_000_000, 'long')));
  const slot = expectOk(q.enqueue(NOW, req('C', 0, 10_000, 'c')));
  assert.equal(slot, (NOW + 100_000 + 600_000_000 + 62_500) >>> 0);
  // the same target requested as class A is TOO_EARLY
  const a = q.enqueue(NOW, req('A', NOW + 700_000_000));
  assert.ok(!a.ok && a.error === 'TOO_EARLY');
});
