import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeStat, encodeStat, makeStat } from '../src/protocol/index.js';

/** 2014-01-12 08:59:28.900 UTC (PROTOCOL.TXT's stat example), Unix ms. */
const NOW_MS = 1_389_517_168_900;
const COUNTERS = { rxnb: 2, rxok: 2, rxfw: 2, ackr: 100, dwnb: 2, txnb: 2 };

describe('stat', () => {
  test('with a location: exact PF4 text (time to the second, %.5f, integer alti, %.1f ackr)', () => {
    assert.equal(
      encodeStat(makeStat(NOW_MS, COUNTERS, { lati: 46.24, long: 3.2523, alti: 145 })),
      '{"time":"2014-01-12 08:59:28 GMT","lati":46.24000,"long":3.25230,"alti":145,"rxnb":2,"rxok":2,"rxfw":2,"ackr":100.0,"dwnb":2,"txnb":2}',
    );
  });

  test('without a location: no lati/long/alti keys; ackr rounded to 0.1', () => {
    const s = makeStat(NOW_MS, { rxnb: 10, rxok: 7, rxfw: 7, ackr: (100 * 2) / 3, dwnb: 0, txnb: 0 });
    assert.equal(s.ackr, 66.7);
    assert.equal(encodeStat(s), '{"time":"2014-01-12 08:59:28 GMT","rxnb":10,"rxok":7,"rxfw":7,"ackr":66.7,"dwnb":0,"txnb":0}');
  });

  test('negative coordinates, fractional altitude rounded to whole metres', () => {
    const text = encodeStat(makeStat(NOW_MS, COUNTERS, { lati: -33.868820, long: -151.209296, alti: 58.6 }));
    assert.match(text, /"lati":-33\.86882,"long":-151\.20930,"alti":59,/);
  });

  test('encode → JSON.parse → decode gives the stat back', () => {
    for (const loc of [undefined, { lati: -33.86882, long: 151.2093, alti: -12 }]) {
      const s = makeStat(NOW_MS, { rxnb: 4294967295, rxok: 1, rxfw: 0, ackr: 0, dwnb: 3, txnb: 3 }, loc);
      assert.deepEqual(decodeStat(JSON.parse(encodeStat(s))), { ok: true, stat: s });
    }
  });

  const valid = () => JSON.parse(encodeStat(makeStat(NOW_MS, COUNTERS, { lati: 46.24, long: 3.2523, alti: 145 })));
  const rejects: [string, Record<string, unknown>, string][] = [
    ['ISO time', { time: '2014-01-12T08:59:28Z' }, 'stat time "2014-01-12T08:59:28Z" is not like "2014-01-12 08:59:28 GMT"'],
    ['time without zone', { time: '2014-01-12 08:59:28' }, 'stat time "2014-01-12 08:59:28" is not like "2014-01-12 08:59:28 GMT"'],
    ['time missing', { time: undefined }, 'time missing'],
    ['fractional alti', { alti: 145.2 }, 'alti 145.2 is not an integer in -2147483648..2147483647'],
    ['lati as a string', { lati: '46.24' }, 'lati "46.24" is not a number'],
    ['negative rxnb', { rxnb: -1 }, 'rxnb -1 is not an integer in 0..4294967295'],
    ['txnb missing', { txnb: undefined }, 'txnb missing'],
    ['ackr over 100', { ackr: 100.1 }, 'ackr 100.1 is not a percentage in 0..100'],
  ];
  for (const [name, over, reason] of rejects) {
    test(`decode rejects ${name}`, () => {
      const o = { ...valid(), ...over };
      for (const k of Object.keys(over)) if (over[k] === undefined) delete o[k];
      assert.deepEqual(decodeStat(o), { ok: false, reason });
    });
  }

  test('decode accepts UTC as the zone name', () => {
    assert.equal(decodeStat({ ...valid(), time: '2014-01-12 08:59:28 UTC' }).ok, true);
  });
});
