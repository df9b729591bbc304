import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BoardConfig, RadioParams } from '../hal/index.js';
import { FREQ_TOLERANCE_OF_BW, matchChannel } from '../hal/sim/channel-plan.js';
import { testConfig } from './helpers/harness.js';

// The shipped EU868 plan: radio_0 867.5 MHz, radio_1 868.5 MHz; multi-SF 0..7 at
// 868.1/868.3/868.5/867.1/867.3/867.5/867.7/867.9; LoRa std 868.3 SF7BW250 (radio_1);
// FSK 868.8 MHz 50 kbit/s, bandwidth 125 kHz (radio_1).
const board = (): BoardConfig => structuredClone(testConfig().board);

const lora = (sf: 7 | 8 | 9 | 10 | 11 | 12, bw: 125000 | 250000 | 500000 = 125000): RadioParams => ({
  modulation: 'LORA', spreadingFactor: sf, bandwidthHz: bw, codeRate: '4/5',
});
const fsk = (bps: number): RadioParams => ({ modulation: 'FSK', datarateBps: bps });

test('every multi-SF channel of the plan receives SF7..SF12 at 125 kHz and reports its channel and radio', () => {
  const expected = [868.1, 868.3, 868.5, 867.1, 867.3, 867.5, 867.7, 867.9];
  for (const [i, mhz] of expected.entries()) {
    for (const sf of [7, 8, 9, 10, 11, 12] as const) {
      const m = matchChannel(board(), mhz * 1e6, lora(sf));
      assert.deepEqual(m, { ifChain: i, rfChain: i < 3 ? 1 : 0, freqHz: Math.round(mhz * 1e6) }, `${mhz} MHz SF${sf}`);
    }
  }
});

test('a frame within ±25 % of the bandwidth of a centre is received and reported at the centre; beyond is not', () => {
  assert.equal(FREQ_TOLERANCE_OF_BW, 0.25);
  // 125 kHz channel: ±31.25 kHz.
  assert.equal(matchChannel(board(), 868_131_250, lora(7))?.freqHz, 868_100_000);
  assert.equal(matchChannel(board(), 868_068_750, lora(7))?.freqHz, 868_100_000);
  assert.equal(matchChannel(board(), 868_131_251, lora(7)), null);
  assert.equal(matchChannel(board(), 868_068_749, lora(7)), null);
  // Half-way between two channels (200 kHz apart) is heard by neither.
  assert.equal(matchChannel(board(), 868_200_000, lora(7)), null);
});

test('the LoRa std channel takes only its own SF and bandwidth', () => {
  assert.deepEqual(matchChannel(board(), 868_300_000, lora(7, 250000)), { ifChain: 8, rfChain: 1, freqHz: 868_300_000 });
  // ±25 % of 250 kHz = ±62.5 kHz.
  assert.equal(matchChannel(board(), 868_362_500, lora(7, 250000))?.ifChain, 8);
  assert.equal(matchChannel(board(), 868_362_501, lora(7, 250000)), null);
  assert.equal(matchChannel(board(), 868_300_000, lora(8, 250000)), null, 'SF8 on the SF7 std channel');
  assert.equal(matchChannel(board(), 868_300_000, lora(7, 500000)), null, 'BW500 on the BW250 std channel');
  // The multi-SF demodulator at the same frequency still takes the BW125 frame.
  assert.equal(matchChannel(board(), 868_300_000, lora(7))?.ifChain, 1);
});

test('multi-SF channels do not receive 250 or 500 kHz frames', () => {
  assert.equal(matchChannel(board(), 868_100_000, lora(7, 250000)), null);
  assert.equal(matchChannel(board(), 867_500_000, lora(8, 500000)), null);
});

test('the FSK channel takes only its datarate', () => {
  assert.deepEqual(matchChannel(board(), 868_800_000, fsk(50000)), { ifChain: 9, rfChain: 1, freqHz: 868_800_000 });
  assert.equal(matchChannel(board(), 868_800_000, fsk(19200)), null);
  assert.equal(matchChannel(board(), 868_800_000, lora(7)), null, 'LoRa on the FSK channel');
  assert.equal(matchChannel(board(), 868_100_000, fsk(50000)), null, 'FSK on a LoRa channel');
});

test('disabled channels and channels of a disabled radio are deaf', () => {
  const b = board();
  b.multiSfChannels[0]!.enable = false;
  assert.equal(matchChannel(b, 868_100_000, lora(7)), null);
  b.fskChannel.enable = false;
  assert.equal(matchChannel(b, 868_800_000, fsk(50000)), null);
  const c = board();
  c.radios[0]!.enable = false;
  assert.equal(matchChannel(c, 867_500_000, lora(9)), null, 'multi-SF 5 is on radio_0');
  assert.equal(matchChannel(c, 868_500_000, lora(9))?.ifChain, 2, 'radio_1 still hears');
});
