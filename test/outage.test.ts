/**
 * Store and forward: the server goes silent for 10 simulated minutes while
 * uplinks arrive at one per simulated second, then comes back; every uplink
 * must reach it, in order, exactly once (a duplicate can only come from a
 * resend, which the server de-duplicates), with its original tmst. The
 * buffer's clock is the test's (one second per uplink); the network is real.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { PushEvent } from '../src/demo/network-server.js';
import { loraUplink, startHarness, waitFor } from './helpers/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tag = (i: number) => Buffer.from(`up-${String(i).padStart(4, '0')}`).toString('base64');

describe('store and forward', () => {
  test('10 simulated minutes of silence at 1 uplink/s: all 610 delivered in order once the server is back, original tmst kept', { timeout: 60_000 }, async () => {
    let simMs = Date.UTC(2026, 10, 21, 12);
    const h = await startHarness({ gateway: { stat_interval: 3600, keepalive_interval: 1 }, sections: { buffer_conf: { probe_interval_ms: 200 } }, bufferClockMs: () => simMs });
    const seen: { data: string; tmst: number }[] = [];
    h.ns.on('push', (e: PushEvent) => seen.push(...e.rxpk.map((r) => ({ data: r.data, tmst: r.tmst }))));
    const tmstOf = new Map<string, number>();
    try {
      await waitFor(() => h.ns.counts.pull > 0, 5000, 'PULL_DATA');
      let i = 0;
      const send = async (n: number) => {
        for (let k = 0; k < n; k++, i++) {
          simMs += 1000;
          h.air.send(loraUplink({ data: tag(i) }));
          await sleep(4);
        }
      };
      await send(5);
      await waitFor(() => seen.length >= 5, 3000, 'the first five');
      h.ns.silent = true;
      await send(600);
      await waitFor(() => h.fwd.upstream.outage, 5000, 'outage declared');
      await waitFor(() => h.fwd.stats.counters.rxnb >= 605, 5000, 'all received by the radio');
      const st = h.fwd.status().buffer;
      assert.ok(st.uplinks >= 590, `${st.uplinks} buffered`);
      assert.deepEqual(st.dropped, { count: 0, bytes: 0, age: 0, poison: 0 });
      h.ns.silent = false;
      await waitFor(() => !h.fwd.upstream.outage && h.fwd.upstream.buffered === 0, 20_000, 'buffer flushed');
      await send(5);
      await waitFor(() => new Set(seen.map((s) => s.data)).size >= 610, 10_000, 'all 610 at the server');
      // Order of first arrival = order sent; no uplink missing; duplicates only as many as resends.
      const first: string[] = [];
      const dup = new Set<string>();
      for (const s of seen) {
        if (first.includes(s.data)) dup.add(s.data);
        else first.push(s.data);
        if (!tmstOf.has(s.data)) tmstOf.set(s.data, s.tmst);
        else assert.equal(tmstOf.get(s.data), s.tmst, 'a resend carries the same tmst');
      }
      assert.deepEqual(first, Array.from({ length: 610 }, (_, k) => tag(k)));
      assert.ok(seen.length - first.length <= h.fwd.stats.counters.pushRetries * 20, `${seen.length - first.length} duplicates, ${h.fwd.stats.counters.pushRetries} resends`);
      // tmst is the radio's receive time: increasing with the sending order.
      const t = first.map((d) => tmstOf.get(d)!);
      for (let k = 1; k < t.length; k++) assert.ok(((t[k]! - t[k - 1]!) | 0) > 0, `tmst order at ${k}`);
      const c = h.fwd.stats.counters;
      assert.equal(c.rxLost, 0);
      assert.ok(c.rxBuffered >= 590 && c.rxBufferDelivered >= 590, JSON.stringify({ buffered: c.rxBuffered, delivered: c.rxBufferDelivered }));
      assert.ok(h.logLines().some((l) => l.msg === 'server not acknowledging PUSH_DATA: buffering uplinks'));
      assert.ok(h.logLines().some((l) => l.msg === 'server acknowledging again: sending the buffered uplinks'));
    } finally {
      await h.stop();
    }
  });

  test('limits: the oldest go first when full, or when too old, and are counted; the buffer survives a restart in its file', { timeout: 60_000 }, async () => {
    let simMs = Date.UTC(2026, 10, 21, 12);
    const file = join(mkdtempSync(join(tmpdir(), 'pktfwd-buf-')), 'uplinks.jsonl');
    const h = await startHarness({
      gateway: { stat_interval: 3600 }, bufferClockMs: () => simMs,
      sections: { buffer_conf: { max_uplinks: 50, max_age_s: 60, probe_interval_ms: 200, file } },
    });
    try {
      await waitFor(() => h.ns.counts.pull > 0, 5000, 'PULL_DATA');
      h.ns.silent = true;
      for (let i = 0; i < 80; i++) {
        h.air.send(loraUplink({ data: tag(i) }));
        await sleep(4);
      }
      await waitFor(() => h.fwd.upstream.outage && h.fwd.stats.counters.rxnb >= 80, 5000, 'outage, all received');
      await waitFor(() => h.fwd.status().buffer.dropped.count === 30, 3000, '30 dropped for the count limit');
      simMs += 61_000; // a minute later the rest are too old
      h.air.send(loraUplink({ data: tag(80) }));
      await waitFor(() => h.fwd.status().buffer.dropped.age === 50, 3000, '50 dropped for age');
      assert.equal(h.fwd.upstream.buffered, 1);
    } finally {
      await h.stop();
    }
    // The one left was saved; a new forwarder on the same file delivers it.
    assert.match(readFileSync(file, 'utf8'), new RegExp(tag(80)));
    const h2 = await startHarness({ gateway: { stat_interval: 3600 }, bufferClockMs: () => simMs, sections: { buffer_conf: { file, probe_interval_ms: 200 } } });
    try {
      const seen: string[] = [];
      h2.ns.on('push', (e: PushEvent) => seen.push(...e.rxpk.map((r) => r.data)));
      await waitFor(() => seen.includes(tag(80)), 5000, 'the saved uplink delivered after the restart');
    } finally {
      await h2.stop();
    }
  });
});

test('a server that moves: its name re-resolved when it stops answering, the buffered uplinks delivered at the new address', { timeout: 60_000 }, async () => {
  const { NetworkServerStandIn } = await import('../src/demo/network-server.js');
  const oldNs = new NetworkServerStandIn({ address: '127.0.0.1' });
  const port = await oldNs.start();
  const newNs = new NetworkServerStandIn({ address: '127.0.0.2', port });
  await newNs.start();
  let where = '127.0.0.1';
  const h = await startHarness({
    gateway: { server_address: 'ns.example', serv_port_up: port, serv_port_down: port, stat_interval: 3600 },
    sections: { buffer_conf: { probe_interval_ms: 200 } },
    lookup: async () => ({ address: where, family: 4 as const }),
  });
  const seen: string[] = [];
  newNs.on('push', (e: PushEvent) => seen.push(...e.rxpk.map((r) => r.data)));
  try {
    await waitFor(() => oldNs.counts.pull > 0, 5000, 'PULL_DATA to the old address');
    oldNs.stop(); // the old address goes dead...
    where = '127.0.0.2'; // ...and DNS now says the new one
    for (let i = 0; i < 10; i++) {
      h.air.send(loraUplink({ data: tag(i) }));
      await sleep(20);
    }
    await waitFor(() => new Set(seen).size === 10, 15_000, 'all at the new address');
    assert.equal(h.fwd.link.serverAddress, '127.0.0.2');
    assert.ok(h.logLines().some((l) => l.msg === 'server address resolved' && l.address === '127.0.0.2'));
  } finally {
    await h.stop();
    newNs.stop();
  }
});
