import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeBase64Strict, formatFixed, formatFreqMhz } from '../src/protocol/index.js';
import { formatFixedExact } from '../src/protocol/wire-format.js';

describe('formatFixed: printf %.Nf rounding', () => {
  const cases: [number, number, string][] = [
    [-35.4, 0, '-35'],
    [-35.5, 0, '-36'], // exact tie → even
    [-36.5, 0, '-36'], // exact tie → even
    [-34.6, 0, '-35'],
    [-0.4, 0, '0'], // never "-0"
    [-7.25, 1, '-7.2'], // SX1301 SNR quarter-dB tie → even
    [-7.75, 1, '-7.8'],
    [9.5, 1, '9.5'],
    [-0.04, 1, '0.0'], // never "-0.0"
    [-0.05, 1, '-0.1'], // -0.05 is slightly more than -0.05 in binary: not a tie
    [0.15, 1, '0.1'], // 0.15 is slightly less than 0.15 in binary
    [99.95, 1, '100.0'], // 99.95 is 99.9500000000000028...: rounds up, carries
    [46.24, 5, '46.24000'],
    [3.2523, 5, '3.25230'],
    [0.015625, 5, '0.01562'], // exact tie at the 6th decimal → even
    [100, 1, '100.0'],
  ];
  for (const [value, decimals, want] of cases) {
    test(`${value} with ${decimals} decimals → ${want}`, () => {
      assert.equal(formatFixed(value, decimals), want);
    });
  }

  test('non-finite values are programmer errors', () => {
    assert.throws(() => formatFixed(Number.NaN, 1), { code: 'ERR_INVALID_WIRE_VALUE' });
    assert.throws(() => formatFixed(Number.POSITIVE_INFINITY, 0), { code: 'ERR_INVALID_WIRE_VALUE' });
  });
});

describe('formatFreqMhz: 6 decimals from whole Hz', () => {
  const cases: [number, string][] = [
    [868_100_000, '868.100000'],
    [869_525_000, '869.525000'],
    [866_349_812, '866.349812'],
    [433_175_000, '433.175000'],
    [923_300_000, '923.300000'],
    [868.1 * 1e6, '868.100000'], // 868100000.0000001 in floating point
    [2_425_000_001, '2425.000001'],
  ];
  for (const [hz, want] of cases) {
    test(`${hz} Hz → ${want}`, () => assert.equal(formatFreqMhz(hz), want));
  }
});

describe('decodeBase64Strict', () => {
  test('padded and (when allowed) unpadded standard base64', () => {
    assert.deepEqual(decodeBase64Strict('AQID', true), { ok: true, bytes: Buffer.from([1, 2, 3]) });
    assert.deepEqual(decodeBase64Strict('AQI=', true), { ok: true, bytes: Buffer.from([1, 2]) });
    assert.deepEqual(decodeBase64Strict('AQ==', true), { ok: true, bytes: Buffer.from([1]) });
    assert.deepEqual(decodeBase64Strict('AQ', false), { ok: true, bytes: Buffer.from([1]) });
    assert.deepEqual(decodeBase64Strict('+/8=', true), { ok: true, bytes: Buffer.from([0xfb, 0xff]) });
    assert.deepEqual(decodeBase64Strict('', true), { ok: true, bytes: Buffer.alloc(0) });
  });

  const rejects: [string, boolean, string][] = [
    ['-_8=', false, "not standard base64: URL-safe character '-' at index 0"],
    ['AQ_=', false, "not standard base64: URL-safe character '_' at index 2"],
    ['AQ*=', false, 'not standard base64: invalid character "*" at index 2'],
    ['AQ ID', false, 'not standard base64: invalid character " " at index 2'],
    ['AQ=D', false, "not standard base64: misplaced '=' at index 2"],
    ['AQ===', false, "not standard base64: misplaced '=' at index 2"],
    ['AQIDB', false, 'not standard base64: length 5 leaves a dangling character'],
    ['AQI==', false, "not standard base64: 2 '=' where 1 belong"],
    ['AQ', true, "not padded base64: 2 '=' missing"],
  ];
  for (const [text, requirePadding, reason] of rejects) {
    test(`${JSON.stringify(text)} → ${reason}`, () => {
      assert.deepEqual(decodeBase64Strict(text, requirePadding), { ok: false, reason });
    });
  }
});

describe('formatFixed against glibc printf and its own exact path', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const fixture = path.join(here, '..', '..', 'test', 'fixtures', 'printf-fixed', 'glibc.txt');

  test('every recorded value prints as glibc prints it (%.0f, %.1f, %.5f)', () => {
    const lines = readFileSync(fixture, 'utf8').trim().split('\n');
    assert.ok(lines.length > 4000, `fixture has ${lines.length} lines`);
    const unsign = (s: string) => (/^-[0.]+$/.test(s) ? s.slice(1) : s);
    let mismatches: string[] = [];
    for (const line of lines) {
      const [text, p0, p1, p5] = line.split(' ') as [string, string, string, string];
      const v = Number(text);
      for (const [d, want] of [[0, p0], [1, p1], [5, p5]] as const) {
        const got = formatFixed(v, d);
        if (got !== unsign(want)) mismatches.push(`${text} %.${d}f: printf ${want}, got ${got}`);
      }
    }
    assert.deepEqual(mismatches.slice(0, 10), []);
  });

  test('the arithmetic fast path agrees with the exact digit path on 300 000 values, near-ties included', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const mismatches: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const d = [0, 1, 5][i % 3]!;
      const p = 10 ** d;
      // a half-way point k + 0.5 in the scaled domain, nudged by 0..3 ulps either way
      const k = Math.floor(rnd() * 2e6) - 1e6;
      let tie = (k + 0.5) / p;
      const nudge = Math.floor(rnd() * 7) - 3;
      for (let j = 0; j < Math.abs(nudge); j++) tie = nextAfter(tie, nudge > 0 ? Infinity : -Infinity);
      const random = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 8 - 2);
      for (const v of [tie, random, -tie]) {
        const a = formatFixed(v, d);
        const b = formatFixedExact(v, d);
        if (a !== b) mismatches.push(`${v.toPrecision(17)} d=${d}: ${a} vs exact ${b}`);
      }
    }
    assert.deepEqual(mismatches.slice(0, 10), []);
  });
});

/** The adjacent double towards `to` (IEEE 754 nextafter). */
function nextAfter(x: number, to: number): number {
  if (x === to) return x;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  let bits = buf.getBigUint64(0);
  if (x === 0) bits = 1n | (to > 0 ? 0n : 1n << 63n);
  else if (x < to === x > 0) bits += 1n;
  else bits -= 1n;
  buf.setBigUint64(0, bits);
  return buf.getFloat64(0);
}
