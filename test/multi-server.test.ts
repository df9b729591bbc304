/**
 * Several servers: every uplink goes to each; a downlink from any server is
 * scheduled in the one JIT queue and its TX_ACK goes back to that server; a
 * server that goes silent gets its uplinks later, in order, while the other
 * keeps receiving them live.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimConcentrator } from '../hal/index.js';
import { NetworkServerStandIn, type PushEvent } from '../src/demo/network-server.js';
import { Forwarder } from '../src/forwarder.js';
import { AirClient, loraUplink, memoryLogger, testConfig, waitFor } from './helpers/harness.js';

const tag = (i: number) => Buffer.from(`multi-${i}`).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('two servers: uplinks to both, downlinks from either answered to the sender, one silent server catches up in order', { timeout: 60_000 }, async () => {
  const a = new NetworkServerStandIn();
  const b = new NetworkServerStandIn();
  const [pa, pb] = [await a.start(), await b.start()];
  const config = testConfig({
    keepalive_interval: 1, stat_interval: 3600,
    servers: [{ server_address: '127.0.0.1', serv_port_up: pa, serv_port_down: pa }, { server_address: '127.0.0.1', serv_port_up: pb, serv_port_down: pb }],
  }, {}, { buffer_conf: { probe_interval_ms: 200 } });
  const { log } = memoryLogger();
  const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, counterStartUs: null, log });
  const fwd = new Forwarder({ config, concentrator: sim, log });
  const seen = { a: [] as string[], b: [] as string[] };
  a.on('push', (e: PushEvent) => seen.a.push(...e.rxpk.map((r) => r.data)));
  b.on('push', (e: PushEvent) => seen.b.push(...e.rxpk.map((r) => r.data)));
  const acks = { a: [] as (string | null)[], b: [] as (string | null)[] };
  a.on('txack', (x: { error: string | null }) => acks.a.push(x.error));
  b.on('txack', (x: { error: string | null }) => acks.b.push(x.error));
  let air: AirClient | null = null;
  try {
    await fwd.start();
    air = new AirClient(sim.airPortBound);
    await air.listen();
    await waitFor(() => a.counts.pull > 0 && b.counts.pull > 0, 5000, 'PULL_DATA to both');
    for (let i = 0; i < 3; i++) {
      air.send(loraUplink({ data: tag(i) }));
      await sleep(5);
    }
    await waitFor(() => seen.a.length === 3 && seen.b.length === 3, 5000, 'uplinks at both');
    assert.deepEqual(seen.a, seen.b);
    // A downlink from server B: scheduled, emitted, acknowledged to B only.
    b.sendPullResp({ imme: true, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 1, data: 'AA==' });
    await waitFor(() => acks.b.length === 1 && air!.downlinks().length === 1, 5000, 'B\'s downlink');
    await sleep(100);
    assert.deepEqual([acks.a, acks.b], [[], [null]]);
    // A goes silent; B keeps receiving live; A catches up when back.
    a.silent = true;
    for (let i = 3; i < 40; i++) {
      air.send(loraUplink({ data: tag(i) }));
      await sleep(10);
    }
    await waitFor(() => seen.b.length === 40, 5000, 'B has all, live');
    await waitFor(() => fwd.uplinks[0]!.outage, 5000, 'A in outage');
    assert.equal(fwd.uplinks[1]!.outage, false);
    const st = fwd.status();
    assert.deepEqual(st.servers.map((s) => [s.portUp, s.uplink!.outage]), [[pa, true], [pb, false]]);
    a.silent = false;
    await waitFor(() => new Set(seen.a).size === 40, 10_000, 'A caught up');
    const firstA: string[] = [];
    for (const d of seen.a) if (!firstA.includes(d)) firstA.push(d);
    assert.deepEqual(firstA, Array.from({ length: 40 }, (_, i) => tag(i)), 'in order');
    // Counted when acknowledged: the last PUSH_ACK may still be on its way back.
    await waitFor(() => fwd.upstream.buffered === 0 && fwd.stats.counters.rxfw >= 40, 5000, 'the last ack');
    assert.equal(fwd.stats.counters.rxfw, 40, 'the stat counts the primary server\'s uplinks once');
    assert.ok(fwd.uplinks[1]!.counters.rxfw === 40 && fwd.uplinks[1]!.counters.rxBuffered === 0);
  } finally {
    await fwd.stop();
    air?.close();
    a.stop();
    b.stop();
  }
});
