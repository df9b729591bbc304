/**
 * The LNS's kept uplinks in buffer_conf.file (issue 17: "kept in the
 * store-and-forward buffer while disconnected, exactly as the UDP backend
 * does"), on the real CLI process: the muxs connection lost, uplinks kept and
 * written to `<file>.lns0` as they come, the process SIGKILLed, started again:
 * the kept uplinks go to the LNS in order, once, and the file empties.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NetworkServerStandIn } from '../src/demo/network-server.js';
import { checkLnsUplinkText } from '../src/lns/messages.js';
import { readJournalText } from '../src/uplink-journal.js';
import { AirClient, loraUplink, waitFor } from './helpers/harness.js';
import { shippedConf, spawnCli, type CliProcess } from './helpers/cli-process.js';
import { eu868RouterConfig, LnsStandIn, stationDir, tlsFile } from './helpers/lns-server.js';

/** A data-up frame with FCnt `fcnt`. */
const dataUp = (fcnt: number) => Buffer.from([0x40, 0xda, 0x1b, 0x01, 0x26, 0x00, fcnt & 0xff, fcnt >> 8, 0x01, 0xde, 0xad, 0xd4, 0xc3, 0xb2, 0xa1]).toString('base64');

test('LNS kept uplinks survive SIGKILL in buffer_conf.file (.lns0) and are delivered in order, once, after the restart', { timeout: 90_000 }, async () => {
  let refusing = false;
  const shipped = shippedConf();
  const lns = new LnsStandIn({ routerConfig: () => eu868RouterConfig(shipped.SX1301_conf!), refuseMuxs: () => (refusing ? 503 : null) });
  const ns = new NetworkServerStandIn();
  const udpPort = await ns.start();
  const port = await lns.start();
  const dir = stationDir({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt') });
  const file = join(mkdtempSync(join(tmpdir(), 'pktfwd-lnsbuf-')), 'uplinks.journal');
  const conf = shippedConf();
  conf.gateway_conf = { ...conf.gateway_conf, gateway_ID: '0016C001FF10A235', stat_interval: 3600 };
  conf.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
  conf.buffer_conf = { file };
  (conf as Record<string, unknown>).lns_conf = [{ station_dir: dir }];
  const kept = () => (existsSync(`${file}.lns0`) ? readJournalText(readFileSync(`${file}.lns0`, 'utf8'), checkLnsUplinkText).entries : []);
  let gw: CliProcess | null = null;
  let air: AirClient | null = null;
  const out = () => (gw?.entries() ?? []).slice(-20).map((e) => JSON.stringify(e)).join('\n');
  const startGateway = async () => {
    gw = spawnCli(conf, udpPort);
    const started = await waitFor(() => gw!.entries().find((e) => e.msg === 'simulated concentrator started'), 10_000, 'sim started', out);
    air = new AirClient(Number(String(started.air).split(':')[1]));
    await air.listen();
  };
  const kill = async (signal: NodeJS.Signals) => {
    const child = gw!.child;
    child.kill(signal);
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    air?.close();
    air = null;
  };
  try {
    await startGateway();
    await waitFor(() => gw!.entries().find((e) => e.msg === 'LNS connected, router_config applied'), 10_000, 'LNS connected', out);
    // The LNS goes away and refuses to come back for now.
    refusing = true;
    lns.dropGateway();
    await waitFor(() => gw!.entries().find((e) => e.msg === 'LNS connection lost; uplinks are kept until it is back'), 5000, 'connection lost', out);
    for (let f = 1; f <= 20; f++) {
      air!.send(loraUplink({ data: dataUp(f) }));
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => (kept().length === 20 ? true : undefined), 5000, '20 uplinks in the file', out);
    assert.deepEqual(kept().map((e) => JSON.parse(e.rxpk).FCnt), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(lns.messages('updf').length, 0, 'none reached the LNS');
    await kill('SIGKILL');
    assert.equal(kept().length, 20, 'the file holds them after SIGKILL');

    // Back up, and the LNS too: the 20 go first, in order, once; then the file is empty.
    refusing = false;
    await startGateway();
    const loaded = await waitFor(() => gw!.entries().find((e) => e.msg === 'buffered uplinks loaded from the last run'), 10_000, 'loaded', out);
    assert.equal(loaded.loaded, 20);
    assert.equal(loaded.file, `${file}.lns0`);
    await waitFor(() => (lns.messages('updf').length >= 20 ? true : undefined), 10_000, '20 updf', out);
    air!.send(loraUplink({ data: dataUp(21) }));
    await waitFor(() => (lns.messages('updf').length >= 21 ? true : undefined), 5000, 'a live one after them', out);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(lns.messages('updf').map((m) => m.msg.FCnt), Array.from({ length: 21 }, (_, i) => i + 1));
    await waitFor(() => (kept().length === 0 ? true : undefined), 5000, 'the file empty', out);
    await kill('SIGTERM');
    assert.equal(kept().length, 0, 'a clean stop replays nothing');
  } finally {
    if (gw) await kill('SIGKILL').catch(() => undefined);
    ns.stop();
    await lns.stop();
  }
});

test('booting while the LNS refuses: uplinks before the first router_config are kept, then sent in order with its DRs once it comes', { timeout: 60_000 }, async () => {
  let refusing = true;
  const shipped = shippedConf();
  const lns = new LnsStandIn({ routerConfig: () => eu868RouterConfig(shipped.SX1301_conf!), refuseMuxs: () => (refusing ? 503 : null) });
  const ns = new NetworkServerStandIn();
  const udpPort = await ns.start();
  const port = await lns.start();
  const conf = shippedConf();
  conf.gateway_conf = { ...conf.gateway_conf, gateway_ID: '0016C001FF10A235', stat_interval: 3600 };
  conf.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
  (conf as Record<string, unknown>).lns_conf = [{ station_dir: stationDir({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt') }) }];
  const gw = spawnCli(conf, udpPort);
  const out = () => gw.entries().slice(-20).map((e) => JSON.stringify(e)).join('\n');
  let air: AirClient | null = null;
  try {
    const started = await waitFor(() => gw.entries().find((e) => e.msg === 'simulated concentrator started'), 10_000, 'sim started', out);
    air = new AirClient(Number(String(started.air).split(':')[1]));
    await air.listen();
    await waitFor(() => gw.entries().find((e) => e.msg === 'LNS muxs failed'), 10_000, 'muxs refused', out);
    for (let f = 1; f <= 5; f++) air.send(loraUplink({ data: dataUp(f) }));
    await waitFor(() => (ns.counts.rxpk >= 5 ? true : undefined), 5000, 'the UDP server got them', out);
    assert.equal(lns.messages('updf').length, 0);
    refusing = false;
    const line = await waitFor(() => gw.entries().find((e) => e.msg === 'LNS: uplinks received before the first router_config encoded with its DRs table'), 15_000, 'early uplinks encoded', out);
    assert.deepEqual([line.uplinks, line.received], [5, 5]);
    await waitFor(() => (lns.messages('updf').length >= 5 ? true : undefined), 5000, '5 updf', out);
    assert.deepEqual(lns.messages('updf').map((m) => m.msg.FCnt), [1, 2, 3, 4, 5]);
    assert.deepEqual(lns.messages('updf').map((m) => m.msg.DR), [5, 5, 5, 5, 5], 'SF7BW125 is DR5 in the server\'s table');
  } finally {
    gw.child.kill('SIGKILL');
    air?.close();
    ns.stop();
    await lns.stop();
  }
});
