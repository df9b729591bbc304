/**
 * The local status endpoint against a running forwarder on the simulated
 * concentrator: what /api/status, /api/packets, /api/channels and /metrics
 * report must match what went over the air and the network.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { startApiServer, type ApiServer } from '../src/monitor/http-server.js';
import { decodeLorawanHeader } from '../src/monitor/lorawan.js';
import type { DownlinkRecord, PacketRecord, UplinkRecord } from '../src/monitor/monitor.js';
import { loraUplink, memoryLogger, startHarness, waitFor, type Harness } from './helpers/harness.js';

/** An unconfirmed data uplink: MHDR 0x40, DevAddr 26011BDA (LSB first on air), FCtrl 0x80 (ADR), FCnt, FPort 1, 2 payload bytes, MIC. */
function dataUp(fcnt: number): Buffer {
  return Buffer.from([0x40, 0xda, 0x1b, 0x01, 0x26, 0x80, fcnt & 0xff, fcnt >> 8, 0x01, 0xaa, 0xbb, 1, 2, 3, 4]);
}

async function getJson<T>(api: ApiServer, path: string): Promise<{ status: number; body: T; type: string | null }> {
  const r = await fetch(api.url + path);
  return { status: r.status, type: r.headers.get('content-type'), body: (await r.json()) as T };
}

/**
 * Checks Prometheus text exposition format 0.0.4: every line a comment
 * (# HELP / # TYPE with a known type) or a sample `name{labels} value`,
 * each sample's family declared, label values quoted and escaped. Returns
 * the samples by name and labels.
 */
function parsePrometheus(text: string): Map<string, number> {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sample = new RegExp(`^(${name})(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*",?)*\\})? (-?(?:\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?|NaN|\\+Inf|-Inf))$`);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = new RegExp(`^# HELP (${name}) .*$`).exec(line);
    if (help) continue;
    const type = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (type) {
      assert.ok(!types.has(type[1]!), `family ${type[1]} declared twice`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const m = sample.exec(line);
    assert.ok(m, `not a valid exposition line: ${JSON.stringify(line)}`);
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(m[1]!) || types.has(family), `sample ${m[1]} has no # TYPE`);
    samples.set(m[1]! + (m[2] ?? ''), Number(m[3]));
  }
  return samples;
}

describe('status API against a running forwarder (simulated concentrator)', () => {
  let h: Harness;
  let api: ApiServer;
  const sent = 5;

  before(async () => {
    h = await startHarness({ gateway: { keepalive_interval: 1 } });
    api = await startApiServer({ forwarder: h.fwd, bindAddress: '127.0.0.1', port: 0, log: memoryLogger().log });
    await h.air.listen();
    for (let i = 0; i < sent; i++) h.air.send(loraUplink({ data: dataUp(100 + i).toString('base64'), rssi: -70 - i, lsnr: 5 + i }));
    h.air.send(loraUplink({ crc: 'bad', freq: 868.3 }));
    await waitFor(() => h.ns.counts.rxpk >= sent, 5000, 'uplinks at the server');
    await waitFor(() => h.ns.counts.pull > 0, 5000, 'PULL_DATA');
    // A Class A downlink 300 ms ahead, and one the gateway must refuse (TX_FREQ).
    h.ns.sendPullResp({ tmst: ((await h.sim.counterUs()) + 300_000) >>> 0, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 4, data: 'YAECAw==' });
    h.ns.sendPullResp({ imme: true, freq: 915.0, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 1, data: 'AA==' });
    await waitFor(() => h.air.downlinks().length >= 1 && h.ns.counts.txack >= 2, 5000, 'the downlink on the air and both TX_ACKs');
    await waitFor(() => (h.fwd.monitor.packets(50).find((p) => p.dir === 'down' && p.txAck === 'OK') as DownlinkRecord | undefined)?.timingErrorUs !== null, 3000, 'timing error');
  });

  after(async () => {
    await api?.close();
    await h?.stop();
  });

  test('GET /api/status: identity, radio, server answering, counters as injected', async () => {
    const { status, body, type } = await getJson<ReturnType<Harness['fwd']['status']>>(api, '/api/status');
    assert.equal(status, 200);
    assert.match(type!, /application\/json/);
    assert.equal(body.gatewayId, 'AA555A0000000000');
    assert.equal(body.gatewayIdFrom, 'configured');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual([body.radio.type, body.radio.up], ['sim', true]);
    const srv = body.servers[0]!;
    assert.equal(srv.answering, true);
    assert.equal(srv.address, '127.0.0.1');
    assert.ok(srv.lastPullAckAgeS !== null && srv.lastPullAckAgeS < 5);
    assert.ok(srv.lastPushAckAgeS !== null && srv.lastPushRttMs !== null && srv.lastPushRttMs >= 0);
    // Figures at their meaningful precision: round trips to 10 µs, ages to 0.1 s (not 0.582339000000502).
    const decimals = (x: number | null) => (x === null ? 0 : (String(x).split('.')[1] ?? '').length);
    assert.ok(decimals(srv.lastPushRttMs) <= 2 && decimals(srv.lastPullRttMs) <= 2, `${srv.lastPushRttMs} ${srv.lastPullRttMs}`);
    assert.ok(decimals(srv.lastPushAckAgeS) <= 1 && decimals(srv.lastPullAckAgeS) <= 1, `${srv.lastPushAckAgeS} ${srv.lastPullAckAgeS}`);
    const t = body.counters.total;
    assert.deepEqual([t.rxnb, t.rxok, t.rxBad, t.rxfw, t.rxFiltered], [sent + 1, sent, 1, sent, 1]);
    assert.equal(t.pullRespReceived, 2);
    assert.equal(t.txSent, 1);
    assert.equal(body.counters.rejected.TX_FREQ, 1);
    assert.equal(body.queue.depth, 0);
  });

  test('GET /api/packets: uplinks with the LoRaWAN header decoded, the downlinks with their TX_ACK, outcome and timing error', async () => {
    const { body } = await getJson<{ packets: PacketRecord[]; lastId: number }>(api, '/api/packets?limit=50');
    const ups = body.packets.filter((p): p is UplinkRecord => p.dir === 'up');
    const downs = body.packets.filter((p): p is DownlinkRecord => p.dir === 'down');
    assert.equal(ups.length, sent + 1);
    const data = ups.filter((p) => p.crc === 'ok');
    assert.deepEqual(data.map((p) => [p.mtype, p.devAddr, p.fcnt, p.freq, p.datr, p.rssi, p.outcome]), [...Array(sent).keys()].map((i) => ['UnconfirmedDataUp', '26011BDA', 100 + i, 868.1, 'SF7BW125', -70 - i, 'forwarded']));
    assert.deepEqual(data.map((p) => p.lsnr), [5, 6, 7, 8, 9]);
    const bad = ups.find((p) => p.crc === 'bad')!;
    assert.deepEqual([bad.freq, bad.outcome], [868.3, 'filtered']);
    const ok = downs.find((d) => d.txAck === 'OK')!;
    assert.deepEqual([ok.class, ok.freq, ok.datr, ok.powe, ok.outcome, ok.size], ['A', 869.525, 'SF9BW125', 14, 'sent', 4]);
    assert.equal(ok.mtype, 'UnconfirmedDataDown');
    assert.ok(typeof ok.timingErrorUs === 'number' && ok.timingErrorUs >= 0, `timing error ${ok.timingErrorUs}`);
    const refused = downs.find((d) => d.txAck !== 'OK')!;
    assert.deepEqual([refused.txAck, refused.outcome, refused.class, refused.countUs], ['TX_FREQ', 'rejected', 'C', null]);
    assert.deepEqual(body.packets.map((p) => p.id), [...body.packets.map((p) => p.id)].sort((a, b) => a - b), 'oldest first');
    const since = await getJson<{ packets: PacketRecord[]; lastId: number }>(api, `/api/packets?since=${body.packets[2]!.id}`);
    assert.deepEqual(since.body.packets.map((p) => p.id), body.packets.slice(3).map((p) => p.id));
    assert.equal(since.body.lastId, body.lastId);
    assert.equal((await getJson<{ packets: PacketRecord[] }>(api, '/api/packets?limit=2')).body.packets.length, 2);
    assert.equal((await getJson(api, '/api/packets?limit=-1')).status, 400);
  });

  test('GET /api/channels: this minute\'s uplinks per channel', async () => {
    const { body } = await getJson<{ minutes: number[]; channels: Record<string, { up: number[]; down: number[] }> }>(api, '/api/channels');
    assert.equal(body.minutes.length, 60);
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    assert.equal(sum(body.channels['868.1']!.up), sent);
    assert.equal(sum(body.channels['868.3']!.up), 1);
    assert.equal(sum(body.channels['869.525']!.down), 1);
  });

  test('GET /metrics: valid Prometheus text whose values match the counters', async () => {
    const r = await fetch(`${api.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    const m = parsePrometheus(text);
    const server = `server="127.0.0.1:${h.config.gateway.servPortUp}"`;
    assert.equal(m.get('pktfwd_rx_packets_total{crc="ok"}'), sent);
    assert.equal(m.get('pktfwd_rx_packets_total{crc="bad"}'), 1);
    assert.equal(m.get('pktfwd_rx_forwarded_total'), sent);
    // Every per-server series carries the server (issue 15); the state gauges and build info are there.
    assert.ok((m.get(`pktfwd_push_data_sent_total{${server}}`) ?? 0) >= 1);
    assert.ok((m.get(`pktfwd_pull_data_sent_total{${server}}`) ?? 0) >= 1);
    assert.equal(m.get(`pktfwd_server_answering{${server}}`), 1);
    assert.equal(m.get(`pktfwd_pull_resp_received_total{${server}}`), 2);
    assert.equal(m.get(`pktfwd_buffer_uplinks{${server}}`), 0);
    assert.ok([...m.keys()].some((k) => k.startsWith(`pktfwd_server_last_ack_timestamp_seconds{${server},kind="pull"}`)));
    const lastPull = [...m.entries()].find(([k]) => k.startsWith(`pktfwd_server_last_ack_timestamp_seconds{${server},kind="pull"}`))![1];
    assert.ok(Math.abs(lastPull - Date.now() / 1000) < 30, `last PULL_ACK at ${lastPull}`);
    assert.equal(m.get('pktfwd_radio_up{radio="sim"}'), 1);
    assert.ok([...m.keys()].some((k) => /^pktfwd_build_info\{version="[^"]+",node_version="[^"]+"\}$/.test(k)));
    assert.ok([...m.keys()].some((k) => k.startsWith('pktfwd_duty_cycle_remaining_seconds{band=')), 'duty-cycle budget per band (EU868)');
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      assert.ok([...m.keys()].some((k) => k === name || k.startsWith(`${name}{`)), `prom-client default metric ${name}`);
    }
    // No series left from the old naming (pktfwd_rxnb_total beside pktfwd_rx_bad_total).
    assert.ok(![...m.keys()].some((k) => /^pktfwd_(rxnb|rxok|rxfw|rx_bad)_total/.test(k)));
    // Prometheus's own linter, where Debian's prometheus package is installed (.ci/run installs it).
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error === undefined) {
      assert.equal(promtool.status, 0, `promtool check metrics: ${promtool.stdout}${promtool.stderr}`);
      assert.equal(`${promtool.stdout}${promtool.stderr}`.trim(), '', 'no lint findings');
    }
    assert.equal(m.get('pktfwd_tx_rejected_total{reason="TX_FREQ"}'), 1);
    assert.equal(m.get('pktfwd_uplink_rssi_dbm_count{freq_mhz="868.1"}'), sent);
    assert.equal(m.get('pktfwd_uplink_rssi_dbm_bucket{le="-80",freq_mhz="868.1"}'), 0, 'none at -80 dBm or below');
    assert.equal(m.get('pktfwd_uplink_rssi_dbm_bucket{le="-70",freq_mhz="868.1"}'), sent, 'all at -70 dBm or below (-70..-74)');
    assert.equal(m.get('pktfwd_downlink_timing_error_seconds_count'), 1);
    assert.ok((m.get('pktfwd_ack_rtt_seconds_count{server="127.0.0.1:' + h.config.gateway.servPortUp + '",kind="push"}') ?? 0) >= 1);
    assert.equal(m.get('pktfwd_jit_queue_depth'), 0);
  });

  test('GET / is the self-contained page; unknown paths 404 with the list; POST is 405', async () => {
    const page = await fetch(`${api.url}/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<canvas id="perMinute"/);
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\//, 'no external assets');
    const nf = await getJson<{ paths: string[] }>(api, '/nope');
    assert.equal(nf.status, 404);
    assert.ok(nf.body.paths.includes('/metrics'));
    assert.equal((await fetch(`${api.url}/api/status`, { method: 'POST' })).status, 405);
    assert.equal(api.requests.errors, 0);
  });
});

describe('LoRaWAN header decoding', () => {
  test('data frames, join-request, join-accept, too short, wrong major', () => {
    assert.deepEqual(decodeLorawanHeader(dataUp(0x1234)), { mtype: 'UnconfirmedDataUp', devAddr: '26011BDA', fcnt: 0x1234, adr: true, foptsLen: 0, fport: 1 });
    const join = Buffer.concat([Buffer.from([0x00]), Buffer.from('0807060504030201', 'hex'), Buffer.from('1817161514131211', 'hex'), Buffer.from([0xaa, 0xbb, 1, 2, 3, 4])]);
    assert.deepEqual(decodeLorawanHeader(join), { mtype: 'JoinRequest', joinEui: '0102030405060708', devEui: '1112131415161718' });
    assert.deepEqual(decodeLorawanHeader(Buffer.alloc(17, 0x20).fill(0x20, 0, 1)), { mtype: 'JoinAccept' });
    assert.deepEqual(decodeLorawanHeader(Buffer.from([0x80, 1, 2])), { mtype: 'ConfirmedDataUp' });
    assert.equal(decodeLorawanHeader(Buffer.from([0x41, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])), null);
    assert.equal(decodeLorawanHeader(Buffer.alloc(0)), null);
  });
});
