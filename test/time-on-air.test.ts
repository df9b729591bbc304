import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timeOnAirUs, type AirtimeParams } from '../hal/index.js';
import type { CodeRate, LoraBandwidthHz, SpreadingFactor } from '../hal/index.js';

function lora(
  sf: SpreadingFactor,
  bw: LoraBandwidthHz,
  size: number,
  opts: { crc: boolean; preamble?: number; implicit?: boolean; cr?: CodeRate },
): AirtimeParams {
  return {
    radio: { modulation: 'LORA', spreadingFactor: sf, bandwidthHz: bw, codeRate: opts.cr ?? '4/5' },
    payloadSize: size,
    preambleSymbols: opts.preamble ?? 8,
    noCrc: !opts.crc,
    noHeader: opts.implicit ?? false,
  };
}

// Every row of shared/reference/constants.md §13, exact µs (AN1200.13).
const TABLE: Array<[string, AirtimeParams, number]> = [
  ['SF7BW125, 23 B, CRC on, CR4/5, pre 8', lora(7, 125000, 23, { crc: true }), 61_696],
  ['SF12BW125, 33 B, CRC off, LDRO, pre 8', lora(12, 125000, 33, { crc: false }), 1_810_432],
  ['SF12BW125, 33 B, CRC on gives the same', lora(12, 125000, 33, { crc: true }), 1_810_432],
  ['SF9BW125, 13 B, CRC on, pre 8', lora(9, 125000, 13, { crc: true }), 164_864],
  ['SF8BW125, 23 B, CRC on', lora(8, 125000, 23, { crc: true }), 113_152],
  ['SF9BW125, 23 B, CRC on', lora(9, 125000, 23, { crc: true }), 205_824],
  ['SF10BW125, 23 B, CRC on', lora(10, 125000, 23, { crc: true }), 370_688],
  ['SF11BW125, 23 B, CRC on, LDRO', lora(11, 125000, 23, { crc: true }), 823_296],
  ['SF12BW125, 23 B, CRC on, LDRO', lora(12, 125000, 23, { crc: true }), 1_482_752],
  ['SF7BW250, 23 B, CRC on', lora(7, 250000, 23, { crc: true }), 30_848],
  ['SF9BW125, 17 B, CRC off (join-accept)', lora(9, 125000, 17, { crc: false }), 164_864],
  ['SF12BW125, 17 B, CRC off', lora(12, 125000, 17, { crc: false }), 1_155_072],
  ['SF12BW500, 33 B, CRC off (no LDRO: Tsym 8.192 ms)', lora(12, 500000, 33, { crc: false }), 411_648],
  ['beacon SF9BW125, 17 B, implicit, no CRC, pre 10', lora(9, 125000, 17, { crc: false, implicit: true, preamble: 10 }), 152_576],
];

for (const [name, params, expected] of TABLE) {
  test(`LoRa time on air: ${name} = ${expected} us`, () => {
    assert.equal(timeOnAirUs(params), expected);
  });
}

test('LowDataRateOptimize switches on above Tsym 16 ms only (SF12BW250 on, SF11BW250 off)', () => {
  // SF12BW250 33 B CRC off: Tsym 16.384 ms, DE=1 -> ceil((264-48+28)/40)=7 -> 8+35=43 symbols -> (8+4.25+43)*16.384
  assert.equal(timeOnAirUs(lora(12, 250000, 33, { crc: false })), 905_216);
  // SF11BW250 33 B CRC off: Tsym 8.192 ms, DE=0 -> ceil((264-44+28)/44)=6 -> 8+30=38 symbols -> (8+4.25+38)*8.192
  assert.equal(timeOnAirUs(lora(11, 250000, 33, { crc: false })), 411_648);
});

test('coding rate 4/8 lengthens the payload part', () => {
  // SF7BW125 23 B CRC on: ceil((184-28+28+16)/28)=8 blocks of (4+4) -> 72 symbols -> (12.25+72)*1.024 ms
  assert.equal(timeOnAirUs(lora(7, 125000, 23, { crc: true, cr: '4/8' })), 86_272);
});

test('empty implicit payload clamps the payload symbol count at 8', () => {
  // SF12, PL 0, no CRC, IH: 0-48+28-20 = -40 -> ceil(-40/40) = -1 -> max(.., 0) -> 8 symbols
  assert.equal(timeOnAirUs(lora(12, 125000, 0, { crc: false, implicit: true })), (8 + 4.25 + 8) * 32_768);
});

test('FSK 50 kbps, 5 B preamble, 23 B, CRC: 3 B sync word + 1 length byte', () => {
  // (5 + 3 + 1 + 23 + 2) bytes * 8 / 50000 = 5.44 ms
  const p: AirtimeParams = { radio: { modulation: 'FSK', datarateBps: 50000 }, payloadSize: 23, preambleSymbols: 5, noCrc: false, noHeader: false };
  assert.equal(timeOnAirUs(p), 5_440);
  assert.equal(timeOnAirUs({ ...p, noCrc: true }), 5_120);
});

test('FSK time on air rounds up to the next microsecond', () => {
  // 34 bytes * 8 / 1200 bps = 226666.67 us
  const p: AirtimeParams = { radio: { modulation: 'FSK', datarateBps: 1200 }, payloadSize: 23, preambleSymbols: 5, noCrc: false, noHeader: false };
  assert.equal(timeOnAirUs(p), 226_667);
});

test('impossible parameters throw ERR_AIRTIME_PARAMS', () => {
  const bad: AirtimeParams[] = [
    lora(7, 125000, 256, { crc: true }),
    lora(7, 125000, -1, { crc: true }),
    lora(7, 125000, 1.5, { crc: true }),
    lora(7, 125000, 10, { crc: true, preamble: -1 }),
    { ...lora(7, 125000, 10, { crc: true }), radio: { modulation: 'LORA', spreadingFactor: 6 as SpreadingFactor, bandwidthHz: 125000, codeRate: '4/5' } },
    { ...lora(7, 125000, 10, { crc: true }), radio: { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 62500 as LoraBandwidthHz, codeRate: '4/5' } },
    { ...lora(7, 125000, 10, { crc: true }), radio: { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 125000, codeRate: '2/3' as CodeRate } },
    { ...lora(7, 125000, 10, { crc: true }), radio: { modulation: 'FSK', datarateBps: 0 } },
  ];
  for (const p of bad) {
    assert.throws(() => timeOnAirUs(p), (e: unknown) => (e as { code?: string }).code === 'ERR_AIRTIME_PARAMS', JSON.stringify(p));
  }
});
