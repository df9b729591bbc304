/**
 * The LoRa Basics Station LNS backend (issue 17) against the real CLI
 * process: sim radio, a Semtech UDP server and an LNS stand-in over TLS
 * (test CA) on loopback at the same time. Discovery, version,
 * router_config, updf/jreq with xtime, dnmsg RX1/RX2/class C answered by
 * dntxed at the emission the simulated air reports, refusals, and a muxs
 * connection lost and won back with the uplinks kept meanwhile.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { NetworkServerStandIn, type PushEvent } from '../src/demo/network-server.js';
import { AirClient, loraUplink, waitFor } from './helpers/harness.js';
import { CLI, shippedConf, spawnCli } from './helpers/cli-process.js';
import { execFile } from 'node:child_process';
import { eu868RouterConfig, LnsStandIn, stationDir, tlsFile, us915RouterConfig } from './helpers/lns-server.js';

const TOKEN = 'Bearer NNSXS.TESTKEY';

/** An unconfirmed data-up frame: DevAddr 26011BDA, FCnt `fcnt`, FPort 1, 4 payload bytes, MIC 0xA1B2C3D4 (wire order D4 C3 B2 A1). */
function dataUp(fcnt: number): Buffer {
  return Buffer.from([0x40, 0xda, 0x1b, 0x01, 0x26, 0x00, fcnt & 0xff, fcnt >> 8, 0x01, 0xde, 0xad, 0xbe, 0xef, 0xd4, 0xc3, 0xb2, 0xa1]);
}

/** A join request: JoinEUI 70B3D57ED0000001, DevEUI 0004A30B001C0530, DevNonce 0x1234, MIC 0x01020304. */
const JOIN = Buffer.concat([
  Buffer.from([0x00]), Buffer.from('70B3D57ED0000001', 'hex').reverse(), Buffer.from('0004A30B001C0530', 'hex').reverse(),
  Buffer.from([0x34, 0x12]), Buffer.from([0x04, 0x03, 0x02, 0x01]),
]);

describe('LNS backend beside Semtech UDP, real forwarder process (issue 17)', () => {
  const ns = new NetworkServerStandIn();
  const shipped = shippedConf();
  const lns = new LnsStandIn({ token: TOKEN, routerConfig: () => eu868RouterConfig(shipped.SX1301_conf!) });
  const pushes: PushEvent[] = [];
  let child: ChildProcess;
  let air: AirClient;
  let entries: () => Record<string, unknown>[] = () => [];
  const out = () => entries().slice(-25).map((e) => JSON.stringify(e)).join('\n');

  before(async () => {
    const udpPort = await ns.start();
    ns.on('push', (p: PushEvent) => pushes.push(p));
    const port = await lns.start();
    const dir = stationDir({ 'tc.uri': `wss://localhost:${port}\n`, 'tc.trust': tlsFile('ca.crt'), 'tc.key': `Authorization: ${TOKEN}\r\n` });
    const conf = shippedConf();
    conf.gateway_conf = { ...conf.gateway_conf, gateway_ID: '0016C001FF10A235', stat_interval: 3600 };
    conf.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
    conf.api_conf = { enable: true, port: 0 };
    (conf as Record<string, unknown>).lns_conf = [{ station_dir: dir }];
    const cli = spawnCli(conf, udpPort);
    child = cli.child;
    entries = cli.entries;
    const started = await waitFor(() => entries().find((e) => e.msg === 'simulated concentrator started'), 10_000, 'sim started', out);
    air = new AirClient(Number(String(started.air).split(':')[1]));
    await air.listen();
    await waitFor(() => entries().find((e) => e.msg === 'LNS connected, router_config applied'), 10_000, 'LNS connected', out);
    apiUrl = String((await waitFor(() => entries().find((e) => e.msg === 'status API listening'), 10_000, 'status API', out)).url);
  });
  let apiUrl = '';

  after(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    air?.close();
    ns.stop();
    await lns.stop();
  });

  test('discovery names the router in ID6, then version on the muxs URI the answer gave', () => {
    const disc = lns.received.find((r) => r.path === '/router-info');
    assert.deepEqual(disc?.msg, { router: '16:c001:ff10:a235' });
    const version = lns.messages('version')[0]!;
    assert.equal(version.path, '/traffic/16-c001-ff10-a235');
    assert.equal(version.msg.protocol, 2);
    assert.match(String(version.msg.station), /^pktfwd /);
  });

  let updf: Record<string, unknown>;
  let updfXtime: bigint;

  test('a data uplink goes to both servers: updf with the LoRaWAN fields, DR index, and xtime on the radio counter', async () => {
    air.send(loraUplink({ data: dataUp(12).toString('base64'), rssi: -57, lsnr: 9.5 }));
    const got = await waitFor(() => lns.messages('updf')[0], 5000, 'updf', out);
    const push = await waitFor(() => pushes.find((p) => p.rxpk.length > 0), 5000, 'PUSH_DATA');
    updf = got.msg;
    assert.equal(updf.MHdr, 0x40);
    assert.equal(updf.DevAddr, 0x26011bda);
    assert.equal(updf.FCnt, 12);
    assert.equal(updf.FPort, 1);
    assert.equal(updf.FOpts, '');
    assert.equal(updf.FRMPayload, 'DEADBEEF');
    assert.equal(updf.MIC, 0xa1b2c3d4 | 0, 'MIC: the little-endian word as a signed int32');
    assert.equal(updf.DR, 5, 'SF7BW125 is EU868 DR5');
    assert.equal(updf.Freq, 868100000);
    const up = updf.upinfo as Record<string, unknown>;
    updfXtime = BigInt(up.xtime as string);
    assert.equal(Number(updfXtime & 0xffffffffn), push.rxpk[0]!.tmst, 'xtime low 32 bits = the rxpk tmst of the same frame');
    const session = Number((updfXtime >> 48n) & 0xffn);
    assert.ok(session >= 1 && session <= 255, `session id ${session}`);
    assert.equal(up.rssi, -57);
    assert.equal(up.snr, 9.5);
    assert.match(got.text, /"xtime":\d+,/, 'xtime written as a JSON integer, every digit');
  });

  test('a join request goes as jreq with the EUIs most significant byte first', async () => {
    air.send(loraUplink({ data: JOIN.toString('base64'), datr: 'SF10BW125', freq: 868.3 }));
    const j = (await waitFor(() => lns.messages('jreq')[0], 5000, 'jreq', out)).msg;
    assert.equal(j.JoinEui, '70-B3-D5-7E-D0-00-00-01');
    assert.equal(j.DevEui, '00-04-A3-0B-00-1C-05-30');
    assert.equal(j.DevNonce, 0x1234);
    assert.equal(j.MIC, 0x01020304);
    assert.equal(j.DR, 2);
    assert.equal(j.Freq, 868300000);
  });

  const dnmsg = (o: Record<string, unknown>, xtime: bigint | null) => {
    const { xtime: _x, ...rest } = o;
    const body = JSON.stringify({ msgtype: 'dnmsg', DevEui: '00-04-A3-0B-00-1C-05-30', dC: 0, pdu: '60DA1B0126000100A1B2C3D4', priority: 0, rctx: 0, ...rest });
    return xtime === null ? body : body.replace(/}$/, `,"xtime":${xtime}}`);
  };

  test('dnmsg class A goes out in RX1 (xtime + RxDelay) and dntxed carries the xtime of the emission the air reports', async () => {
    const before = air.downlinks().length;
    lns.sendText(dnmsg({ diid: 7, RxDelay: 1, RX1DR: 5, RX1Freq: 868100000, RX2DR: 0, RX2Freq: 869525000 }, updfXtime));
    const tx = (await waitFor(() => lns.messages('dntxed').find((m) => m.msg.diid === 7), 5000, 'dntxed 7', out)).msg;
    const dl = await waitFor(() => air.downlinks().slice(before).find((d) => d.target_us !== undefined), 5000, 'RX1 emission on the air');
    const target = Number((updfXtime + 1_000_000n) & 0xffffffffn);
    assert.equal(dl.target_us, target, 'emitted for the RX1 instant');
    assert.equal(dl.freq, 868.1);
    assert.equal(dl.ipol, true);
    const txXtime = BigInt(tx.xtime as string);
    assert.equal(Number(txXtime & 0xffffffffn), dl.count_us, 'dntxed xtime = the counter the emission started at');
    assert.equal(txXtime >> 48n, updfXtime >> 48n, 'same session');
    assert.equal(tx.DevEui, '00-04-A3-0B-00-1C-05-30');
    assert.deepEqual([tx.DR, tx.Freq, tx.seqno], [5, 868100000, 7], 'the window used');
  });

  test('RX1 already passed: the same dnmsg goes out in RX2 (one second later, RX2 settings)', async () => {
    const before = air.downlinks().length;
    const now = BigInt(await air.listen());
    // An uplink 1.5 s ago: RX1 was 0.5 s ago, RX2 is 0.5 s ahead. Same session as updf (its high bits).
    const xt = (updfXtime & ~0xffffffffffffn) | ((updfXtime & 0xffff00000000n) + now - 1_500_000n);
    lns.sendText(dnmsg({ diid: 8, RxDelay: 1, RX1DR: 5, RX1Freq: 868100000, RX2DR: 3, RX2Freq: 869525000 }, xt));
    await waitFor(() => lns.messages('dntxed').find((m) => m.msg.diid === 8), 5000, 'dntxed 8', out);
    const dl = await waitFor(() => air.downlinks().slice(before).find((d) => d.freq === 869.525), 5000, 'RX2 emission on the air');
    assert.equal(dl.target_us, Number((xt + 2_000_000n) & 0xffffffffn));
    assert.equal(dl.datr, 'SF9BW125');
    const tx = (await waitFor(() => lns.messages('dntxed').find((m) => m.msg.diid === 8), 100, 'dntxed 8')).msg;
    assert.deepEqual([tx.DR, tx.Freq], [3, 869525000], 'dntxed names RX2');
  });

  test('class C without xtime goes out at once on RX2', async () => {
    const before = air.downlinks().length;
    lns.sendText(dnmsg({ diid: 9, dC: 2, RX2DR: 3, RX2Freq: 869525000 }, null));
    await waitFor(() => lns.messages('dntxed').find((m) => m.msg.diid === 9), 5000, 'dntxed 9', out);
    await waitFor(() => air.downlinks().slice(before).some((d) => d.freq === 869.525 && d.imme === true), 5000, 'immediate emission on the air');
  });

  test('dnsched: each entry goes out at its xtime on its DR and Freq, a bad entry is refused by index, and no dntxed follows', async () => {
    const before = air.downlinks().length;
    const dntxedBefore = lns.messages('dntxed').length;
    const now = BigInt(await air.listen());
    const session = updfXtime & ~0xffffffffffffn;
    const at = (ms: number) => session | ((updfXtime & 0xffff00000000n) + now + BigInt(ms * 1000));
    const x1 = at(400), x2 = at(700);
    // Written by hand: xtime as a bare 63-bit integer, as a server writes it.
    lns.sendText(`{"msgtype":"dnsched","schedule":[{"diid":21,"DR":5,"Freq":869525000,"pdu":"A1B2","xtime":${x1}},{"diid":22,"DR":3,"Freq":868300000,"pdu":"C3","xtime":${x2},"priority":1},{"diid":23,"DR":5,"pdu":"00","xtime":${x2}}]}`);
    const refused = await waitFor(() => entries().find((e) => e.msg === 'dnsched entry refused'), 5000, 'entry 2 refused', out);
    assert.equal(refused.entry, 2);
    assert.match(String(refused.reason), /Freq/);
    const sent = await waitFor(() => { const d = air.downlinks().slice(before); return d.length >= 2 ? d : undefined; }, 5000, 'two dnsched emissions', out);
    assert.deepEqual(sent.map((d) => [d.target_us, d.freq, d.datr, d.size]), [
      [Number(x1 & 0xffffffffn), 869.525, 'SF7BW125', 2],
      [Number(x2 & 0xffffffffn), 868.3, 'SF9BW125', 1],
    ]);
    assert.ok(sent.every((d) => d.ipol === true), 'inverted I/Q (a downlink)');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lns.messages('dntxed').length, dntxedBefore, 'no dntxed for dnsched frames');
  });

  test('router_config\'s nocca/nodc/nodwell are ignored with one line saying what stays', () => {
    const line = entries().find((e) => typeof e.msg === 'string' && e.msg.startsWith('router_config\'s development settings ignored'));
    assert.ok(line, out());
    assert.deepEqual(line.flags, ['nodc', 'nocca', 'nodwell']);
    assert.match(String(line.msg), /duty cycles stay enforced/);
  });

  test('a dnmsg with an xtime of another session is refused with its reason, nothing emitted, no dntxed', async () => {
    const other = updfXtime ^ (1n << 48n);
    const before = air.downlinks().length;
    lns.sendText(dnmsg({ diid: 10, RxDelay: 1, RX1DR: 5, RX1Freq: 868100000 }, other));
    const line = await waitFor(() => entries().find((e) => e.msg === 'dnmsg not scheduled (no dntxed will be sent)' && e.diid === 10), 5000, 'refusal line', out);
    assert.match(String((line.reasons as string[])[0]), /session/);
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(air.downlinks().length, before);
    assert.equal(lns.messages('dntxed').filter((m) => m.msg.diid === 10).length, 0);
  });

  test('malformed server messages are logged and ignored; the process carries on', async () => {
    lns.sendText('{not json');
    lns.sendText(JSON.stringify({ msgtype: 'dnmsg', diid: 'x' }));
    lns.sendText(JSON.stringify({ msgtype: 'runcmd', command: 'reboot' }));
    await waitFor(() => entries().find((e) => e.msg === 'LNS remote command refused: remote commands are disabled on this gateway'), 5000, 'runcmd refused', out);
    assert.ok(entries().some((e) => e.msg === 'LNS message ignored'));
    assert.ok(entries().some((e) => e.msg === 'dnmsg refused' && /diid/.test(String(e.reason))));
    assert.equal(child.exitCode, null);
  });

  test('the status API, /metrics and `pktfwd status` show the LNS connection beside the UDP server', async () => {
    const st = (await (await fetch(`${apiUrl}/api/status`)).json()) as { lns: Record<string, unknown>[]; servers: unknown[] };
    assert.equal(st.servers.length, 1);
    const l = st.lns[0]!;
    assert.equal(l.state, 'connected');
    assert.equal(l.router, '16:c001:ff10:a235');
    assert.equal(l.muxs, '::0');
    assert.equal(l.auth, 'token');
    assert.equal(l.region, 'EU863');
    assert.ok(((l.counters as Record<string, number>).dntxedSent ?? 0) >= 3);
    const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
    assert.match(metrics, /^pktfwd_lns_connected\{server="wss:\/\/localhost:\d+"\} 1$/m);
    assert.match(metrics, /^pktfwd_lns_dntxed_sent_total\{server="wss:\/\/localhost:\d+"\} [3-9]$/m);
    const text = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [CLI, 'status', '--url', apiUrl], (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    assert.match(text, /^LNS +wss:\/\/localhost:\d+ router 16:c001:ff10:a235, muxs ::0: connected .*; auth token; plan EU863$/m);
    assert.match(text, /^ +traffic +last message .* s ago, timesync RTT [\d.]+ ms; uplinks \d+ sent, 0 kept; dnmsg \d+, dntxed \d+$/m);
  });

  test('the muxs connection lost: uplinks meanwhile are kept and delivered, in order, once it is back', async () => {
    const seen = lns.messages('updf').length;
    lns.dropGateway();
    await waitFor(() => entries().find((e) => e.msg === 'LNS connection lost; uplinks are kept until it is back'), 5000, 'lost line', out);
    air.send(loraUplink({ data: dataUp(20).toString('base64') }));
    air.send(loraUplink({ data: dataUp(21).toString('base64') }));
    const kept = await waitFor(() => {
      const k = entries().filter((e) => e.msg === 'uplink' && e.fcnt !== undefined && (e.fcnt as number) >= 20);
      return k.length >= 2 ? k : null;
    }, 5000, 'uplink lines', out);
    // Said per server: forwarded to the UDP server, kept for the LNS (unless it came back first).
    for (const k of kept) assert.ok(k.outcomes === undefined || Object.values(k.outcomes as Record<string, string>).includes('buffered'), JSON.stringify(k));
    const back = await waitFor(() => (lns.messages('updf').length >= seen + 2 ? lns.messages('updf').slice(seen) : null), 10_000, 'kept uplinks delivered', out);
    assert.deepEqual(back.map((m) => m.msg.FCnt), [20, 21]);
  });
});

describe('LNS authentication and trust, real forwarder process (issue 17)', () => {
  const shipped = shippedConf();
  const ns = new NetworkServerStandIn();

  async function runWith(lns: LnsStandIn, files: (port: number) => Record<string, string>, until: (e: Record<string, unknown>[]) => boolean, what: string) {
    const udpPort = await ns.start();
    const port = await lns.start();
    const conf = shippedConf();
    conf.gateway_conf = { ...conf.gateway_conf, gateway_ID: '0016C001FF10A235', stat_interval: 3600 };
    conf.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
    conf.api_conf = { enable: false };
    (conf as Record<string, unknown>).lns_conf = [{ station_dir: stationDir(files(port)) }];
    const cli = spawnCli(conf, udpPort);
    try {
      await waitFor(() => until(cli.entries()), 15_000, what, () => cli.entries().slice(-10).map((e) => JSON.stringify(e)).join('\n'));
      assert.equal(cli.child.exitCode, null, 'still running');
      return cli.entries();
    } finally {
      cli.child.kill('SIGTERM');
      await new Promise((r) => cli.child.once('exit', r));
      await lns.stop();
      ns.stop();
    }
  }
  const failures = (e: Record<string, unknown>[]) => e.filter((x) => x.msg === 'LNS discovery failed');

  test('a wrong token: HTTP 401 named with the hint, retried with back-off, no crash', async () => {
    const lns = new LnsStandIn({ token: TOKEN, routerConfig: () => eu868RouterConfig(shipped.SX1301_conf!) });
    const e = await runWith(lns, (port) => ({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt'), 'tc.key': 'Authorization: Bearer WRONG\n' }), (x) => failures(x).length >= 2, 'two failures');
    const f = failures(e);
    assert.match(String(f[0]!.reason), /HTTP 401.*tc\.key/);
    assert.deepEqual([f[0]!.retryInS, f[1]!.retryInS], [1, 2]);
    assert.equal(lns.refused[0]!.why, 'Authorization Bearer WRONG');
  });

  test('a server certificate from a CA tc.trust does not hold: refused as untrusted, retried', async () => {
    const lns = new LnsStandIn({ routerConfig: () => eu868RouterConfig(shipped.SX1301_conf!) });
    const e = await runWith(lns, (port) => ({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('rogue-ca.crt'), 'tc.key': `Authorization: ${TOKEN}\n` }), (x) => failures(x).length >= 1, 'failure');
    assert.match(String(failures(e)[0]!.reason), /server certificate not trusted.*tc\.trust/);
    assert.equal(lns.received.length, 0, 'nothing sent to an untrusted server');
  });

  test('client certificate (tc.crt/tc.key, as AWS IoT Core): connects; one from another CA is refused with a clear reason', async () => {
    const good = new LnsStandIn({ clientCerts: true, routerConfig: () => eu868RouterConfig(shipped.SX1301_conf!) });
    await runWith(good, (port) => ({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt'), 'tc.crt': tlsFile('gateway.crt'), 'tc.key': tlsFile('gateway.key') }),
      (x) => x.some((y) => y.msg === 'LNS connected, router_config applied'), 'connected');
    const bad = new LnsStandIn({ clientCerts: true, routerConfig: () => eu868RouterConfig(shipped.SX1301_conf!) });
    const e = await runWith(bad, (port) => ({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt'), 'tc.crt': tlsFile('rogue-gateway.crt'), 'tc.key': tlsFile('rogue-gateway.key') }),
      (x) => failures(x).length >= 1, 'failure');
    assert.match(String(failures(e)[0]!.reason), /client certificate|socket hang up|ECONNRESET/);
  });

  test('a US915 router_config on an EU868 radio is refused with a line naming both plans', async () => {
    const lns = new LnsStandIn({ routerConfig: us915RouterConfig });
    const e = await runWith(lns, (port) => ({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt') }),
      (x) => x.some((y) => typeof y.msg === 'string' && y.msg.startsWith('router_config refused')), 'refusal');
    const line = e.find((y) => typeof y.msg === 'string' && y.msg.startsWith('router_config refused'))!;
    assert.equal(line.level, 50);
    assert.ok((line.planHz as number[]).includes(902300000));
    assert.ok((line.radioHz as number[]).includes(868100000));
  });
});
