import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { SUPPRESSED_MSG, WarnLimiter } from '../hal/log-limit.js';
import { memoryLogger, waitFor } from './helpers/harness.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../global_conf.json', import.meta.url));

describe('WarnLimiter', () => {
  test('writes the burst, counts the rest, and says how many it suppressed when the window ends', async () => {
    const { log, lines } = memoryLogger('debug');
    const l = new WarnLimiter(log, { burst: 3, windowMs: 150 });
    for (let i = 0; i < 50; i++) l.warn({ i }, 'datagram ignored');
    for (let i = 0; i < 2; i++) l.warn({ i }, 'another message');
    assert.equal(lines().filter((e) => e.msg === 'datagram ignored').length, 3);
    assert.equal(lines().filter((e) => e.msg === 'another message').length, 2, 'each message has its own budget');
    const summary = await waitFor(() => lines().find((e) => typeof e.msg === 'string' && e.msg.startsWith(SUPPRESSED_MSG)), 3000, 'summary line');
    assert.equal(summary.suppressed, 47);
    assert.equal(summary.message, 'datagram ignored');
    assert.equal(l.suppressedTotal, 47);
    // A new window starts afresh.
    l.warn({}, 'datagram ignored');
    assert.equal(lines().filter((e) => e.msg === 'datagram ignored').length, 4);
  });

  test('a reason splits one message into separate budgets; flush writes what is pending', () => {
    const { log, lines } = memoryLogger('debug');
    const l = new WarnLimiter(log, { burst: 1, windowMs: 60_000 });
    for (let i = 0; i < 5; i++) l.warn({}, 'downlink rejected', 'TOO_LATE');
    for (let i = 0; i < 5; i++) l.warn({}, 'downlink rejected', 'TX_FREQ');
    assert.equal(lines().filter((e) => e.msg === 'downlink rejected').length, 2);
    l.flush();
    const sums = lines().filter((e) => typeof e.msg === 'string' && e.msg.startsWith(SUPPRESSED_MSG));
    assert.deepEqual(sums.map((e) => [e.reason, e.suppressed]).sort(), [['TOO_LATE', 4], ['TX_FREQ', 4]]);
  });

  test('a sender cannot grow the key table without bound', () => {
    const { log } = memoryLogger('debug');
    const l = new WarnLimiter(log, { burst: 1, maxKeys: 8 });
    for (let i = 0; i < 1000; i++) l.warn({}, 'm', `r${i}`);
    assert.ok((l as unknown as { windows: Map<string, unknown> }).windows.size <= 8);
  });
});

describe('the real forwarder under a flood of foreign and malformed datagrams', () => {
  test('every datagram is counted; the log gets a bounded number of lines and one summary per message', async () => {
    const server = dgram.createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    let downPort = 0;
    server.on('message', (msg, rinfo) => {
      // PULL_DATA: answer PULL_ACK, remember where the downstream socket is.
      if (msg.length >= 12 && msg[3] === 0x02) {
        downPort = rinfo.port;
        server.send(Buffer.from([2, msg[1]!, msg[2]!, 4]), rinfo.port, rinfo.address);
      } else if (msg.length >= 12 && msg[3] === 0x00) server.send(Buffer.from([2, msg[1]!, msg[2]!, 1]), rinfo.port, rinfo.address);
    });
    const conf = JSON.parse(readFileSync(SHIPPED, 'utf8')) as Record<string, Record<string, unknown>>;
    conf.gateway_conf = { ...conf.gateway_conf, keepalive_interval: 1, stat_interval: 3600 };
    conf.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
    conf.api_conf = { enable: false };
    const dir = mkdtempSync(join(tmpdir(), 'pktfwd-flood-'));
    writeFileSync(join(dir, 'global_conf.json'), JSON.stringify(conf));
    const child = spawn(process.execPath, [CLI, 'run', '--config', join(dir, 'global_conf.json'), '--radio', 'sim', '--server', '127.0.0.1', '--port-up', String(port), '--port-down', String(port), '--log-format', 'json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const entries = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    try {
      await waitFor(() => downPort !== 0, 10_000, 'PULL_DATA from the forwarder');
      const foreign = dgram.createSocket('udp4');
      await new Promise<void>((r) => foreign.bind(0, '127.0.0.1', r));
      const N = 2000;
      for (let i = 0; i < N; i++) {
        foreign.send(Buffer.from([2, 0, i & 0xff, 3, 0x7b]), downPort, '127.0.0.1'); // from an address that is not the server's
        server.send(Buffer.from([9, 9, 9]), downPort, '127.0.0.1'); // garbage from the server's own address
        if (i % 200 === 199) await new Promise((r) => setTimeout(r, 20)); // stay within the socket buffer
      }
      child.kill('SIGUSR1');
      const report = await waitFor(() => entries().find((e) => e.msg === 'stats report' && ((e.report as { downstream: { garbage: number } }).downstream.garbage >= N)), 10_000, 'stats report with every garbage datagram counted');
      const r = report.report as { downstream: { garbage: number }; link: { foreignDatagrams?: number } };
      assert.equal(r.downstream.garbage, N);
      assert.equal(r.link.foreignDatagrams, N);
      foreign.close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      const e = entries();
      const foreignLines = e.filter((x) => x.msg === 'datagram from foreign address ignored').length;
      const garbageLines = e.filter((x) => x.msg === 'downstream datagram ignored').length;
      assert.ok(foreignLines >= 1 && foreignLines <= 10, `${foreignLines} foreign-datagram lines`);
      assert.ok(garbageLines >= 1 && garbageLines <= 10, `${garbageLines} garbage lines`);
      const sums = e.filter((x) => typeof x.msg === 'string' && x.msg.startsWith(SUPPRESSED_MSG));
      const by = new Map(sums.map((x) => [x.message, x.suppressed]));
      assert.equal(by.get('datagram from foreign address ignored'), N - foreignLines);
      assert.equal(by.get('downstream datagram ignored'), N - garbageLines);
      assert.ok(e.length < 200, `${e.length} log lines for ${2 * N} hostile datagrams`);
    } finally {
      child.kill('SIGKILL');
      server.close();
    }
  });
});
