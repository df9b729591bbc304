import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RxPacket } from '../hal/index.js';
import {
  buildPushDataBodies,
  DEFAULT_PUSH_DATA_BODY_MAX_BYTES,
  encodeRxpk,
  encodeStat,
  makeStat,
  parsePushDataBody,
  rxPacketToRxpk,
} from '../src/protocol/index.js';

/**
 * The longest rxpk PF4 can write for a 255-byte LoRa payload: 10-digit tmst,
 * time and a 13-digit tmms, chan 9, stat -1, SF12BW500, lsnr -12.5, rssi -120.
 */
function worstRxpk(i: number): string {
  const pkt: RxPacket = {
    countUs: 4_000_000_000 + i,
    freqHz: 868_100_000,
    ifChain: 9,
    rfChain: 1,
    crcStatus: 'bad',
    radio: { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 500_000, codeRate: '4/8' },
    rssiDbm: -120,
    snrDb: -12.5,
    payload: new Uint8Array(255).fill(i),
  };
  return encodeRxpk(rxPacketToRxpk(pkt, { utcUs: 1_364_746_877_528_002, gpsMs: 1_048_782_095_528 }));
}

/** A stat with a location and the largest counters. */
const BIG_STAT = encodeStat(
  makeStat(0, { rxnb: 4294967295, rxok: 4294967295, rxfw: 4294967295, ackr: 100, dwnb: 4294967295, txnb: 4294967295 }, {
    lati: -46.24,
    long: -173.2523,
    alti: -1450,
  }),
);

const rxpkOf = (bodies: string[]) => bodies.flatMap((b) => (JSON.parse(b).rxpk ?? []) as unknown[]);

describe('buildPushDataBodies', () => {
  test('the body forms', () => {
    assert.deepEqual(buildPushDataBodies([], null), []);
    assert.deepEqual(buildPushDataBodies([], '{"x":1}'), ['{"stat":{"x":1}}']);
    assert.deepEqual(buildPushDataBodies(['{"a":1}'], null), ['{"rxpk":[{"a":1}]}']);
    assert.deepEqual(buildPushDataBodies(['{"a":1}', '{"b":2}'], '{"x":1}'), ['{"rxpk":[{"a":1},{"b":2}],"stat":{"x":1}}']);
  });

  test('sizes: a worst-case rxpk is 555 bytes and the big stat 185 (PF4 budgets 540 and 200)', () => {
    assert.equal(worstRxpk(0).length, 555);
    assert.equal(BIG_STAT.length, 185);
    assert.equal(DEFAULT_PUSH_DATA_BODY_MAX_BYTES, 4538);
  });

  test('8 worst-case rxpk fit one PF4-sized datagram: 8·555 + 7 commas + 11 = 4458 ≤ 4538', () => {
    const rxpk = Array.from({ length: 8 }, (_, i) => worstRxpk(i));
    const bodies = buildPushDataBodies(rxpk, null);
    assert.equal(bodies.length, 1);
    assert.equal(bodies[0]!.length, 4458);
  });

  test('8 worst-case rxpk plus the stat do not fit (4651 > 4538): stat and 7 first, then 1', () => {
    const rxpk = Array.from({ length: 8 }, (_, i) => worstRxpk(i));
    const bodies = buildPushDataBodies(rxpk, BIG_STAT);
    assert.deepEqual(
      bodies.map((b) => b.length),
      [7 * 555 + 6 + 11 + 8 + 185, 555 + 11],
    );
    assert.ok(bodies[0]!.endsWith(`,"stat":${BIG_STAT}}`));
    assert.deepEqual(rxpkOf(bodies), rxpk.map((r) => JSON.parse(r)));
  });

  test('20 worst-case rxpk split with none lost, in order, each body within the limit, stat only in the first', () => {
    const rxpk = Array.from({ length: 20 }, (_, i) => worstRxpk(i));
    for (const stat of [null, BIG_STAT]) {
      const bodies = buildPushDataBodies(rxpk, stat);
      assert.deepEqual(
        bodies.map((b) => JSON.parse(b).rxpk?.length ?? 0),
        stat === null ? [8, 8, 4] : [7, 8, 5],
      );
      for (const b of bodies) assert.ok(Buffer.byteLength(b) <= DEFAULT_PUSH_DATA_BODY_MAX_BYTES, `body of ${b.length} bytes`);
      assert.deepEqual(rxpkOf(bodies), rxpk.map((r) => JSON.parse(r)));
      assert.deepEqual(
        bodies.map((b) => b.includes('"stat":{')),
        stat === null ? [false, false, false] : [true, false, false],
      );
    }
  });

  test('a stat that cannot share the first body with the first rxpk goes alone first', () => {
    assert.deepEqual(buildPushDataBodies(['{"a":1}'], '{"x":1}', 20), ['{"stat":{"x":1}}', '{"rxpk":[{"a":1}]}']);
  });

  test('an rxpk bigger than the limit on its own still goes out, alone', () => {
    assert.deepEqual(buildPushDataBodies(['{"a":1}', '{"bbbbbbbbbbbbbbbbbbbb":2}', '{"c":3}'], null, 30), [
      '{"rxpk":[{"a":1}]}',
      '{"rxpk":[{"bbbbbbbbbbbbbbbbbbbb":2}]}',
      '{"rxpk":[{"c":3}]}',
    ]);
  });
});

describe('parsePushDataBody', () => {
  const stat = encodeStat(makeStat(1_389_517_168_000, { rxnb: 1, rxok: 1, rxfw: 1, ackr: 100, dwnb: 0, txnb: 0 }));

  test('reads back what buildPushDataBodies wrote', () => {
    const rxpk = [worstRxpk(1), worstRxpk(2)];
    const [body] = buildPushDataBodies(rxpk, stat);
    const r = parsePushDataBody(Buffer.from(body!));
    assert.ok(r.ok);
    assert.equal(r.rxpk.length, 2);
    assert.equal(r.rxpk[1]!.tmst, 4_000_000_002);
    assert.equal(r.stat?.time, '2014-01-12 08:59:28 GMT');
  });

  test('rejects invalid JSON', () => {
    const r = parsePushDataBody(Buffer.from('{"rxpk":['));
    assert.match(!r.ok ? r.reason : '', /^PUSH_DATA body is not valid JSON: /);
  });

  const rejects: [string, string, string][] = [
    ['an array', '[]', 'PUSH_DATA body is not a JSON object'],
    ['neither rxpk nor stat', '{}', 'PUSH_DATA body has neither rxpk nor stat'],
    ['an empty rxpk array', '{"rxpk":[]}', 'rxpk is not a non-empty array'],
    ['a bad rxpk (the whole body goes, as in TTS)', `{"rxpk":[${worstRxpk(1)},{"tmst":1}]}`, 'rxpk[1]: chan missing'],
    ['rssi written -35.0 (Go integer decoding rejects it)', `{"rxpk":[${worstRxpk(1).replace('"rssi":-120', '"rssi":-120.0')}]}`, 'rssi written as -120.0: servers require a JSON integer'],
    ['size written 2.55e2', `{"rxpk":[${worstRxpk(1).replace('"size":255', '"size":2.55e2')}]}`, 'size written as 2.55e2: servers require a JSON integer'],
    ['a bad stat', '{"stat":{"time":"2014-01-12T08:59:28Z"}}', 'stat: stat time "2014-01-12T08:59:28Z" is not like "2014-01-12 08:59:28 GMT"'],
    ['a stat that is not an object', '{"stat":"ok"}', 'stat is not a JSON object'],
  ];
  for (const [name, body, reason] of rejects) {
    test(`rejects ${name}`, () => {
      assert.deepEqual(parsePushDataBody(Buffer.from(body)), { ok: false, reason });
    });
  }
});

describe('planPushDataBodies', () => {
  test('says how many rxpk each body carries and which carries the stat; counts add up', async () => {
    const { planPushDataBodies } = await import('../src/protocol/index.js');
    const big = (i: number) => `{"tmst":${i},"data":"${'A'.repeat(1000)}"}`;
    const plan = planPushDataBodies(Array.from({ length: 20 }, (_, i) => big(i)), '{"rxnb":20}', 4538);
    assert.ok(plan.length > 1);
    assert.equal(plan.reduce((n, b) => n + b.rxpkCount, 0), 20);
    assert.deepEqual(plan.map((b) => b.hasStat), plan.map((_, i) => i === 0));
    for (const b of plan) assert.equal((JSON.parse(b.body) as { rxpk?: unknown[] }).rxpk?.length ?? 0, b.rxpkCount);
  });
});
