import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { timeOnAirUs } from '../hal/index.js';
import type { TxAckEvent } from '../src/demo/network-server.js';
import type { Txpk } from '../src/protocol/index.js';
import { startHarness, waitFor, type Harness } from './helpers/harness.js';
import { EMISSION_SLACK_US } from './helpers/timing.js';

/** A Class A style txpk at counter `tmst` (RX2 of EU868, SF12 like ChirpStack sends it). */
function txpk(over: Partial<Txpk> & Record<string, unknown> = {}): Txpk {
  return {
    imme: false, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF12BW125', codr: '4/5',
    ipol: true, size: 4, data: 'AQIDBA==', ...over,
  } as Txpk;
}

/** Sends a PULL_RESP and waits for its TX_ACK. */
async function request(h: Harness, body: Txpk | string): Promise<TxAckEvent> {
  const acks: TxAckEvent[] = [];
  const on = (a: TxAckEvent) => acks.push(a);
  h.ns.on('txack', on);
  try {
    const token = h.ns.sendPullResp(body);
    return await waitFor(() => acks.find((a) => a.token === token), 3000, `TX_ACK for token ${token}`);
  } finally {
    h.ns.off('txack', on);
  }
}

describe('downstream', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ gateway: { keepalive_interval: 1, stat_interval: 3600 } });
    await waitFor(() => h.ns.gatewayDownlinkAddress, 3000, 'first PULL_DATA');
  });
  after(() => h.stop());

  test('PULL_DATA keepalives arrive every keepalive_interval and are acknowledged', async () => {
    const times: number[] = [];
    h.ns.on('pull', () => times.push(performance.now()));
    await waitFor(() => times.length >= 3, 4500, '3 keepalives');
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (const g of gaps) assert.ok(g > 800 && g < 1500, `keepalive gap ${g.toFixed(0)} ms, expected ~1000`);
    assert.ok(h.fwd.stats.counters.pullAckReceived >= 3);
  });

  test('tmst downlink: emitted at the requested counter value, TX_ACK success is the bare header', async () => {
    const now = await h.air.listen();
    const target = (now + 300_000) >>> 0;
    const ack = await request(h, txpk({ tmst: target, data: 'dG1zdA==', size: 4 }));
    assert.equal(ack.error, null);
    assert.equal(ack.body.length, 0, 'success TX_ACK carries no JSON (12-byte datagram)');
    const dl = await waitFor(() => h.air.downlinks().find((d) => d.data === 'dG1zdA=='), 3000, 'emission');
    assert.equal(dl.target_us, target);
    assert.equal(dl.imme, undefined, 'a timestamped frame carries no imme');
    const err = ((dl.count_us as number) - target) | 0;
    assert.ok(err >= 0 && err < EMISSION_SLACK_US, `emitted ${err} µs from target`);
    assert.equal(dl.freq, 869.525);
    assert.equal(dl.ipol, true);
    assert.equal(dl.datr, 'SF12BW125');
    assert.equal(dl.powe, 14);
    assert.equal(h.fwd.stats.counters.txSent >= 1, true);
  });

  test('a power the gain table or the law lowers: TX_ACK success with {"error":"NONE","warn":"TX_POWER","value":<dBm used>} (issue 15)', async () => {
    const now = await h.air.listen();
    const a = await request(h, txpk({ tmst: (now + 1_500_000) >>> 0, powe: 15, data: 'cG93MTU=', size: 5 }));
    assert.equal(a.body.toString(), '{"txpk_ack":{"error":"NONE","warn":"TX_POWER","value":14}}');
    assert.deepEqual([a.error, a.warn, a.value], [null, 'TX_POWER', 14]);
    const dl = await waitFor(() => h.air.downlinks().find((d) => d.data === 'cG93MTU='), 3000, 'emission');
    assert.equal(dl.powe, 14, 'sent at the power the TX_ACK names');
    // EU868 869.4-869.65 MHz allows 29 dBm EIRP (ETSI EN 300 220, band P): 30 is lowered to 29, then the table's 27.
    const b = await request(h, txpk({ tmst: (now + 3_000_000) >>> 0, powe: 30, data: 'cG93MzA=', size: 5 }));
    assert.deepEqual([b.error, b.warn, b.value], [null, 'TX_POWER', 27]);
    // An exact table power: the bare header, as before.
    const c = await request(h, txpk({ tmst: (now + 4_500_000) >>> 0, powe: 14, data: 'cG93MTQ=', size: 5 }));
    assert.equal(c.body.length, 0);
    // Leave the radio idle for the next tests: the last frame (SF12, ~1.2 s) on the air and done.
    await waitFor(() => h.air.downlinks().find((d) => d.data === 'cG93MTQ='), 7000, 'last emission');
    await new Promise((r) => setTimeout(r, 1500));
  });

  test('imme while a frame is on air is slotted after that frame ends, not refused by the radio', async () => {
    const prev = h.air.downlinks().find((d) => d.data === 'dG1zdA==')!;
    const prevEnd = ((prev.count_us as number) + timeOnAirUs({
      radio: { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 125000, codeRate: '4/5' },
      payloadSize: 4, preambleSymbols: 8, noCrc: false, noHeader: false,
    })) >>> 0;
    const ack = await request(h, txpk({ imme: true, data: 'b25haXI=' }));
    assert.equal(ack.error, null);
    const dl = await waitFor(() => h.air.downlinks().find((d) => d.data === 'b25haXI='), 3000, 'imme emission');
    assert.ok((((dl.count_us as number) - prevEnd) | 0) > 0, 'emitted after the previous frame ended');
    assert.equal(h.fwd.stats.counters.txFailed, 0, 'the radio never refused a frame');
  });

  test('imme with an idle radio goes out 2·TX_JIT_DELAY (60 ms) after the request', async () => {
    while ((await h.sim.txStatus()) !== 'free') await new Promise((r) => setTimeout(r, 20));
    const now = await h.air.listen();
    const ack = await request(h, txpk({ imme: true, data: 'aW1tZQ==' }));
    assert.equal(ack.error, null);
    const dl = await waitFor(() => h.air.downlinks().find((d) => d.data === 'aW1tZQ=='), 3000, 'imme emission');
    const after = ((dl.count_us as number) - now) | 0;
    assert.ok(after >= 60_000 && after < 300_000, `imme emitted ${after} µs after the request`);
    // The air contract (DESIGN.md): an immediate frame has target_us null, here with "imme": true (issue 15).
    assert.equal(dl.target_us, null);
    assert.equal(dl.imme, true);
  });

  const rejections: [string, (now: number) => Txpk | string, string][] = [
    ['TOO_LATE: target 10 ms ahead', (now) => txpk({ tmst: (now + 10_000) >>> 0 }), 'TOO_LATE'],
    ['TOO_LATE: target 2 s in the past', (now) => txpk({ tmst: (now - 2_000_000) >>> 0 }), 'TOO_LATE'],
    ['TOO_EARLY: target 600 s ahead', (now) => txpk({ tmst: (now + 600_000_000) >>> 0 }), 'TOO_EARLY'],
    ['TX_FREQ: 915 MHz on an EU868 chain', (now) => txpk({ tmst: (now + 2_000_000) >>> 0, freq: 915.0 }), 'TX_FREQ'],
    ['TX_FREQ: rfch 1 has tx_enable false', (now) => txpk({ tmst: (now + 2_000_000) >>> 0, rfch: 1 }), 'TX_FREQ'],
    ['TX_POWER: below every LUT power', (now) => txpk({ tmst: (now + 2_000_000) >>> 0, powe: -20 }), 'TX_POWER'],
    ['GPS_UNLOCKED: tmms without GPS', () => txpk({ tmms: 1_400_000_000_000 }), 'GPS_UNLOCKED'],
  ];
  for (const [name, make, code] of rejections) {
    test(`rejection end to end, ${name}`, async () => {
      const now = await h.air.listen();
      const before = h.fwd.stats.rejected[code as 'TOO_LATE'];
      const ack = await request(h, make(now));
      assert.equal(ack.error, code);
      assert.equal(ack.body.toString(), `{"txpk_ack":{"error":"${code}"}}`);
      assert.equal(h.fwd.stats.rejected[code as 'TOO_LATE'], before + 1);
    });
  }

  test('COLLISION_PACKET: a second downlink overlapping the first', async () => {
    const now = await h.air.listen();
    const target = (now + 3_000_000) >>> 0;
    assert.equal((await request(h, txpk({ tmst: target, data: 'Zmlyc3Q=' }))).error, null);
    const second = await request(h, txpk({ tmst: (target + 500_000) >>> 0, data: 'c2Vjb25k' }));
    assert.equal(second.error, 'COLLISION_PACKET', 'SF12 frame lasts ~1 s, so +0.5 s collides');
  });

  test('malformed PULL_RESPs get no TX_ACK, are counted, and the forwarder carries on', async () => {
    const c = h.fwd.stats.counters;
    const invalid0 = c.pullRespInvalid;
    const acks: TxAckEvent[] = [];
    h.ns.on('txack', (a: TxAckEvent) => acks.push(a));
    h.ns.sendPullResp('{"txpk":'); // truncated JSON
    h.ns.sendPullResp('{"nottxpk":{}}');
    h.ns.sendPullResp(JSON.stringify({ txpk: { imme: true, rfch: 0, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', size: 1, data: 'AA==' } })); // no freq
    h.ns.sendPullResp(JSON.stringify({ txpk: { ...txpk({ imme: true }), data: '-_-_' } })); // URL-safe base64
    h.ns.sendRaw(Buffer.from([1, 0, 0, 3, 0x7b, 0x7d])); // protocol version 1
    h.ns.sendRaw(Buffer.from([2, 0])); // too short
    h.ns.sendRaw(Buffer.from([2, 0, 0, 9, 1, 2, 3])); // unknown type
    await waitFor(() => c.pullRespInvalid - invalid0 === 4, 2000, '4 invalid PULL_RESPs');
    await waitFor(() => c.downGarbage >= 3, 2000, '3 garbage datagrams');
    const good = await request(h, txpk({ imme: true, data: 'c3RpbGwgYWxpdmU=', size: 11 }));
    assert.equal(good.error, null, 'still serving after garbage');
    assert.equal(acks.filter((a) => a.token !== good.token).length, 0, 'no TX_ACK for any malformed PULL_RESP');
    const warned = h.logLines().filter((l) => l.msg === 'PULL_RESP rejected, no TX_ACK');
    assert.equal(warned.length, 4);
    assert.ok(warned.every((l) => typeof l.reason === 'string' && (l.reason as string).length > 0));
  });

  test('a PULL_RESP from a foreign port is ignored and counted', async () => {
    const gw = h.ns.gatewayDownlinkAddress!;
    const intruder = dgram.createSocket('udp4');
    const foreign0 = h.fwd.link.counters.foreignDatagrams;
    const sent0 = h.fwd.stats.counters.pullRespReceived;
    const body = Buffer.from(`{"txpk":${JSON.stringify(txpk({ imme: true, data: 'ZXZpbA==' }))}}`);
    await new Promise<void>((r) => intruder.send(Buffer.concat([Buffer.from([2, 0x12, 0x34, 3]), body]), gw.port, gw.address, () => r()));
    await waitFor(() => h.fwd.link.counters.foreignDatagrams === foreign0 + 1, 2000, 'foreign counted');
    intruder.close();
    assert.equal(h.fwd.stats.counters.pullRespReceived, sent0);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(h.air.downlinks().find((d) => d.data === 'ZXZpbA=='), undefined);
  });
});

describe('counter wrap', () => {
  test('a late downlink across the 32-bit counter wrap is TOO_LATE, not TOO_EARLY; one on time across it is emitted', async () => {
    // Counter starts 1.5 s before 2^32 and wraps while the test runs.
    const h = await startHarness({ sim: { counter_start: 2 ** 32 - 1_500_000 }, gateway: { stat_interval: 3600 } });
    try {
      await waitFor(() => h.ns.gatewayDownlinkAddress, 3000, 'PULL_DATA');
      const beforeWrap = await h.air.listen();
      assert.ok(beforeWrap > 2 ** 32 - 1_500_000);
      const onTime = (2 ** 32 - 1_500_000 + 1_900_000) >>> 0; // 0.4 s after the wrap
      assert.equal((await request(h, txpk({ tmst: onTime, data: 'd3JhcA==' }))).error, null);
      const dl = await waitFor(() => h.air.downlinks().find((d) => d.data === 'd3JhcA=='), 4000, 'emission after wrap');
      const err = ((dl.count_us as number) - onTime) | 0;
      assert.ok(err >= 0 && err < EMISSION_SLACK_US, `emitted ${err} µs from target across the wrap`);
      const now = await h.air.listen();
      assert.ok(now < 2 ** 31, 'counter has wrapped');
      const late = (2 ** 32 - 100_000) >>> 0; // just before the wrap: now in the past
      const ack = await request(h, txpk({ tmst: late, data: 'bGF0ZQ==' }));
      assert.equal(ack.error, 'TOO_LATE');
    } finally {
      await h.stop();
    }
  });
});

describe('autoquit', () => {
  test('autoquit_threshold PULL_DATA without PULL_ACK stops the forwarder', async () => {
    const h = await startHarness({ gateway: { keepalive_interval: 1, autoquit_threshold: 2, stat_interval: 3600 }, server: { ackPull: false } });
    try {
      let quit = false;
      h.fwd.once('autoquit', () => (quit = true));
      await waitFor(() => quit, 5000, 'autoquit');
      assert.equal(h.ns.counts.pull, 2);
    } finally {
      await h.stop();
    }
  });
});
