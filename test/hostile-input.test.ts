/**
 * Issue 18, part 1, at the decoders: every hostile value (deep nesting, huge
 * strings, every JSON type) in every field of a PULL_RESP txpk, of a
 * virtual-air datagram, of a PUSH_DATA and a TX_ACK, and as whole bodies, is
 * a value with a short one-line reason, never a throw. The same datagrams
 * against the real forwarder process are in the fuzz run (bench/fuzz.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AIR_JSON_LIMITS, decodeAirMessage } from '../hal/index.js';
import { ConfigError, parseConfig } from '../src/config/index.js';
import { decodeTxAckBody, parsePullRespBody, parsePushDataBody, WIRE_JSON_LIMITS } from '../src/protocol/index.js';
import { BASE_AIR_UPLINK, BASE_TXPK, deepArray, hostileAirDatagrams, hostilePullRespBodies, hostileValues, withField } from '../bench/hostile-json.js';
import { readFileSync } from 'node:fs';

/** Longest reason a decoder may give: a field name, a bounded rendering and a sentence. */
const MAX_REASON_CHARS = 200;

function checkReason(name: string, r: { ok: boolean; reason?: string }): void {
  if (r.ok) return;
  assert.ok(typeof r.reason === 'string' && r.reason.length > 0, `${name}: a reason`);
  assert.ok(r.reason.length <= MAX_REASON_CHARS, `${name}: reason of ${r.reason.length} characters: ${r.reason.slice(0, 300)}`);
  assert.doesNotMatch(r.reason, /\n/, `${name}: one line`);
}

describe('PULL_RESP: every hostile value in every txpk field and as the body', () => {
  const cases = hostilePullRespBodies({ huge: true });
  test(`${cases.length} bodies: none throws, every refusal has a short reason`, () => {
    let refused = 0;
    for (const c of cases) {
      const r = parsePullRespBody(Buffer.from(c.body));
      checkReason(c.name, r);
      if (!r.ok) refused++;
    }
    assert.ok(refused > cases.length / 2, `${refused} of ${cases.length} refused`);
  });

  // The datagrams of the issue: these ended the process with RangeError in JSON.stringify.
  for (const field of ['imme', 'freq', 'datr', 'rfch', 'size']) {
    test(`txpk.${field} nested 5000 deep (10 KB): refused for its size before it is parsed`, () => {
      const r = parsePullRespBody(Buffer.from(`{"txpk":${withField(BASE_TXPK, field, deepArray(5000))}}`));
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.reason, /^PULL_RESP body refused: \d+ bytes exceed the 8192-byte limit$/);
    });
    test(`txpk.${field} nested 3000 deep (6 KB, within the size limit): refused for its depth`, () => {
      const r = parsePullRespBody(Buffer.from(`{"txpk":${withField(BASE_TXPK, field, deepArray(3000))}}`));
      assert.deepEqual(r, { ok: false, reason: 'PULL_RESP body refused: nesting deeper than 16 levels' });
    });
  }

  test('inside the limits, a nested value reaches the typed readers and is shown bounded', () => {
    const r = parsePullRespBody(Buffer.from(`{"txpk":${withField(BASE_TXPK, 'imme', deepArray(14))}}`));
    assert.deepEqual(r, { ok: false, reason: 'imme [[[[[[[[[[[[[[]]]]]]]]]]]]]] is not a boolean' });
    const s = parsePullRespBody(Buffer.from(`{"txpk":${withField(BASE_TXPK, 'datr', JSON.stringify('S'.repeat(7000)))}}`));
    assert.deepEqual(s, { ok: false, reason: `datr "${'S'.repeat(36)}... (a string of 7000 characters) is not of the form SF<n>BW<kHz>` });
  });

  test('the limits are far above real traffic: a maximal real PULL_RESP passes (255-byte payload)', () => {
    const body = JSON.stringify({ txpk: { ...BASE_TXPK, size: 255, data: Buffer.alloc(255, 7).toString('base64') } });
    assert.ok(body.length < WIRE_JSON_LIMITS.pullResp.maxBytes / 10, `${body.length} bytes`);
    assert.equal(parsePullRespBody(Buffer.from(body)).ok, true);
  });
});

describe('virtual air: every hostile value in every field and as the datagram', () => {
  const cases = hostileAirDatagrams({ huge: true });
  test(`${cases.length} datagrams: none throws, every refusal has a short reason`, () => {
    for (const c of cases) checkReason(c.name, decodeAirMessage(c.body));
  });

  // The simulated radio's air port died the same way on these fields.
  for (const field of ['modu', 'datr', 'op']) {
    test(`uplink.${field} nested 5000 deep: refused, no throw`, () => {
      const d = decodeAirMessage(withField(BASE_AIR_UPLINK, field, deepArray(5000)));
      assert.equal(d.ok, false);
      assert.match(d.ok ? '' : d.reason, /^datagram refused: \d+ bytes exceed the 8192-byte limit$/);
      const e = decodeAirMessage(withField(BASE_AIR_UPLINK, field, deepArray(3000)));
      assert.deepEqual(e, { ok: false, reason: `datagram refused: nesting deeper than ${AIR_JSON_LIMITS.maxDepth} levels` });
      const f = decodeAirMessage(withField(BASE_AIR_UPLINK, field, deepArray(10)));
      assert.equal(f.ok, false);
      checkReason(field, f);
    });
  }

  test('rssi and lsnr outside any radio\'s range are refused (they could not be written as an rxpk)', () => {
    assert.match(JSON.stringify(decodeAirMessage(withField(BASE_AIR_UPLINK, 'rssi', '1e300'))), /rssi must be in \[-200, 50\] dBm/);
    assert.match(JSON.stringify(decodeAirMessage(withField(BASE_AIR_UPLINK, 'lsnr', '-1e300'))), /lsnr must be in \[-50, 50\] dB/);
    assert.equal(decodeAirMessage(withField(BASE_AIR_UPLINK, 'rssi', '-140')).ok, true);
  });
});

describe('PUSH_DATA and TX_ACK bodies (what the test servers read)', () => {
  const rxpk = { tmst: 1, chan: 0, rfch: 0, freq: 868.1, stat: 1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', lsnr: 5, rssi: -60, size: 1, data: 'AA==' };
  test('every hostile value in every rxpk field, in txpk_ack.error, and as the body: no throw, short reasons', () => {
    for (const v of hostileValues({ huge: true })) {
      for (const f of Object.keys(rxpk)) {
        checkReason(`rxpk.${f} = ${v.name}`, parsePushDataBody(Buffer.from(`{"rxpk":[${withField(rxpk, f, v.json)}]}`)));
      }
      checkReason(`stat = ${v.name}`, parsePushDataBody(Buffer.from(`{"stat":${v.json}}`)));
      checkReason(`PUSH_DATA = ${v.name}`, parsePushDataBody(Buffer.from(v.json)));
      checkReason(`error = ${v.name}`, decodeTxAckBody(Buffer.from(`{"txpk_ack":{"error":${v.json}}}`)));
      checkReason(`TX_ACK = ${v.name}`, decodeTxAckBody(Buffer.from(v.json)));
    }
  });
});

describe('config files', () => {
  const shipped = readFileSync(new URL('../../global_conf.json', import.meta.url), 'utf8');
  test('a value nested 5000 deep is a one-line config error naming the file, not a crash', () => {
    const json = `${shipped.trimEnd().slice(0, -1)},"x":${deepArray(5000)}}`;
    assert.throws(() => parseConfig([{ name: 'global_conf.json', json }]), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, 'global_conf.json: (JSON): expected a document of at most 1048576 bytes and 64 levels of nesting, got nesting deeper than 64 levels');
      return true;
    });
  });
});
