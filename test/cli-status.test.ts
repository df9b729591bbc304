/**
 * `pktfwd run` as a process with its status API, read by `pktfwd status`
 * and `pktfwd packets --follow`; SIGHUP reloading the log level; SIGTERM
 * with a downlink scheduled.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NetworkServerStandIn } from '../src/demo/network-server.js';
import { SHIPPED_CONF, waitFor } from './helpers/harness.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

interface Proc {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  exit: Promise<number | null>;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out, exit: new Promise((r) => child.once('exit', (code) => r(code))) };
}

async function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  const p = start(args);
  const code = await p.exit;
  return { code, out: p.out() };
}

/** A forwarder process on the simulated radio, its status API on a free port. */
async function forwarder(o: { port: number; logLevel?: string; keepalive?: number; gateway?: Record<string, unknown>; format?: 'json' | 'pretty' }): Promise<Proc & { url: string; air: number; conf: string; doc: Record<string, Record<string, unknown>> }> {
  const doc = JSON.parse(readFileSync(SHIPPED_CONF, 'utf8')) as Record<string, Record<string, unknown>>;
  doc.gateway_conf = { ...doc.gateway_conf, gateway_ID: '0016C001FF10A235', server_address: '127.0.0.1', serv_port_up: o.port, serv_port_down: o.port, keepalive_interval: o.keepalive ?? 1, log_level: o.logLevel ?? 'info', radio: 'sim', ...o.gateway };
  doc.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
  doc.api_conf = { port: 0 };
  const conf = join(mkdtempSync(join(tmpdir(), 'pktfwd-status-')), 'global_conf.json');
  writeFileSync(conf, JSON.stringify(doc));
  const p = start(['run', '--config', conf, '--log-format', o.format ?? 'json']);
  // JSON: "url":"http://…"; pretty: url: "http://…"
  const url = await waitFor(() => /"?url"?: ?"(http:\/\/127\.0\.0\.1:\d+)"/.exec(p.out())?.[1], 10_000, 'status API URL');
  const air = Number(await waitFor(() => /"?air"?: ?"127\.0\.0\.1:(\d+)"/.exec(p.out())?.[1], 5000, 'air port'));
  return { ...p, url, air, conf, doc };
}

/** The sim's counter now: asked on the air; the socket then hears every emission. */
async function listenAir(air: number): Promise<{ count: number; sock: dgram.Socket }> {
  const sock = dgram.createSocket('udp4');
  const count = await new Promise<number>((r) => {
    sock.once('message', (m) => r((JSON.parse(m.toString()) as { count_us: number }).count_us));
    sock.bind(0, '127.0.0.1', () => sock.send('{"op":"listen"}', air, '127.0.0.1'));
  });
  return { count, sock };
}

function uplink(air: number, fcnt: number): Promise<void> {
  const frame = Buffer.from([0x40, 0x78, 0x56, 0x34, 0x12, 0x00, fcnt, 0, 0x01, 0xaa, 1, 2, 3, 4]);
  const msg = { op: 'uplink', freq: 868.1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', rssi: -80, lsnr: 7, crc: 'ok', data: frame.toString('base64') };
  const s = dgram.createSocket('udp4');
  return new Promise((r) => s.send(JSON.stringify(msg), air, '127.0.0.1', () => {
    s.close();
    r();
  }));
}

describe('pktfwd status / packets against a running forwarder', () => {
  test('status: healthy exits 0 with the table; packets prints and --follow tails; an unreachable API exits 3', async () => {
    const ns = new NetworkServerStandIn();
    const port = await ns.start();
    const f = await forwarder({ port });
    try {
      await waitFor(() => ns.counts.pull > 0, 8000, 'PULL_DATA');
      await new Promise((r) => setTimeout(r, 300)); // the PULL_ACK's way back
      const st = await cli(['status', '--url', f.url]);
      assert.equal(st.code, 0, st.out);
      assert.match(st.out, /^gateway\s+0016C001FF10A235 \(configured\)/m);
      assert.match(st.out, /^radio\s+sim: running  <-- SIMULATED radio \(gateway_conf\.radio "sim"\): nothing is heard or sent on the air$/m, "the status says the radio is simulated");
      assert.match(st.out, /^server\s+127\.0\.0\.1 \(127\.0\.0\.1\) :\d+\/\d+: answering$/m);
      const json = JSON.parse((await cli(['status', '--url', f.url, '--json'])).out) as { gatewayId: string };
      assert.equal(json.gatewayId, '0016C001FF10A235');

      const follow = start(['packets', '--url', f.url, '--follow']);
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < 3; i++) await uplink(f.air, i);
      await waitFor(() => (follow.out().match(/ UP /g) ?? []).length >= 3, 5000, 'three lines from packets --follow');
      assert.match(follow.out(), /868\.1000 MHz\s+SF7BW125\s+14 B\s+rssi -80 snr 7\s+CRC ok\s+forwarded\s+UnconfirmedDataUp DevAddr 12345678 FCnt 2/);
      await uplink(f.air, 3);
      await waitFor(() => (follow.out().match(/ UP /g) ?? []).length === 4, 5000, 'the fourth, later line');
      follow.child.kill('SIGTERM');
      await follow.exit;

      const last = await cli(['packets', '--url', f.url, '-n', '1', '--json']);
      assert.equal(last.code, 0);
      const lines = last.out.trim().split('\n');
      assert.equal(lines.length, 1);
      assert.equal((JSON.parse(lines[0]!) as { fcnt: number }).fcnt, 3);

      const gone = await cli(['status', '--url', 'http://127.0.0.1:9']);
      assert.equal(gone.code, 3);
      assert.match(gone.out, /cannot reach the status API at http:\/\/127\.0\.0\.1:9/);
    } finally {
      f.child.kill('SIGKILL');
      ns.stop();
    }
  });

  test('status exits 1 when the server does not answer', async () => {
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const f = await forwarder({ port: silent.address().port });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const st = await cli(['status', '--url', f.url]);
      assert.equal(st.code, 1, st.out);
      assert.match(st.out, /NOT ANSWERING/);
      assert.match(st.out, /PUSH_ACK never, PULL_ACK never/);
      // The reason for the exit code, in words (issue 15), and in --json as health.reasons.
      assert.match(st.out, /\nexit 1: server 127\.0\.0\.1:\d+ is not answering \(last PUSH_ACK never, last PULL_ACK never\)\n$/);
      const js = await cli(['status', '--url', f.url, '--json']);
      assert.equal(js.code, 1);
      const health = (JSON.parse(js.out) as { health: { exitCode: number; reasons: string[] } }).health;
      assert.equal(health.exitCode, 1);
      assert.match(health.reasons[0]!, /is not answering/);
      // Buffered uplinks are in the status too: the silent server makes the forwarder buffer them.
      await uplink(f.air, 2);
      let st2 = await cli(['status', '--url', f.url]);
      for (let i = 0; i < 25 && !/^buffer\s+[1-9]/m.test(st2.out); i++) {
        await new Promise((r) => setTimeout(r, 200));
        st2 = await cli(['status', '--url', f.url]);
      }
      assert.match(st2.out, /^buffer\s+1 uplink \(\d+ B\)(, server not answering)?; 0 delivered late$/m);
    } finally {
      f.child.kill('SIGKILL');
      silent.close();
    }
  });

  test('a GPS that is not there: the forwarder keeps forwarding and says so in the status and the log', async () => {
    const ns = new NetworkServerStandIn();
    const port = await ns.start();
    const f = await forwarder({ port, gateway: { gps_tty_path: '/dev/ttyNOPE0' } });
    try {
      await waitFor(() => f.out().includes('"msg":"GPS serial port unavailable; retrying"'), 5000, 'the log line');
      await uplink(f.air, 1);
      await waitFor(() => ns.counts.rxpk >= 1, 5000, 'the uplink still forwarded');
      const st = await cli(['status', '--url', f.url]);
      assert.match(st.out, /^time\s+GPS serial port waiting \(.*\/dev\/ttyNOPE0.*\); no fix; no time reference; last PPS never$/m);
    } finally {
      f.child.kill('SIGKILL');
      ns.stop();
    }
  });

  test('SIGHUP re-reads log_level and applies it to every module\'s logger', async () => {
    const ns = new NetworkServerStandIn();
    const port = await ns.start();
    const f = await forwarder({ port, logLevel: 'debug' });
    try {
      await uplink(f.air, 1);
      await waitFor(() => f.out().includes('"module":"upstream"') && f.out().includes('"msg":"PUSH_DATA sent"'), 5000, 'a debug line from the upstream module');
      writeFileSync(f.conf, JSON.stringify({ ...f.doc, gateway_conf: { ...f.doc.gateway_conf, log_level: 'warn' } }));
      f.child.kill('SIGHUP');
      const reload = await waitFor(() => f.out().split('\n').find((l) => l.includes('"msg":"SIGHUP: log level now warn"') && l.endsWith('}')), 5000, 'reload line');
      // One `level` key (pino's: 40, warn), the new one under its own name.
      assert.equal(reload.match(/"level":/g)?.length, 1, reload);
      const entry = JSON.parse(reload) as Record<string, unknown>;
      assert.deepEqual([entry.level, entry.newLevel, entry.previousLevel], [40, 'warn', 'debug']);
      const mark = f.out().length;
      await uplink(f.air, 2);
      await waitFor(() => ns.counts.rxpk >= 2, 5000, 'second uplink at the server');
      await new Promise((r) => setTimeout(r, 200));
      // A broken file leaves the level as it was and says why.
      writeFileSync(f.conf, '{ "gateway_conf": ');
      f.child.kill('SIGHUP');
      await waitFor(() => f.out().includes('SIGHUP: config not reloaded'), 5000, 'refusal line');
      // The refusal is logged after anything the second uplink logged: a fence for the log buffer.
      const between = f.out().slice(mark, f.out().indexOf('SIGHUP: config not reloaded'));
      assert.doesNotMatch(between, /"level":(20|30)/, 'no debug or info line after the reload');
    } finally {
      f.child.kill('SIGKILL');
      ns.stop();
    }
  });

  test('pretty mode, as on a terminal: one line per uplink with its DevAddr, and SIGHUP says the new level', async () => {
    const ns = new NetworkServerStandIn();
    const port = await ns.start();
    const f = await forwarder({ port, format: 'pretty' });
    try {
      await uplink(f.air, 1);
      const line = await waitFor(() => f.out().split('\n').find((l) => l.includes('INFO: uplink ')), 5000, 'the uplink line');
      assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: uplink 868\.100 MHz SF7BW125 RSSI -80 SNR 7 14 B CRC ok UnconfirmedDataUp DevAddr 12345678 FCnt 1 → forwarded$/);
      writeFileSync(f.conf, JSON.stringify({ ...f.doc, gateway_conf: { ...f.doc.gateway_conf, log_level: 'debug' } }));
      f.child.kill('SIGHUP');
      const reload = await waitFor(() => f.out().split('\n').find((l) => l.includes('SIGHUP')), 5000, 'reload line');
      assert.match(reload, /^\[[\d:.]+\] WARN: SIGHUP: log level now debug$/);
    } finally {
      f.child.kill('SIGKILL');
      ns.stop();
    }
  });

  test('packets -n 0 --follow: no history; new packets, and a downlink again when its outcome is known', async () => {
    const ns = new NetworkServerStandIn();
    const port = await ns.start();
    const f = await forwarder({ port });
    try {
      await waitFor(() => ns.counts.pull > 0, 8000, 'PULL_DATA');
      for (let i = 0; i < 3; i++) await uplink(f.air, i);
      await waitFor(() => ns.counts.rxpk >= 3, 5000, 'the history at the server');
      const follow = start(['packets', '--url', f.url, '-n', '0', '--follow']);
      // Two polls (1 s apart) with nothing new: nothing printed.
      await new Promise((r) => setTimeout(r, 2300));
      assert.equal(follow.out(), '', 'no history with -n 0');
      await uplink(f.air, 7);
      await waitFor(() => / UP .* FCnt 7$/m.test(follow.out()), 5000, 'the new uplink');
      // A downlink 2.5 s ahead: polled at least once while queued, then again once emitted.
      const { count, sock } = await listenAir(f.air);
      const frame = Buffer.from([0x60, 0x78, 0x56, 0x34, 0x12, 0x00, 9, 0, 1, 2, 3, 4]);
      ns.sendPullResp({ tmst: (count + 2_500_000) >>> 0, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: frame.length, data: frame.toString('base64') });
      const emitted = await new Promise<{ count_us: number; target_us: number }>((r) => sock.on('message', (m) => {
        const d = JSON.parse(m.toString()) as { op: string; count_us: number; target_us: number };
        if (d.op === 'downlink') r(d);
      }));
      sock.close();
      const startUs = (emitted.count_us - emitted.target_us) | 0;
      const sent = new RegExp(` DOWN .* OK  sent \\(${startUs >= 0 ? '\\+' : '-'}${Math.abs(startUs)} µs\\)  UnconfirmedDataDown DevAddr 12345678 FCnt 9  \\(updated\\)$`, 'm');
      await waitFor(() => sent.test(follow.out()), 5000, `the update line with the start error ${startUs} µs`);
      follow.child.kill('SIGTERM');
      await follow.exit;
      const lines = follow.out().trim().split('\n');
      assert.equal(lines.filter((l) => / UP /.test(l)).length, 1, follow.out());
      assert.match(lines.find((l) => / DOWN /.test(l))!, / OK  queued  UnconfirmedDataDown DevAddr 12345678 FCnt 9$/, 'first printed as queued');
      assert.ok(lines.filter((l) => / DOWN /.test(l)).every((l, i) => i === 0 || l.endsWith('(updated)')), follow.out());
    } finally {
      f.child.kill('SIGKILL');
      ns.stop();
    }
  });

  test('SIGTERM with a downlink scheduled: exits 0 within 2 s, the radio stopped', async () => {
    const ns = new NetworkServerStandIn();
    const port = await ns.start();
    const f = await forwarder({ port });
    try {
      await waitFor(() => ns.counts.pull > 0, 8000, 'PULL_DATA');
      // The sim's counter: ask the air.
      const s = dgram.createSocket('udp4');
      const count = await new Promise<number>((r) => {
        s.on('message', (m) => r((JSON.parse(m.toString()) as { count_us: number }).count_us));
        s.bind(0, '127.0.0.1', () => s.send('{"op":"listen"}', f.air, '127.0.0.1'));
      });
      ns.sendPullResp({ tmst: (count + 1_500_000) >>> 0, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 1, data: 'AA==' });
      await waitFor(() => ns.counts.txack > 0, 5000, 'TX_ACK');
      const t0 = performance.now();
      f.child.kill('SIGTERM');
      const code = await f.exit;
      const ms = performance.now() - t0;
      s.close();
      assert.equal(code, 0);
      assert.ok(ms < 2000, `exited after ${ms.toFixed(0)} ms`);
      assert.match(f.out(), /"msg":"forwarder stopped"/);
      assert.match(f.out(), /"msg":"stopped"/);
    } finally {
      f.child.kill('SIGKILL');
      ns.stop();
    }
  });
});
