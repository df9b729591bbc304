import assert from 'node:assert/strict';
import type { JitClass, JitEnqueueResult, JitRequest } from '../../src/jit/index.js';

/** A JIT request with a default airtime and an item naming it. */
export function req(cls: JitClass, countUs: number, timeOnAirUs = 10_000, item = `${cls}@${countUs >>> 0}`): JitRequest<string> {
  return { cls, countUs: countUs >>> 0, timeOnAirUs, item };
}

/** Asserts an accepted enqueue; returns the scheduled target. */
export function expectOk(r: JitEnqueueResult): number {
  assert.ok(r.ok, `expected ok, got ${JSON.stringify(r)}`);
  return r.countUs;
}

/** Asserts a refusal with `error`; returns its reason. */
export function expectError(r: JitEnqueueResult, error: string): string {
  assert.ok(!r.ok, `expected ${error}, got ${JSON.stringify(r)}`);
  assert.equal(r.error, error);
  return r.reason;
}
