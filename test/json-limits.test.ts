/**
 * The JSON size/depth scanner, the bounded value renderer and the
 * last-resort guard (hal/json-limits.ts, hal/guard.ts; issue 18).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { checkJsonLimits, guard, parseJsonWithin, showJsonValue } from '../hal/index.js';
import { deepArray, deepMixed, deepObject } from '../bench/hostile-json.js';

const L = { maxBytes: 1000, maxDepth: 4 };

describe('checkJsonLimits', () => {
  test('depth counts arrays and objects; the top level is 1; exactly at the limit passes', () => {
    assert.equal(checkJsonLimits('{}', L), null);
    assert.equal(checkJsonLimits('1', L), null);
    assert.equal(checkJsonLimits(deepArray(4), L), null);
    assert.equal(checkJsonLimits(deepArray(5), L), 'nesting deeper than 4 levels');
    assert.equal(checkJsonLimits(deepObject(4), L), null);
    assert.equal(checkJsonLimits(deepObject(5), L), 'nesting deeper than 4 levels');
    assert.equal(checkJsonLimits(deepMixed(5), L), 'nesting deeper than 4 levels');
    // Siblings do not add up: depth is the deepest path, not the count of brackets.
    assert.equal(checkJsonLimits(`[${Array(100).fill('[[[]]]').join(',')}]`, L), null);
  });

  test('brackets inside strings do not count, escaped quotes do not end a string', () => {
    assert.equal(checkJsonLimits(JSON.stringify({ a: '[[[[[[[[{{{{{{' }), L), null);
    assert.equal(checkJsonLimits('{"a":"\\"[[[[[[[[[[\\\\"}', L), null);
    // After an escaped backslash the quote does end the string: the brackets after it count.
    assert.equal(checkJsonLimits('["\\\\",[[[[[]]]]]]', L), 'nesting deeper than 4 levels');
  });

  test('size is in UTF-8 bytes, for a string as for a Buffer', () => {
    const text = JSON.stringify({ a: 'é'.repeat(499) }); // 8 + 998 bytes, 507 characters
    assert.equal(checkJsonLimits(text, L), `1006 bytes exceed the 1000-byte limit`);
    assert.equal(checkJsonLimits(Buffer.from(text), L), `1006 bytes exceed the 1000-byte limit`);
    assert.equal(checkJsonLimits(JSON.stringify({ a: 'é'.repeat(495) }), L), null);
  });

  test('a Buffer and its text give the same answer on every hostile shape', () => {
    for (const t of [deepArray(3), deepArray(9), '"[[[[[["', '{"a":"\\"}[[[[[[', '\u00e9[[[[[', '']) {
      assert.equal(checkJsonLimits(Buffer.from(t), L), checkJsonLimits(t, L), t);
    }
  });

  test('parseJsonWithin never throws and says why', () => {
    assert.deepEqual(parseJsonWithin('{"a":1}', L, 'body'), { ok: true, value: { a: 1 } });
    assert.deepEqual(parseJsonWithin(deepArray(50), L, 'body'), { ok: false, reason: 'body refused: nesting deeper than 4 levels' });
    const bad = parseJsonWithin('{"a":', L, 'body');
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.reason, /^body is not valid JSON: /);
  });

  test('a 1 MB, 500 000-deep text is refused in one pass, without parsing', () => {
    const t0 = performance.now();
    assert.equal(checkJsonLimits(Buffer.from(deepArray(500_000)), { maxBytes: 2 << 20, maxDepth: 16 }), 'nesting deeper than 16 levels');
    assert.equal(checkJsonLimits(deepArray(500_000), { maxBytes: 100, maxDepth: 16 }), '1000000 bytes exceed the 100-byte limit');
    // Not a performance claim: a recursive implementation would have thrown RangeError above.
    assert.ok(performance.now() - t0 < 5000);
  });
});

describe('showJsonValue', () => {
  test('small values: exactly their compact JSON', () => {
    for (const v of [null, true, 0, -1.5, 'SF7BW125', [0], [1, [2, [3]]], { a: { b: [] } }, '', [], {}]) {
      assert.equal(showJsonValue(v), JSON.stringify(v));
    }
    assert.equal(showJsonValue(undefined), 'undefined');
  });

  test('values JSON.stringify cannot render are rendered, bounded, with what they are', () => {
    const deep = JSON.parse(deepArray(100_000)) as unknown;
    assert.throws(() => JSON.stringify(deep), RangeError, 'the reason this renderer exists');
    assert.equal(showJsonValue(deep), `${'['.repeat(37)}... (an array of 1 item)`);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.equal(showJsonValue(cyclic), '{"a":1,"self":{"a":1,"self":{"a":1,"s... (an object)');
  });

  test('a huge string or array: a prefix, and its length', () => {
    assert.equal(showJsonValue('A'.repeat(60_000)), `"${'A'.repeat(36)}... (a string of 60000 characters)`);
    assert.equal(showJsonValue(new Array(1_000_000).fill(0)), `[${'0,'.repeat(18)}... (an array of 1000000 items)`);
    const wide = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
    assert.match(showJsonValue(wide), /^\{"k0":0,"k1":1,.*\.\.\. \(an object\)$/);
  });

  test('never longer than the limit plus the description', () => {
    for (const v of [JSON.parse(deepMixed(5000)) as unknown, 'x'.repeat(100), [['a'.repeat(50)]], { ['k'.repeat(80)]: 1 }]) {
      const s = showJsonValue(v);
      assert.ok(s.length <= 40 + ' (a string of 100 characters)'.length, s);
    }
  });
});

describe('guard', () => {
  function logger() {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    });
    return { log: pino({ level: 'info', base: undefined }, sink), lines };
  }

  test('a synchronous throw is counted, logged with the handler name, and does not leave the wrapper', () => {
    const { log, lines } = logger();
    const counted: string[] = [];
    const f = guard(log, (n) => counted.push(n), 'test handler', (x: number) => {
      if (x > 1) throw Object.assign(new Error(`bad ${x}`), { code: 'EBAD' });
      return x;
    });
    f(1);
    f(2);
    assert.deepEqual(counted, ['test handler']);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.handler, 'test handler');
    assert.equal(lines[0]!.err, 'bad 2');
    assert.equal(lines[0]!.code, 'EBAD');
    assert.equal(lines[0]!.level, 50);
    assert.match(String(lines[0]!.stack), /bad 2/);
  });

  test('a rejected promise is caught (no unhandled rejection), counted and logged', async () => {
    const { log, lines } = logger();
    let count = 0;
    let unhandled = 0;
    const onUnhandled = () => unhandled++;
    process.on('unhandledRejection', onUnhandled);
    try {
      const f = guard(log, () => count++, 'async handler', async () => {
        await new Promise((r) => setImmediate(r));
        throw new Error('later');
      });
      f();
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.equal(count, 1);
    assert.equal(unhandled, 0);
    assert.equal(lines[0]!.err, 'later');
  });

  test('a flood is counted in full but logged once per interval, with the number suppressed', () => {
    const { log, lines } = logger();
    let count = 0;
    const f = guard(log, () => count++, 'flood', () => {
      throw new Error('again');
    });
    for (let i = 0; i < 1000; i++) f();
    assert.equal(count, 1000);
    assert.equal(lines.length, 1, 'one line for 1000 errors within the interval');
    assert.equal(lines[0]!.suppressed, 0);
  });

  test('a throw of a non-Error, and a counter that throws itself, are survived', () => {
    const { log, lines } = logger();
    const f = guard(log, () => {
      throw new Error('counter broken');
    }, 'odd', () => {
      throw 'a string'; // eslint-disable-line no-throw-literal
    });
    assert.doesNotThrow(() => f());
    const g = guard(log, () => undefined, 'odd2', () => {
      throw null; // eslint-disable-line no-throw-literal
    });
    assert.doesNotThrow(() => g());
    assert.equal(lines.at(-1)!.err, 'null');
  });
});
