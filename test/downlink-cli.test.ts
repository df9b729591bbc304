/**
 * Issue 18 items 5 and 8 against the real CLI process (sim radio, virtual air
 * and a network-server stand-in on loopback):
 * - a PULL_RESP whose payload decodes to more than 255 bytes is a malformed
 *   request: refused at warn with its reason, counted as invalid, no TX_ACK
 *   and no error line; a 255-byte one still goes out;
 * - 32 far-future frames cannot starve a Class A answer: 24 are queued, the
 *   other 8 get COLLISION_PACKET naming the reservation, and a frame due in
 *   1 s is accepted and emitted.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { NetworkServerStandIn, type TxAckEvent } from '../src/demo/network-server.js';
import { AirClient, waitFor } from './helpers/harness.js';
import { shippedConf, spawnCli } from './helpers/cli-process.js';


const TXPK = { freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true } as const;

describe('downlinks a server may send, against the real forwarder process', () => {
  const ns = new NetworkServerStandIn();
  let child: ChildProcess;
  let air: AirClient;
  let entries: () => Record<string, unknown>[] = () => [];
  const acks: TxAckEvent[] = [];
  const ackOf = (token: number) => waitFor(() => acks.find((a) => a.token === token), 5000, `TX_ACK for token ${token}`);

  before(async () => {
    const port = await ns.start();
    ns.on('txack', (a: TxAckEvent) => acks.push(a));
    const conf = shippedConf();
    conf.gateway_conf = { ...conf.gateway_conf, keepalive_interval: 1, stat_interval: 3600 };
    conf.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
    conf.api_conf = { enable: false };
    const cli = spawnCli(conf, port);
    child = cli.child;
    entries = cli.entries;
    const started = await waitFor(() => entries().find((e) => e.msg === 'simulated concentrator started'), 10_000, 'sim started');
    air = new AirClient(Number(String(started.air).split(':')[1]));
    await waitFor(() => ns.counts.pull > 0, 10_000, 'PULL_DATA');
  });

  after(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    air?.close();
    ns.stop();
  });

  test('item 5: a 256-byte payload is refused as malformed at warn, counted, no TX_ACK; 255 bytes go out', async () => {
    const now = await air.listen();
    const tooBig = ns.sendPullResp({ ...TXPK, tmst: (now + 1_500_000) >>> 0, size: 256, data: Buffer.alloc(256, 1).toString('base64') });
    const rejected = await waitFor(() => entries().find((e) => e.msg === 'PULL_RESP rejected, no TX_ACK' && e.token === tooBig), 5000, 'rejection line');
    assert.equal(rejected.level, 40, 'warn level');
    assert.equal(rejected.reason, 'data decodes to 256 bytes; a radio frame carries at most 255');
    const ok = ns.sendPullResp({ ...TXPK, tmst: (now + 1_500_000) >>> 0, size: 255, data: Buffer.alloc(255, 2).toString('base64') });
    assert.equal((await ackOf(ok)).error, null);
    const dl = await waitFor(() => air.downlinks().find((d) => d.size === 255 || (typeof d.data === 'string' && Buffer.from(d.data, 'base64').length === 255)), 5000, '255-byte downlink on the air');
    assert.equal(dl.target_us, (now + 1_500_000) >>> 0);
    assert.equal(acks.some((a) => a.token === tooBig), false, 'no TX_ACK for the malformed request');
    child.kill('SIGUSR1');
    const report = await waitFor(() => entries().find((e) => e.msg === 'stats report'), 5000, 'stats report');
    // The report is written after whatever the requests logged: a fence for the log buffer.
    assert.equal(entries().some((e) => e.msg === 'downlink could not be scheduled' || (e.level as number) >= 50), false, 'no error line');
    const d = (report.report as { downstream: { pullRespInvalid: number; pullRespReceived: number } }).downstream;
    assert.equal(d.pullRespInvalid, 1);
    assert.equal(d.pullRespReceived, 1);
  });

  test('item 8: 32 far-future frames fill 24 slots; a Class A answer due in 1 s is still queued and emitted', async () => {
    const now = await air.listen();
    const far: number[] = [];
    // 400 s ahead (under the 512 s TOO_EARLY limit), 2 s apart so none collides with another.
    for (let i = 0; i < 32; i++) far.push(ns.sendPullResp({ ...TXPK, tmst: (now + 400_000_000 + i * 2_000_000) >>> 0, size: 3, data: 'AQID' }));
    const farAcks = await Promise.all(far.map(ackOf));
    assert.equal(farAcks.filter((a) => a.error === null).length, 24);
    assert.equal(farAcks.filter((a) => a.error === 'COLLISION_PACKET').length, 8);
    const why = await waitFor(() => entries().find((e) => e.error === 'COLLISION_PACKET' && typeof e.reason === 'string'), 5000, 'the refusal line');
    assert.match(String(why?.reason), /far-future frames already fill 24 of 32 slots; 8 are kept for frames due within 10 s/);
    const target = (now + 1_000_000 + 1_000_000) >>> 0;
    const classA = ns.sendPullResp({ ...TXPK, tmst: target, size: 4, data: 'CgsMDQ==' });
    assert.equal((await ackOf(classA)).error, null, 'the Class A answer is accepted');
    const dl = await waitFor(() => air.downlinks().find((d) => d.target_us === target), 5000, 'Class A downlink on the air');
    assert.ok((((dl.count_us as number) - target) | 0) >= 0);
  });
});
