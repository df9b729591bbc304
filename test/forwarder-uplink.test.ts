import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PushEvent } from '../src/demo/network-server.js';
import { loraUplink, startHarness, waitFor, type Harness } from './helpers/harness.js';

/** Collects PUSH_DATA events of a harness. */
function collect(h: Harness): PushEvent[] {
  const events: PushEvent[] = [];
  h.ns.on('push', (e: PushEvent) => events.push(e));
  return events;
}

const rxpkOf = (events: PushEvent[]) => events.flatMap((e) => e.rxpk);

describe('upstream through the virtual air', () => {
  let h: Harness;
  let pushes: PushEvent[];
  before(async () => {
    h = await startHarness({ gateway: { stat_interval: 3600 } });
    pushes = collect(h);
  });
  after(() => h.stop());

  test('a LoRa uplink arrives in PUSH_DATA with the PROTOCOL.TXT fields and types', async () => {
    const before = await h.air.listen();
    h.air.send(loraUplink({ freq: 868.3, datr: 'SF9BW125', codr: '4/6', rssi: -87.6, lsnr: -3.25, data: 'AAECAwQ=' }));
    const rx = await waitFor(() => rxpkOf(pushes).find((r) => r.data === 'AAECAwQ='), 3000, 'rxpk');
    const after = await h.air.listen();
    // tmst is the sim counter at arrival: between two counter readings taken around it.
    assert.ok(((rx.tmst - before) >>> 0) <= ((after - before) >>> 0), `tmst ${rx.tmst} not within [${before}, ${after}]`);
    assert.equal(rx.freq, 868.3);
    assert.equal(rx.chan, 1); // chan_multiSF_1 is 868.3 MHz in the shipped plan
    assert.equal(rx.rfch, 1);
    assert.equal(rx.stat, 1);
    assert.equal(rx.modu, 'LORA');
    assert.equal(rx.datr, 'SF9BW125');
    assert.equal(rx.codr, '4/6');
    assert.equal(rx.rssi, -88);
    assert.equal(rx.size, 5);
    const body = pushes.find((e) => e.body.includes('AAECAwQ='))!.body;
    // Strict servers: integer rssi, 6-decimal freq, padded base64, no time without a time reference.
    assert.match(body, /"freq":868\.300000,/);
    assert.match(body, /"rssi":-88,/);
    assert.match(body, /"lsnr":-3\.[23],/);
    assert.doesNotMatch(body, /"time"/);
    assert.doesNotMatch(body, /"tmms"/);
    assert.deepEqual(pushes.find((e) => e.body.includes('AAECAwQ='))!.gatewayEui, h.config.gateway.gatewayEui);
  });

  test('an FSK uplink on the FSK channel is forwarded with a numeric datr', async () => {
    h.air.send({ op: 'uplink', freq: 868.8, modu: 'FSK', datr: 50000, rssi: -70, crc: 'ok', data: 'RlNLIQ==' });
    const rx = await waitFor(() => rxpkOf(pushes).find((r) => r.data === 'RlNLIQ=='), 3000, 'fsk rxpk');
    assert.equal(rx.modu, 'FSK');
    assert.equal(rx.datr, 50000);
    assert.equal(rx.chan, 9);
    assert.equal(rx.lsnr, undefined);
  });

  test('frames off the channel plan and CRC-bad frames are not forwarded, but counted', async () => {
    const c = h.fwd.stats.counters;
    const rxnb0 = c.rxnb;
    h.air.send(loraUplink({ freq: 869.0, data: 'b2ZmcGxhbg==' })); // no channel at 869.0 MHz
    h.air.send(loraUplink({ crc: 'bad', data: 'YmFkY3Jj' }));
    h.air.send(loraUplink({ data: 'bWFya2Vy' })); // a good one after them, as a fence
    await waitFor(() => rxpkOf(pushes).find((r) => r.data === 'bWFya2Vy'), 3000, 'fence');
    assert.equal(rxpkOf(pushes).find((r) => r.data === 'b2ZmcGxhbg=='), undefined);
    assert.equal(rxpkOf(pushes).find((r) => r.data === 'YmFkY3Jj'), undefined);
    assert.equal(c.rxnb - rxnb0, 2, 'the CRC-bad frame was received (rxnb) but not forwarded');
    assert.ok(c.rxFiltered >= 1);
  });

  test('a burst of 40 uplinks is batched into PUSH_DATAs of at most 8, none lost', async () => {
    const tag = (i: number) => Buffer.from(`burst-${i}`).toString('base64');
    for (let i = 0; i < 40; i++) h.air.send(loraUplink({ data: tag(i) }));
    await waitFor(() => {
      const seen = new Set(rxpkOf(pushes).map((r) => r.data));
      return Array.from({ length: 40 }, (_, i) => tag(i)).every((t) => seen.has(t));
    }, 5000, 'all 40');
    for (const e of pushes) assert.ok(e.rxpk.length <= 8, `a PUSH_DATA carried ${e.rxpk.length} rxpk`);
  });

  test('PUSH_ACKs are matched by token: every PUSH_DATA is acknowledged on loopback', async () => {
    await waitFor(() => h.fwd.upstream.pendingAcks === 0, 2000, 'acks');
    const c = h.fwd.stats.counters;
    assert.equal(c.pushAckReceived, c.pushDataSent);
    const tokens = new Set(pushes.map((e) => e.token));
    assert.ok(tokens.size > 1, 'tokens differ between datagrams');
  });

  test('the periodic report carries the stat object with the strict-server types', async () => {
    const r = h.fwd.report();
    assert.ok(r.interval.rxnb >= 44);
    const ev = await waitFor(() => pushes.find((e) => e.stat !== undefined), 3000, 'stat');
    const s = ev.stat!;
    assert.match(s.time, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT$/);
    assert.equal(s.rxnb, r.interval.rxnb);
    assert.equal(s.rxfw, r.interval.rxfw);
    assert.equal(s.lati, undefined, 'no coordinates without GPS or fake_gps');
    assert.match(ev.body, /"ackr":\d+\.\d,/);
    const line = h.logLines().find((l) => l.msg === 'stats report');
    assert.ok(line, 'stats report logged as one entry');
  });
});

describe('upstream options', () => {
  test('forward_crc_error true forwards CRC-bad frames with stat -1; fake_gps puts ref coordinates in stat', async () => {
    const h = await startHarness({
      gateway: { forward_crc_error: true, fake_gps: true, ref_latitude: 46.24, ref_longitude: 3.2523, ref_altitude: 145, stat_interval: 3600 },
    });
    try {
      const pushes = collect(h);
      h.air.send(loraUplink({ crc: 'bad', data: 'YmFk' }));
      const rx = await waitFor(() => rxpkOf(pushes).find((r) => r.data === 'YmFk'), 3000, 'bad-crc rxpk');
      assert.equal(rx.stat, -1);
      h.fwd.report();
      const ev = await waitFor(() => pushes.find((e) => e.stat), 3000, 'stat');
      assert.match(ev.body, /"lati":46\.24000,"long":3\.25230,"alti":145,/);
    } finally {
      await h.stop();
    }
  });

  test('server name that does not resolve at boot: the forwarder keeps running, keeps the uplinks and delivers them once DNS answers', async () => {
    let calls = 0;
    const lookup = async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error('getaddrinfo EAI_AGAIN gw.example'), { code: 'EAI_AGAIN' });
      return { address: '127.0.0.1', family: 4 as const };
    };
    const h = await startHarness({ gateway: { server_address: 'ns.example.invalid', stat_interval: 3600 }, lookup });
    try {
      const pushes = collect(h);
      // First retry after 1 s, second after 2 s more; the uplink before resolution is kept (store and forward).
      h.air.send(loraUplink({ data: 'ZWFybHk=' }));
      await waitFor(() => h.fwd.stats.counters.rxBuffered === 1, 2000, 'kept while unresolved');
      assert.equal(h.fwd.stats.counters.rxLost, 0);
      await waitFor(() => h.ns.counts.pull > 0, 6000, 'PULL_DATA after resolution');
      h.air.send(loraUplink({ data: 'bGF0ZQ==' }));
      await waitFor(() => rxpkOf(pushes).find((r) => r.data === 'bGF0ZQ=='), 3000, 'uplink after resolution');
      assert.deepEqual(rxpkOf(pushes).map((r) => r.data), ['ZWFybHk=', 'bGF0ZQ=='], 'the early one first, delivered once');
      assert.equal(calls, 3);
      assert.equal(h.fwd.link.counters.resolveFailures, 2);
      assert.ok(h.logLines().some((l) => l.msg === 'server address resolution failed, will retry'));
    } finally {
      await h.stop();
    }
  });
});

describe('IPv6', () => {
  test('server_address given as an IPv6 literal: uplinks and keepalives flow over udp6', async () => {
    const { NetworkServerStandIn } = await import('../src/demo/network-server.js');
    const ns6 = new NetworkServerStandIn({ address: '::1' });
    const port = await ns6.start();
    const h = await startHarness({ gateway: { server_address: '::1', serv_port_up: port, serv_port_down: port, stat_interval: 3600 } });
    try {
      const pushes: PushEvent[] = [];
      ns6.on('push', (e: PushEvent) => pushes.push(e));
      await waitFor(() => ns6.counts.pull > 0, 3000, 'PULL_DATA over IPv6');
      h.air.send(loraUplink({ data: 'aXB2Ng==' }));
      await waitFor(() => rxpkOf(pushes).find((r) => r.data === 'aXB2Ng=='), 3000, 'uplink over IPv6');
    } finally {
      await h.stop();
      ns6.stop();
    }
  });
});
