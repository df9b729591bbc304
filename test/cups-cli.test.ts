/**
 * CUPS (issue 17's stretch) against the real CLI process: a station
 * directory holding only cups.uri, cups.trust and cups.key (a The Things
 * Stack style CUPS API key), a CUPS stand-in over TLS that hands out the
 * LNS address and credentials (trust as DER, an Authorization token), and
 * an LNS stand-in that accepts that token. The forwarder asks CUPS, writes
 * tc.* as Basics Station does (backup set first, DER bytes as sent), and
 * connects to the LNS; at the next check its CRCs match what CUPS has, so
 * nothing is sent; when the server rotates the LNS key, the next check
 * installs the new one and the forwarder reconnects with it.
 */
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { CupsStandIn, credentialsBlob } from '../src/demo/cups-server.js';
import { waitFor } from './helpers/harness.js';
import { CLI, shippedConf, spawnCli } from './helpers/cli-process.js';
import { eu868RouterConfig, LnsStandIn, stationDir, tlsFile } from './helpers/lns-server.js';

const caDer = new X509Certificate(tlsFile('ca.crt')).raw;

describe('CUPS with the real forwarder process', () => {
  const lns = new LnsStandIn({ token: 'Bearer LNS-KEY-1', routerConfig: () => eu868RouterConfig(shippedConf().SX1301_conf!) });
  const tcCred1 = { trust: caDer, key: Buffer.from('Authorization: Bearer LNS-KEY-1\r\n') };
  const cups = new CupsStandIn({ token: 'Bearer CUPS-KEY', target: { tcCred: tcCred1 } });
  let child: ChildProcess;
  let entries: () => Record<string, unknown>[] = () => [];
  const out = () => entries().slice(-25).map((e) => JSON.stringify(e)).join('\n');
  let dir = '';

  before(async () => {
    const lnsPort = await lns.start();
    cups.o.target.tcUri = `wss://localhost:${lnsPort}`;
    const cupsPort = await cups.start();
    dir = stationDir({ 'cups.uri': `https://localhost:${cupsPort}\n`, 'cups.trust': tlsFile('ca.crt'), 'cups.key': 'Authorization: Bearer CUPS-KEY\r\n' });
    const conf = shippedConf();
    conf.gateway_conf = { ...conf.gateway_conf, gateway_ID: '0016C001FF10A235', stat_interval: 3600, servers: [] };
    conf.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
    conf.api_conf = { enable: true, port: 0 };
    (conf as Record<string, unknown>).lns_conf = [{ station_dir: dir, cups_interval_s: 2 }];
    const cli = spawnCli(conf, 1);
    child = cli.child;
    entries = cli.entries;
  });

  after(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await lns.stop();
    await cups.stop();
  });

  test('no tc.* at start: CUPS provides them, written as sent, and the LNS connects with them', async () => {
    await waitFor(() => entries().find((e) => e.msg === 'LNS waiting for CUPS to provide tc.uri and credentials'), 10_000, 'waiting for CUPS', out);
    await waitFor(() => entries().find((e) => e.msg === 'LNS connected, router_config applied'), 15_000, 'LNS connected', out);
    const first = cups.requests[0]!;
    assert.equal(first.router, '16:c001:ff10:a235', 'router id as in discovery');
    assert.equal(first.tcUri, '');
    assert.equal(first.cupsUri, `https://localhost:${cups.port}`);
    // No tc.* files: the CRC of three absent files (four zero bytes each).
    assert.equal(first.tcCredCrc, crc32(Buffer.alloc(12)));
    assert.equal(first.cupsCredCrc, crc32(Buffer.concat([Buffer.from(tlsFile('ca.crt')), Buffer.alloc(4), Buffer.from('Authorization: Bearer CUPS-KEY\r\n')])));
    assert.equal(typeof first.package, 'string');
    assert.deepEqual(first.keys, []);
    assert.deepEqual(cups.answers[0]!.segments, ['tcUri', 'tcCred']);
    assert.equal(readFileSync(join(dir, 'tc.uri'), 'utf8').trim(), `wss://localhost:${lns.port}`);
    assert.deepEqual(readFileSync(join(dir, 'tc.trust')), caDer, 'the DER trust as CUPS sent it');
    assert.equal(readFileSync(join(dir, 'tc.crt')).length, 0, 'no client certificate: an empty file, as Basics Station writes it');
    assert.equal(readFileSync(join(dir, 'tc.key'), 'utf8'), 'Authorization: Bearer LNS-KEY-1\r\n');
    assert.equal(existsSync(join(dir, 'tc-temp.upd')), false, 'the update completed');
    // The set that connected, and the CUPS set that was answered, are kept as -bak (Basics Station's known-good copies).
    await waitFor(() => existsSync(join(dir, 'tc-bak.key')), 5000, 'tc-bak written', out);
    assert.equal(readFileSync(join(dir, 'tc-bak.key'), 'utf8'), 'Authorization: Bearer LNS-KEY-1\r\n');
    assert.equal(readFileSync(join(dir, 'cups-bak.key'), 'utf8'), 'Authorization: Bearer CUPS-KEY\r\n');
    assert.ok(entries().some((e) => e.msg === 'CUPS: new files installed'));
  });

  test('the next check reports the installed files\' CRC and URI, which match: nothing is sent', async () => {
    await waitFor(() => cups.requests.length >= 2, 10_000, 'second CUPS request', out);
    const second = cups.requests[1]!;
    assert.equal(second.tcCredCrc, crc32(credentialsBlob(tcCred1)), 'the CRC Basics Station computes over the installed files');
    assert.equal(second.tcUri, `wss://localhost:${lns.port}`);
    assert.deepEqual(cups.answers[1]!.segments, []);
    await waitFor(() => entries().find((e) => e.msg === 'CUPS: no updates'), 5000, 'no updates line', out);
  });

  test('the server rotates the LNS key: the old one is refused, the next CUPS check installs the new one, the LNS reconnects with it', async () => {
    const connects = lns.messages('version').length;
    lns.acceptToken('Bearer LNS-KEY-2');
    cups.o.target.tcCred = { trust: caDer, key: Buffer.from('Authorization: Bearer LNS-KEY-2\r\n') };
    lns.dropGateway();
    await waitFor(() => lns.refused.some((r) => r.why === 'Authorization Bearer LNS-KEY-1'), 10_000, 'old key refused', out);
    await waitFor(() => lns.messages('version').length > connects, 15_000, 'reconnected with the new key', out);
    assert.equal(readFileSync(join(dir, 'tc.key'), 'utf8'), 'Authorization: Bearer LNS-KEY-2\r\n');
    // The set that connected becomes tc-bak: the new key, once it has worked.
    // (Read tolerantly: the copy replaces the file while the test looks.)
    const bakKey = () => {
      try {
        return readFileSync(join(dir, 'tc-bak.key'), 'utf8');
      } catch {
        return null;
      }
    };
    await waitFor(() => bakKey() === 'Authorization: Bearer LNS-KEY-2\r\n', 5000, 'tc-bak is the working set', out);
    assert.ok(entries().some((e) => e.msg === 'LNS credentials replaced: connecting with them'));
    assert.equal(child.exitCode, null, 'still running');
  });

  test('the status API, /metrics and `pktfwd status` show the CUPS server beside the LNS', async () => {
    const apiUrl = String((await waitFor(() => entries().find((e) => e.msg === 'status API listening'), 5000, 'status API', out)).url);
    const st = (await (await fetch(`${apiUrl}/api/status`)).json()) as { lns: { cups: Record<string, unknown> & { counters: Record<string, number> } }[] };
    const c = st.lns[0]!.cups;
    assert.equal(c.uri, `https://localhost:${cups.port}`);
    assert.equal(c.set, 'regular');
    assert.equal(c.lastError, null);
    assert.equal(c.counters.updates, 2);
    assert.equal(c.lastUpdate, 'tc credentials');
    const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
    assert.match(metrics, /^pktfwd_cups_updates_total\{server="\/tmp\/[^"]+"\} 2$/m);
    assert.match(metrics, /^pktfwd_cups_failures_total\{server="\/tmp\/[^"]+"\} 0$/m);
    // spawnCli always names a UDP server (port 1 here, never answering): the status exits 1 for it, its text is what matters.
    const text = await new Promise<string>((resolve) => {
      execFile(process.execPath, [CLI, 'status', '--url', apiUrl], (_err, stdout) => resolve(stdout));
    });
    assert.match(text, /^ +CUPS +https:\/\/localhost:\d+ \(regular files\): (waiting|asking|idle); last check .*; 2 updates \(last: tc credentials\)$/m);
  });
});
