/**
 * Regulatory limits: the EU868 duty cycle over a sliding hour (the 100
 * downlinks test), the EIRP limits, frequencies in no band; and through the
 * forwarder, DUTY_CYCLE_OVERFLOW in the TX_ACK.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { timeOnAirUs } from '../hal/index.js';
import { Regulation } from '../src/regulation.js';
import { startHarness, waitFor } from './helpers/harness.js';

const SF12 = { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 125000, codeRate: '4/5' } as const;

describe('regulation', () => {
  test('100 downlinks on 868.1 MHz SF12 in an hour: exactly the 1 % budget passes, the rest is DUTY_CYCLE_OVERFLOW; the hour slides', () => {
    const toaUs = timeOnAirUs({ radio: SF12, payloadSize: 13, preambleSymbols: 8, noCrc: true, noHeader: false });
    assert.equal(toaUs, 1_155_072, 'SF12 13 B: 1155.072 ms on air');
    const reg = new Regulation('EU868');
    const verdicts = Array.from({ length: 100 }, (_, i) => reg.check({ freqHz: 868_100_000, eirpDbm: 14, airtimeUs: toaUs, startMs: i * 36_000 }));
    const ok = verdicts.filter((v) => v.ok).length;
    assert.equal(ok, Math.floor(36_000_000 / toaUs), '31 frames: 35.8 s of the 36 s budget');
    assert.equal(ok, 31);
    assert.ok(verdicts.slice(0, 31).every((v) => v.ok), 'the first ones pass');
    assert.ok(verdicts.slice(31).every((v) => !v.ok && v.error === 'DUTY_CYCLE_OVERFLOW'));
    const st = reg.status(35 * 36_000);
    const m = st.bands.find((b) => b.band === 'M 868.0-868.6')!;
    assert.ok(Math.abs(m.usedMs - 31 * 1155.072) < 0.1 && m.remainingMs < 1155.072, JSON.stringify(m));
    // One hour after the first, its airtime has left the window: one more fits.
    assert.equal(reg.check({ freqHz: 868_100_000, eirpDbm: 14, airtimeUs: toaUs, startMs: 3_600_001 }).ok, true);
    assert.equal(reg.counters.dutyCycleRejected, 69);
  });

  test('a frame booked in the future counts against the hours it falls in; a released booking gives its airtime back', () => {
    const reg = new Regulation('EU868');
    const big = 3_500_000; // 3.5 s: the 0.1 % band allows 3.6 s an hour
    const first = reg.check({ freqHz: 864_000_000, eirpDbm: 14, airtimeUs: big, startMs: 1_000_000 });
    assert.ok(first.ok);
    assert.equal(reg.check({ freqHz: 864_000_000, eirpDbm: 14, airtimeUs: big, startMs: 0 }).ok, false, 'an earlier frame whose hour includes the later one');
    reg.release(first.id);
    assert.equal(reg.check({ freqHz: 864_000_000, eirpDbm: 14, airtimeUs: big, startMs: 0 }).ok, true);
  });

  test('EIRP: lowered to the band or region limit; 869.525 MHz allows 29 dBm at 10 %; a gap between bands is refused', () => {
    const reg = new Regulation('EU868');
    const v = reg.check({ freqHz: 868_100_000, eirpDbm: 27, airtimeUs: 1000, startMs: 0 });
    assert.ok(v.ok && v.eirpDbm === 16 && v.clamped);
    const p = reg.check({ freqHz: 869_525_000, eirpDbm: 27, airtimeUs: 1000, startMs: 0 });
    assert.ok(p.ok && p.eirpDbm === 27 && !p.clamped && p.band === 'P 869.4-869.65');
    const low = reg.check({ freqHz: 869_800_000, eirpDbm: 7, airtimeUs: 1000, startMs: 0 });
    assert.ok(low.ok && low.band === 'P 869.7-870 (low power)');
    const gap = reg.check({ freqHz: 868_650_000, eirpDbm: 14, airtimeUs: 1000, startMs: 0 });
    assert.ok(!gap.ok && gap.error === 'TX_FREQ');
    const us = new Regulation('US915').check({ freqHz: 923_300_000, eirpDbm: 36, airtimeUs: 1000, startMs: 0 });
    assert.ok(us.ok && us.eirpDbm === 30 && us.clamped);
    assert.ok(new Regulation('none').check({ freqHz: 1, eirpDbm: 99, airtimeUs: 1, startMs: 0 }).ok);
  });
});

test('through the forwarder: a downlink beyond the band budget gets TX_ACK DUTY_CYCLE_OVERFLOW and is counted; the status shows the budget', async () => {
  const h = await startHarness();
  try {
    assert.equal(h.config.gateway.region, 'EU868', 'auto: EU868 from the 863-870 MHz TX range');
    // This hour already used 35.9 s of band M (emissions booked through the same rules).
    h.fwd.regulation.check({ freqHz: 868_100_000, eirpDbm: 14, airtimeUs: 35_900_000, startMs: Date.now() - 60_000 });
    await waitFor(() => h.ns.counts.pull > 0, 5000, 'PULL_DATA');
    const acks: (string | null)[] = [];
    h.ns.on('txack', (a: { error: string | null }) => acks.push(a.error));
    h.ns.sendPullResp({ imme: true, freq: 868.1, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF12BW125', codr: '4/5', ipol: true, size: 13, data: Buffer.alloc(13).toString('base64') });
    h.ns.sendPullResp({ imme: true, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF12BW125', codr: '4/5', ipol: true, size: 13, data: Buffer.alloc(13).toString('base64') });
    await waitFor(() => acks.length === 2, 5000, 'two TX_ACKs');
    assert.deepEqual(acks, ['DUTY_CYCLE_OVERFLOW', null], 'band M is full; band P (10 %) is not');
    const st = h.fwd.status();
    assert.equal(st.counters.rejected.DUTY_CYCLE_OVERFLOW, 1);
    const m = st.regulation.bands.find((b) => b.band === 'M 868.0-868.6')!;
    assert.ok(m.remainingMs < 1155, JSON.stringify(m));
  } finally {
    await h.stop();
  }
});
