/**
 * Issue 18 items 2 and 3 against the real CLI process (sim radio, virtual
 * air, a network-server stand-in, the status API), restarted and killed the
 * way the field does it:
 * - a poisoned buffer (an uplink the server never acknowledges) cannot block
 *   the others or live uplinks: it is isolated, dropped and counted;
 * - the file (600 uplinks, one character flipped inside one rxpk)
 *   loads 599 and delivers them all;
 * - SIGKILL loses nothing the buffer held, and a delivered uplink is never
 *   sent again after a kill;
 * - a read-only directory: nothing replayed over 3 restarts, the status
 *   says why; writable again → delivered exactly once;
 * - a full disk: the status says so; when space comes back the file is
 *   rewritten and a SIGKILL then loses nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { NetworkServerStandIn, type NetworkServerOptions, type PushEvent } from '../src/demo/network-server.js';
import type { ForwarderStatus } from '../src/forwarder.js';
import { readJournalText } from '../src/uplink-journal.js';
import { AirClient, waitFor } from './helpers/harness.js';
import { rec, rxpkText } from './helpers/journal.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../global_conf.json', import.meta.url));
const canMount = process.getuid?.() === 0;

/** The payload index carried by an rxpk's data (rxpkText and the air uplinks below use the same 8-byte layout). */
const indexOf = (data: string) => Buffer.from(data, 'base64').readUInt32BE(4);
const payload = (i: number) => {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(i, 4);
  return b.toString('base64');
};

interface Gateway {
  child: ChildProcess;
  entries: () => Record<string, unknown>[];
  status: () => Promise<ForwarderStatus>;
  air: AirClient;
  kill: (signal?: NodeJS.Signals) => Promise<number | null>;
}

async function startGateway(ns: NetworkServerStandIn, file: string, statIntervalS = 3600): Promise<Gateway> {
  const conf = JSON.parse(readFileSync(SHIPPED, 'utf8')) as Record<string, Record<string, unknown>>;
  conf.gateway_conf = { ...conf.gateway_conf, keepalive_interval: 1, stat_interval: statIntervalS };
  conf.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
  conf.api_conf = { enable: true, port: 0 };
  conf.buffer_conf = { file, probe_interval_ms: 200 };
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-bufcli-'));
  writeFileSync(join(dir, 'global_conf.json'), JSON.stringify(conf));
  const child = spawn(process.execPath, [CLI, 'run', '--config', join(dir, 'global_conf.json'), '--radio', 'sim', '--server', '127.0.0.1', '--port-up', String(ns.port), '--port-down', String(ns.port), '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const entries = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const api = await waitFor(() => entries().find((e) => e.msg === 'status API listening'), 10_000, 'status API');
  const sim = entries().find((e) => e.msg === 'simulated concentrator started')!;
  const air = new AirClient(Number(String(sim.air).split(':')[1]));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child, entries, air,
    status: async () => (await (await fetch(`${String(api.url)}/api/status`)).json()) as ForwarderStatus,
    kill: async (signal = 'SIGKILL') => {
      child.kill(signal);
      const code = await exited;
      air.close();
      return code;
    },
  };
}

async function server(o: NetworkServerOptions = {}): Promise<{ ns: NetworkServerStandIn; got: number[] }> {
  const ns = new NetworkServerStandIn(o);
  await ns.start();
  const got: number[] = [];
  ns.on('push', (e: PushEvent) => got.push(...e.rxpk.map((r) => indexOf(r.data))));
  return { ns, got };
}

function writeJournal(path: string, items: { seq: number; rxpk: string }[]): void {
  writeFileSync(path, 'pktfwd-uplinks 1\n' + items.map((it) => rec(['+', it.seq, Date.now(), it.rxpk])).join(''));
}

/** waitFor for an async predicate (polls every 50 ms). */
async function until(pred: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the buffer file against the real process', () => {
  test('a poisoned buffer: the uplink the server never acknowledges is isolated and dropped; the other 49 and 20 live ones are delivered in order', { timeout: 90_000 }, async () => {
    const POISON = 10;
    const { ns, got } = await server({ refuseRxpk: (r) => (indexOf(r.data) === POISON ? 'this server cannot decode it' : null) });
    const dir = mkdtempSync(join(tmpdir(), 'pktfwd-poison-'));
    const file = join(dir, 'uplinks.jsonl');
    writeJournal(file, range(1, 50).map((i) => ({ seq: i, rxpk: rxpkText(i) })));
    // A stat every second: the server acknowledging it is the evidence that it answers (see Isolation in server-uplink.ts).
    const gw = await startGateway(ns, file, 1);
    try {
      await gw.air.listen();
      for (let i = 1001; i <= 1020; i++) {
        gw.air.send({ op: 'uplink', freq: 868.1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', rssi: -60, lsnr: 9, crc: 'ok', data: payload(i) });
        await sleep(20);
      }
      await waitFor(() => got.length >= 69, 40_000, `69 uplinks at the server (has ${got.length})`);
      assert.deepEqual(got, [...range(1, 50).filter((i) => i !== POISON), ...range(1001, 1020)], 'everything but the poison, in order, once');
      const st = await gw.status();
      assert.equal(st.buffer.dropped.poison, 1);
      assert.equal(st.buffer.uplinks, 0);
      const line = await waitFor(() => gw.entries().find((e) => e.msg === 'buffered uplink dropped: the server acknowledges other datagrams but never this one'), 5000, 'the drop logged');
      assert.equal(line.level, 40);
      assert.equal(line.seq, POISON);
    } finally {
      await gw.kill('SIGTERM');
      ns.stop();
    }
  });

  test('a server down for 5 s, then back: the isolation never mistakes the outage for poison; all delivered in order, none dropped', { timeout: 60_000 }, async () => {
    const { ns, got } = await server();
    const dir = mkdtempSync(join(tmpdir(), 'pktfwd-notpoison-'));
    const file = join(dir, 'uplinks.jsonl');
    writeJournal(file, range(1, 30).map((i) => ({ seq: i, rxpk: rxpkText(i) })));
    ns.silent = true;
    const gw = await startGateway(ns, file, 1);
    try {
      await sleep(5000); // offers halve down to the head alone, which becomes a suspect; no stat is acknowledged
      assert.equal(got.length, 0);
      ns.silent = false;
      await waitFor(() => got.length >= 30, 30_000, `30 delivered (has ${got.length})`);
      assert.deepEqual(got, range(1, 30));
      assert.equal((await gw.status()).buffer.dropped.poison, 0);
    } finally {
      await gw.kill('SIGTERM');
      ns.stop();
    }
  });

  test('draining behind a slow server: the window grows 1, 2, 4, 8 and stays at 8 datagrams in flight; all delivered in order, once (issue 16)', { timeout: 60_000 }, async () => {
    // The server holds its PUSH_ACKs and releases them in rounds, 50 ms after the last PUSH_DATA: each
    // round's size is exactly the number of datagrams the gateway had in flight.
    const { ns, got } = await server({ ackPush: false });
    const sock = (ns as unknown as { sock: import('node:dgram').Socket }).sock;
    const held: { token: number; to: { address: string; port: number } }[] = [];
    const rounds: number[] = [];
    let timer: NodeJS.Timeout | null = null;
    sock.prependListener('message', (m: Buffer, rinfo: import('node:dgram').RemoteInfo) => {
      if (m.length < 12 || m[3] !== 0x00 || !m.includes('"rxpk"')) {
        if (m.length >= 12 && m[3] === 0x00) sock.send(Buffer.from([2, m[1]!, m[2]!, 1]), rinfo.port, rinfo.address); // a stat: ack at once
        return;
      }
      held.push({ token: m.readUInt16BE(1), to: { address: rinfo.address, port: rinfo.port } });
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        rounds.push(held.length);
        for (const h of held.splice(0)) sock.send(Buffer.from([2, h.token >> 8, h.token & 0xff, 1]), h.to.port, h.to.address);
      }, 50);
    });
    const file = join(mkdtempSync(join(tmpdir(), 'pktfwd-window-')), 'uplinks.jsonl');
    writeJournal(file, range(1, 1000).map((i) => ({ seq: i, rxpk: rxpkText(i) })));
    const gw = await startGateway(ns, file);
    try {
      await waitFor(() => got.length >= 1000, 30_000, `1000 delivered (has ${got.length})`);
      assert.deepEqual(got, range(1, 1000));
      assert.deepEqual(rounds.slice(0, 5), [1, 2, 4, 8, 8], `rounds ${JSON.stringify(rounds)}`);
      assert.ok(Math.max(...rounds) === 8, `rounds ${JSON.stringify(rounds)}`);
    } finally {
      if (timer) clearTimeout(timer);
      await gw.kill('SIGTERM');
      ns.stop();
    }
  });

  test("the issue's file: 600 uplinks in the earlier format, one character flipped inside one rxpk: 599 loaded, the bad one counted, all 599 delivered", { timeout: 60_000 }, async () => {
    const { ns, got } = await server();
    const dir = mkdtempSync(join(tmpdir(), 'pktfwd-flip-'));
    const file = join(dir, 'uplinks.jsonl');
    const lines = range(1, 600).map((i) => JSON.stringify([Date.now(), i, rxpkText(i)]));
    lines[299] = lines[299]!.replace('\\"chan\\":0', '\\"chan\\":O');
    writeFileSync(file, lines.join('\n'));
    const gw = await startGateway(ns, file);
    try {
      const skipped = await waitFor(() => gw.entries().find((e) => e.msg === 'uplink buffer file: damaged records skipped'), 5000, 'damaged records line');
      assert.deepEqual([skipped.loaded, skipped.bad], [599, { rxpk: 1 }]);
      await waitFor(() => got.length >= 599, 30_000, `599 at the server (has ${got.length})`);
      assert.deepEqual(got, range(1, 600).filter((i) => i !== 300));
      assert.equal(ns.counts.invalid, 0, 'no datagram the server could not decode');
      const head = readFileSync(file, 'utf8').split('\n')[0];
      assert.equal(head, 'pktfwd-uplinks 1', 'rewritten in the journal format');
    } finally {
      await gw.kill('SIGTERM');
      ns.stop();
    }
  });

  test('SIGKILL: every buffered uplink survives; after delivery a kill replays none', { timeout: 60_000 }, async () => {
    const { ns, got } = await server();
    ns.silent = true;
    const file = join(mkdtempSync(join(tmpdir(), 'pktfwd-kill-')), 'uplinks.jsonl');
    let gw = await startGateway(ns, file);
    await gw.air.listen();
    for (let i = 1; i <= 40; i++) {
      gw.air.send({ op: 'uplink', freq: 868.1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', rssi: -60, lsnr: 9, crc: 'ok', data: payload(i) });
      await sleep(25);
    }
    await until(async () => (await gw.status()).buffer.uplinks === 40, 10_000, 'all 40 buffered');
    assert.equal(await gw.kill('SIGKILL'), null);
    ns.silent = false;
    gw = await startGateway(ns, file);
    try {
      await waitFor(() => got.length >= 40, 10_000, `40 delivered after the kill (has ${got.length})`);
      assert.deepEqual(got, range(1, 40), 'all, in order, once');
      await until(async () => (await gw.status()).buffer.uplinks === 0, 5000, 'buffer empty');
    } finally {
      await gw.kill('SIGKILL');
    }
    // Delivered, then killed at once: the journal recorded the delivery, so nothing comes back.
    gw = await startGateway(ns, file);
    try {
      await waitFor(() => ns.counts.pull >= 3, 10_000, 'running a while (3 PULL_DATA)');
      assert.equal(got.length, 40, 'nothing replayed');
      assert.equal((await gw.status()).buffer.uplinks, 0);
    } finally {
      await gw.kill('SIGTERM');
      ns.stop();
    }
  });

  test('read-only directory: 3 restarts replay nothing and the status says why; writable again → delivered exactly once', { timeout: 90_000, skip: canMount ? false : 'needs root to mount a read-only bind (CI runs as root)' }, async () => {
    const { ns, got } = await server();
    const dir = mkdtempSync(join(tmpdir(), 'pktfwd-rodir-'));
    const file = join(dir, 'uplinks.jsonl');
    writeJournal(file, range(1, 30).map((i) => ({ seq: i, rxpk: rxpkText(i) })));
    execFileSync('mount', ['--bind', dir, dir]);
    execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
    try {
      for (let run = 0; run < 3; run++) {
        const gw = await startGateway(ns, file);
        try {
          const w = await waitFor(() => gw.entries().find((e) => typeof e.msg === 'string' && e.msg.startsWith('uplink buffer file cannot be written')), 5000, 'the warning');
          assert.equal(w.held, 30);
          await waitFor(() => ns.counts.pull >= 3 * (run + 1), 10_000, 'running a while');
          const st = await gw.status();
          assert.equal(st.buffer.file?.ok, false);
          assert.match(String(st.buffer.file?.reason), /^EROFS/);
          const text = execFileSync(process.execPath, [CLI, 'status', '--url', String(gw.entries().find((e) => e.msg === 'status API listening')!.url)], { encoding: 'utf8' });
          assert.match(text, /file +.*uplinks\.jsonl: NOT SAVED \(EROFS/);
        } finally {
          await gw.kill('SIGTERM');
        }
      }
      assert.equal(got.length, 0, 'nothing sent from a file whose delivery cannot be recorded');
    } finally {
      execFileSync('umount', [dir]);
    }
    let gw = await startGateway(ns, file);
    try {
      await waitFor(() => got.length >= 30, 10_000, '30 delivered once writable');
      assert.deepEqual(got, range(1, 30));
      assert.equal((await gw.status()).buffer.file?.ok, true);
    } finally {
      await gw.kill('SIGTERM');
    }
    gw = await startGateway(ns, file);
    try {
      await waitFor(() => ns.counts.pull >= 12, 10_000, 'running a while');
      assert.equal(got.length, 30, 'not again');
    } finally {
      await gw.kill('SIGTERM');
      ns.stop();
    }
  });

  test('full disk: the status says so; space back → rewritten with everything, and a SIGKILL then loses nothing', { timeout: 90_000, skip: canMount ? false : 'needs root to mount a small tmpfs (CI runs as root)' }, async () => {
    const { ns, got } = await server();
    ns.silent = true;
    const dir = mkdtempSync(join(tmpdir(), 'pktfwd-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    const file = join(dir, 'uplinks.jsonl');
    let sent = 0;
    let gw: Gateway | null = null;
    try {
      writeFileSync(join(dir, 'filler'), Buffer.alloc(48 * 1024));
      gw = await startGateway(ns, file);
      await gw.air.listen();
      const g1 = gw;
      const up = () => g1.air.send({ op: 'uplink', freq: 868.1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', rssi: -60, lsnr: 9, crc: 'ok', data: payload(++sent) });
      // Until the file cannot grow: each uplink is ~250 bytes of journal.
      await until(async () => {
        up();
        await sleep(15);
        return (await g1.status()).buffer.file?.ok === false;
      }, 30_000, 'the disk full');
      for (let k = 0; k < 10; k++) {
        up();
        await sleep(15);
      }
      await until(async () => (await g1.status()).buffer.uplinks === sent, 10_000, `all ${sent} buffered in memory`);
      const st = await g1.status();
      assert.match(String(st.buffer.file?.reason), /^ENOSPC/);
      // Log lines reach stdout up to LOG_FLUSH_MS after the status shows the state.
      await waitFor(() => g1.entries().some((e) => typeof e.msg === 'string' && e.msg.startsWith('uplink buffer file not written: buffering in memory only')), 5000, 'the ENOSPC line');
      const onDisk = readJournalText(readFileSync(file, 'utf8'));
      assert.deepEqual(onDisk.report.bad, {}, 'no torn record on the full disk');
      assert.ok(onDisk.entries.length < sent, `${onDisk.entries.length} of ${sent} on disk while full`);
      rmSync(join(dir, 'filler'));
      await waitFor(() => g1.entries().some((e) => e.msg === 'uplink buffer file written again'), 5000, 'rewritten when space came back');
      assert.equal(readJournalText(readFileSync(file, 'utf8')).entries.length, sent);
      await g1.kill('SIGKILL');
      gw = null;
      ns.silent = false;
      gw = await startGateway(ns, file);
      await waitFor(() => got.length >= sent, 10_000, `${sent} delivered`);
      assert.deepEqual(got, range(1, sent));
    } finally {
      if (gw && gw.child.exitCode === null && gw.child.signalCode === null) await gw.kill('SIGTERM');
      execFileSync('umount', [dir]);
      ns.stop();
    }
  });
});
