import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choosePower } from '../src/tx-power.js';

const lut = [-6, -3, 0, 3, 6, 10, 11, 12, 13, 14, 16, 20, 23, 25, 26, 27].map((p) => ({
  rfPowerDbm: p, paGain: 0, dacGain: 3, digGain: 0, mixGain: 8,
}));

test('an exact LUT power is used as is', () => {
  assert.deepEqual(choosePower(lut, 14), { ok: true, powerDbm: 14, exact: true });
});

test('a power between LUT entries uses the closest lower entry, never a louder one', () => {
  assert.deepEqual(choosePower(lut, 15), { ok: true, powerDbm: 14, exact: false });
  assert.deepEqual(choosePower(lut, 30), { ok: true, powerDbm: 27, exact: false });
});

test('a power below every LUT entry is refused (TX_POWER)', () => {
  const r = choosePower(lut, -7);
  assert.equal(r.ok, false);
  assert.match((r as { reason: string }).reason, /below the lowest table power -6 dBm/);
});

test('an empty LUT refuses every power', () => {
  assert.equal(choosePower([], 14).ok, false);
});
