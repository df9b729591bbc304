import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  encodePullRespBody,
  encodeTxpk,
  parsePullRespBody,
  txFreqHz,
  txRequestToTxpk,
  type TxRequest,
} from '../src/protocol/index.js';

const parse = (text: string) => parsePullRespBody(Buffer.from(text));
const body = (txpk: Record<string, unknown>) => JSON.stringify({ txpk });

/** A Class A downlink the way ChirpStack Gateway Bridge writes it (server-rules.md), ant/brd included. */
const CHIRPSTACK =
  '{"txpk":{"imme":false,"rfch":0,"powe":14,"ant":0,"brd":0,"tmst":3517348611,"freq":869.525,"modu":"LORA",' +
  '"datr":"SF12BW125","codr":"4/5","ipol":true,"size":4,"data":"AQIDBA=="}}';

const LORA_BASE = { imme: true, freq: 868.1, rfch: 0, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', size: 1, data: 'AA==' };
const FSK_BASE = { imme: true, freq: 868.8, rfch: 0, modu: 'FSK', datr: 50000, fdev: 25000, size: 1, data: 'AA==' };

describe('txFreqHz: MHz → whole Hz, float32 noise snapped to the kHz', () => {
  const cases: [number, number][] = [
    [869.525024, 869_525_000], // util_tx_test's float32 869.525
    [868.799988, 868_800_000], // float32 868.8
    [868.1, 868_100_000],
    [864.123456, 864_123_456], // PROTOCOL.TXT example: a real Hz value, kept
    [863.00981, 863_009_810], // PF4's truncation gives 863009809
    [869.525061, 869_525_061], // 61 Hz off: a different float32, kept
    [433.175, 433_175_000],
  ];
  for (const [mhz, hz] of cases) test(`${mhz} → ${hz}`, () => assert.equal(txFreqHz(mhz), hz));
});

describe('parsePullRespBody: accepted requests', () => {
  test('ChirpStack Class A: tmst, ipol, no ncrc/prea → CRC on, preamble 8, extra keys ignored', () => {
    assert.deepEqual(parse(CHIRPSTACK), {
      ok: true,
      request: {
        timing: { kind: 'tmst', countUs: 3_517_348_611 },
        freqHz: 869_525_000,
        rfChain: 0,
        powerDbm: 14,
        radio: { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 125_000, codeRate: '4/5' },
        invertPolarity: true,
        preambleSymbols: 8,
        noCrc: false,
        payload: Uint8Array.of(1, 2, 3, 4),
        warnings: [],
      } satisfies TxRequest,
    });
  });

  test('util_tx_test: imme, float32 freq, prea 8, no tmst', () => {
    const r = parse(
      '{"txpk":{"imme":true,"freq":869.525024,"rfch":0,"powe":14,"modu":"LORA","datr":"SF9BW125","codr":"4/6","ipol":false,"prea":8,"size":2,"data":"AAE="}}',
    );
    assert.ok(r.ok);
    assert.deepEqual(r.request.timing, { kind: 'immediate' });
    assert.equal(r.request.freqHz, 869_525_000);
  });

  test('TTS: ncrc true is honoured', () => {
    const r = parse(body({ ...LORA_BASE, ncrc: true }));
    assert.ok(r.ok && r.request.noCrc === true);
  });

  test('FSK: datr and fdev in Hz, preamble default 5, ipol ignored', () => {
    const r = parse(body({ ...FSK_BASE, ipol: true }));
    assert.ok(r.ok);
    assert.deepEqual(r.request.radio, { modulation: 'FSK', datarateBps: 50_000 });
    assert.equal(r.request.fdevHz, 25_000);
    assert.equal(r.request.preambleSymbols, 5);
    assert.equal(r.request.invertPolarity, false);
  });

  test('imme:true wins over tmst and tmms; imme:false falls through to tmst, then tmms', () => {
    const timing = (over: Record<string, unknown>) => {
      const r = parse(body({ ...LORA_BASE, ...over }));
      assert.ok(r.ok, JSON.stringify(r));
      return r.request.timing;
    };
    assert.deepEqual(timing({ imme: true, tmst: 5, tmms: 7 }), { kind: 'immediate' });
    assert.deepEqual(timing({ imme: false, tmst: 5, tmms: 7 }), { kind: 'tmst', countUs: 5 });
    assert.deepEqual(timing({ imme: undefined, tmst: 4294967295 }), { kind: 'tmst', countUs: 4294967295 });
    assert.deepEqual(timing({ imme: false, tmms: 1_400_000_000_000 }), { kind: 'tmms', gpsMs: 1_400_000_000_000 });
    assert.deepEqual(timing({ imme: null, tmst: null, tmms: 3 }), { kind: 'tmms', gpsMs: 3 });
  });

  test("codr aliases: PF4's 2/3 is 4/6 and 1/2 is 4/8", () => {
    for (const [codr, want] of [['2/3', '4/6'], ['1/2', '4/8'], ['4/7', '4/7']] as const) {
      const r = parse(body({ ...LORA_BASE, codr }));
      assert.ok(r.ok && r.request.radio.modulation === 'LORA');
      assert.equal(r.request.radio.codeRate, want);
    }
  });

  test('preamble minimums are applied with a warning; powe absent stays undefined', () => {
    const lora = parse(body({ ...LORA_BASE, prea: 4 }));
    assert.ok(lora.ok);
    assert.equal(lora.request.preambleSymbols, 6);
    assert.deepEqual(lora.request.warnings, ['prea 4 raised to the LORA minimum 6']);
    assert.equal(lora.request.powerDbm, undefined);
    const f = parse(body({ ...FSK_BASE, prea: 2 }));
    assert.ok(f.ok);
    assert.equal(f.request.preambleSymbols, 3);
    assert.deepEqual(f.request.warnings, ['prea 2 raised to the FSK minimum 3']);
  });

  test('decoded length ≠ size: the decoded bytes are sent, with a warning', () => {
    const r = parse(body({ ...LORA_BASE, size: 4, data: 'Zmlyc3Q=' }));
    assert.ok(r.ok);
    assert.deepEqual(r.request.payload, new Uint8Array(Buffer.from('first')));
    assert.deepEqual(r.request.warnings, ['size 4 but data decodes to 5 bytes; sending the 5 decoded bytes']);
  });

  test('more than 255 decoded bytes is a malformed request (no radio can send it); 255 is accepted', () => {
    const big = parse(body({ ...LORA_BASE, size: 256, data: Buffer.alloc(256).toString('base64') }));
    assert.deepEqual(big, { ok: false, reason: 'data decodes to 256 bytes; a radio frame carries at most 255' });
    const lying = parse(body({ ...LORA_BASE, size: 10, data: Buffer.alloc(300).toString('base64') }));
    assert.equal(lying.ok, false, 'the decoded length decides, not size');
    assert.equal(parse(body({ ...LORA_BASE, size: 255, data: Buffer.alloc(255).toString('base64') })).ok, true);
  });

  test('unpadded base64 is accepted ("padding optional"); a negative powe is the LUT\'s business', () => {
    const r = parse(body({ ...LORA_BASE, size: 2, data: 'AAE', powe: -6 }));
    assert.ok(r.ok);
    assert.deepEqual(r.request.payload, Uint8Array.of(0, 1));
    assert.equal(r.request.powerDbm, -6);
  });
});

describe('parsePullRespBody: rejected requests (no TX_ACK), one reason naming the field', () => {
  const rejects: [string, string, string][] = [
    ['txpk missing', '{"nottxpk":{}}', 'txpk missing'],
    ['txpk not an object', '{"txpk":[1]}', 'txpk is not a JSON object'],
    ['JSON that is an array', '[1]', 'PULL_RESP body is not a JSON object'],
    ['no timing', body({ ...LORA_BASE, imme: false }), 'no timing: imme is not true and tmst and tmms are absent'],
    ['imme as a string', body({ ...LORA_BASE, imme: 'true' }), 'imme "true" is not a boolean'],
    ['tmst beyond u32', body({ ...LORA_BASE, imme: false, tmst: 4294967296 }), 'tmst 4294967296 is not an integer in 0..4294967295'],
    ['tmst negative', body({ ...LORA_BASE, imme: false, tmst: -1 }), 'tmst -1 is not an integer in 0..4294967295'],
    ['tmst fractional', body({ ...LORA_BASE, imme: false, tmst: 1000.5 }), 'tmst 1000.5 is not an integer in 0..4294967295'],
    ['tmms negative', body({ ...LORA_BASE, imme: false, tmms: -5 }), 'tmms -5 is not an integer in 0..9007199254740991'],
    ['ncrc as a number', body({ ...LORA_BASE, ncrc: 1 }), 'ncrc 1 is not a boolean'],
    ['freq missing', body({ ...LORA_BASE, freq: undefined }), 'freq missing'],
    ['freq negative', body({ ...LORA_BASE, freq: -868.1 }), 'freq -868.1 is not a positive frequency in MHz'],
    ['freq as a string', body({ ...LORA_BASE, freq: '868.1' }), 'freq "868.1" is not a number'],
    ['rfch missing', body({ ...LORA_BASE, rfch: undefined }), 'rfch missing'],
    ['rfch negative', body({ ...LORA_BASE, rfch: -1 }), 'rfch -1 is not an integer in 0..4294967295'],
    ['powe fractional', body({ ...LORA_BASE, powe: 14.5 }), 'powe 14.5 is not an integer in -9007199254740991..9007199254740991'],
    ['modu missing', body({ ...LORA_BASE, modu: undefined }), 'modu missing'],
    ['modu unknown', body({ ...LORA_BASE, modu: 'GFSK' }), 'modu "GFSK" is not "LORA" or "FSK"'],
    ['LoRa datr missing', body({ ...LORA_BASE, datr: undefined }), 'datr missing'],
    ['LoRa datr SF13', body({ ...LORA_BASE, datr: 'SF13BW125' }), 'datr "SF13BW125": spreading factor 13 not in 7..12'],
    ['LoRa datr BW812', body({ ...LORA_BASE, datr: 'SF7BW812' }), 'datr "SF7BW812": bandwidth 812 kHz not 125, 250 or 500'],
    ['LoRa datr fractional BW', body({ ...LORA_BASE, datr: 'SF7BW812.5' }), 'datr "SF7BW812.5" is not of the form SF<n>BW<kHz>'],
    ['LoRa datr as a number', body({ ...LORA_BASE, datr: 7 }), 'datr 7 is not a LoRa datarate string like "SF7BW125"'],
    ['LoRa codr missing', body({ ...LORA_BASE, codr: undefined }), 'codr missing (required for LORA)'],
    ['LoRa codr bad', body({ ...LORA_BASE, codr: '4/9' }), 'codr "4/9" is not 4/5, 4/6, 4/7, 4/8, 2/3 or 1/2'],
    ['FSK datr missing', body({ ...FSK_BASE, datr: undefined }), 'datr missing'],
    ['FSK datr as a string', body({ ...FSK_BASE, datr: '50000' }), 'datr "50000" is not an FSK bit rate (positive integer, bps)'],
    ['FSK datr zero', body({ ...FSK_BASE, datr: 0 }), 'datr 0 is not an FSK bit rate (positive integer, bps)'],
    ['FSK fdev missing', body({ ...FSK_BASE, fdev: undefined }), 'fdev missing (required for FSK)'],
    ['FSK fdev fractional', body({ ...FSK_BASE, fdev: 2500.5 }), 'fdev 2500.5 is not an integer in 1..4294967295'],
    ['ipol as a string', body({ ...LORA_BASE, ipol: 'yes' }), 'ipol "yes" is not a boolean'],
    ['prea negative', body({ ...LORA_BASE, prea: -1 }), 'prea -1 is not an integer in 0..65535'],
    ['size missing', body({ ...LORA_BASE, size: undefined }), 'size missing'],
    ['size fractional', body({ ...LORA_BASE, size: 1.5 }), 'size 1.5 is not an integer in 0..65535'],
    ['data missing', body({ ...LORA_BASE, data: undefined }), 'data missing'],
    ['data not a string', body({ ...LORA_BASE, data: [0] }), 'data [0] is not a string'],
    ['data URL-safe', body({ ...LORA_BASE, data: '-_-_' }), "data not standard base64: URL-safe character '-' at index 0"],
    ['data garbage', body({ ...LORA_BASE, data: 'AA$A' }), 'data not standard base64: invalid character "$" at index 2'],
    ['data dangling', body({ ...LORA_BASE, data: 'AAAAA' }), 'data not standard base64: length 5 leaves a dangling character'],
  ];
  for (const [name, text, reason] of rejects) {
    test(name, () => assert.deepEqual(parse(text), { ok: false, reason }));
  }

  test('invalid JSON (PF4 allows comments; we do not)', () => {
    for (const text of ['{"txpk":', '{"txpk":{} /* c */}', '{"txpk":{},}']) {
      const r = parse(text);
      assert.equal(r.ok, false);
      assert.match(!r.ok ? r.reason : '', /^PULL_RESP body is not valid JSON: /);
    }
  });
});

describe('encodeTxpk and txRequestToTxpk', () => {
  test('exact text in PROTOCOL.TXT order', () => {
    assert.equal(
      encodeTxpk({ imme: false, tmst: 1000, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF12BW125', codr: '4/5', ipol: true, size: 1, data: 'AA==' }),
      '{"imme":false,"tmst":1000,"freq":869.525000,"rfch":0,"powe":14,"modu":"LORA","datr":"SF12BW125","codr":"4/5","ipol":true,"size":1,"data":"AA=="}',
    );
    assert.equal(
      encodePullRespBody({ imme: true, freq: 861.3, rfch: 0, powe: 12, modu: 'FSK', datr: 50000, fdev: 3000, prea: 5, size: 0, data: '', ncrc: false }),
      '{"txpk":{"imme":true,"freq":861.300000,"rfch":0,"powe":12,"modu":"FSK","datr":50000,"fdev":3000,"prea":5,"size":0,"data":"","ncrc":false}}',
    );
  });

  const requests: TxRequest[] = [
    {
      timing: { kind: 'tmst', countUs: 4294967295 },
      freqHz: 864_123_456,
      rfChain: 1,
      powerDbm: 27,
      radio: { modulation: 'LORA', spreadingFactor: 9, bandwidthHz: 250_000, codeRate: '4/7' },
      invertPolarity: true,
      preambleSymbols: 10,
      noCrc: true,
      payload: Uint8Array.of(0xfb, 0xff, 0),
      warnings: [],
    },
    {
      timing: { kind: 'tmms', gpsMs: 1_400_000_000_123 },
      freqHz: 869_525_000,
      rfChain: 0,
      powerDbm: undefined,
      radio: { modulation: 'FSK', datarateBps: 50_000 },
      fdevHz: 25_000,
      invertPolarity: false,
      preambleSymbols: 5,
      noCrc: false,
      payload: Uint8Array.of(1),
      warnings: [],
    },
    {
      timing: { kind: 'immediate' },
      freqHz: 923_300_000,
      rfChain: 0,
      powerDbm: -6,
      radio: { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 500_000, codeRate: '4/5' },
      invertPolarity: false,
      preambleSymbols: 8,
      noCrc: false,
      payload: new Uint8Array(0),
      warnings: [],
    },
  ];
  for (const req of requests) {
    test(`request → txpk → text → request (${req.timing.kind}, ${req.radio.modulation})`, () => {
      assert.deepEqual(parse(encodePullRespBody(txRequestToTxpk(req))), { ok: true, request: req });
    });
  }
});
