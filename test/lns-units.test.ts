/**
 * The LNS protocol's pure parts (issue 17): xtime over the 32-bit counter
 * wrap, the credential files, message encoding and checking, router_config
 * against the radio's channels.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { XtimeClock } from '../src/lns/xtime.js';
import { readStationFiles } from '../src/lns/station-files.js';
import { decodeDnmsg, decodeDnsched, encodeUplink, id6, parseLns, stringifyLns, uplinkDr, drRadio } from '../src/lns/messages.js';
import { checkPlan, parseRouterConfig } from '../src/lns/router-config.js';
import { parseConfig } from '../src/config/index.js';
import { EU868_DRS, US915_DRS, tlsFile, us915RouterConfig } from './helpers/lns-server.js';
import { CLI, shippedConf } from './helpers/cli-process.js';
import { spawnSync } from 'node:child_process';
import type { RxPacket } from '../hal/index.js';

describe('xtime', () => {
  test('xtime across the 32-bit counter wrap: linear, session in bits 48-55, back to the counter', () => {
    const c = new XtimeClock(0x5a);
    const before = c.xtimeOf(0xffff_fff0);
    const after = c.xtimeOf(0x0000_0010);
    assert.equal(after - before, 0x20n, '32 µs later, not 2^32 earlier');
    assert.equal(after >> 48n, 0x5an);
    assert.equal(after & 0xffff_ffff_ffffn, 0x1_0000_0010n, 'the 33rd bit carries the wrap');
    const back = c.toCount(after, 1_000_000);
    assert.deepEqual(back.ok && back.countUs, (0x10 + 1_000_000) >>> 0);
    // RX1 of an uplink just before the wrap lands after it.
    const rx1 = c.toCount(before, 1_000_000);
    assert.equal(rx1.ok && rx1.countUs, (0xffff_fff0 + 1_000_000) >>> 0);
    // A second wrap keeps counting.
    c.xtimeOf(0x6000_0010);
    c.xtimeOf(0xc000_0010);
    assert.equal(c.xtimeOf(0x0000_0001) & 0xffff_ffff_ffffn, 0x2_0000_0001n);
  });

  test('a reading a little older than the last maps behind it without moving the clock back', () => {
    const c = new XtimeClock(1);
    c.xtimeOf(1_000_000);
    assert.equal(c.xtimeOf(999_000) & 0xffff_ffffn, 999_000n);
    assert.equal(c.xtimeOf(1_000_500) - c.xtimeOf(1_000_000), 500n);
  });

  test('an xtime of another session or not 63-bit is refused with its reason', () => {
    const c = new XtimeClock(7);
    const x = c.xtimeOf(5);
    const r = c.toCount(x ^ (1n << 48n));
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : '', /session 6, this radio session is 7/);
    assert.equal(c.toCount(-1n).ok, false);
    assert.equal(c.toCount(1n << 63n).ok, false);
  });

  test('xtime keeps every digit through the JSON text both ways', () => {
    const x = (0x7fn << 56n) | (0xffn << 48n) | 0xffff_ffff_ffffn;
    const text = stringifyLns({ msgtype: 'getxtime', xtime: x });
    assert.equal(text, `{"msgtype":"getxtime","xtime":${x}}`);
    const back = parseLns(text);
    assert.equal(back.ok && back.msg.xtime, x);
  });
});

describe('station files', () => {
  const dir = (files: Record<string, string>) => {
    const d = mkdtempSync(join(tmpdir(), 'pktfwd-tc-'));
    for (const [n, t] of Object.entries(files)) writeFileSync(join(d, n), t);
    return d;
  };

  test('The Things Stack layout: tc.uri, tc.trust, tc.key with the Authorization header (CRLF)', () => {
    const c = readStationFiles(dir({ 'tc.uri': 'wss://eu1.cloud.thethings.network:8887\n', 'tc.trust': tlsFile('ca.crt'), 'tc.key': 'Authorization: Bearer NNSXS.ABC.DEF\r\n' }));
    assert.equal(c.uri, 'wss://eu1.cloud.thethings.network:8887');
    assert.deepEqual(c.headers, { Authorization: 'Bearer NNSXS.ABC.DEF' });
    assert.equal(c.clientCert, null);
  });

  test('AWS IoT Core layout: tc.crt and a PEM tc.key are a client certificate', () => {
    const c = readStationFiles(dir({ 'tc.uri': 'wss://abc.lns.lorawan.us-east-1.amazonaws.com:443', 'tc.trust': tlsFile('ca.crt'), 'tc.crt': tlsFile('gateway.crt'), 'tc.key': tlsFile('gateway.key') }));
    assert.ok(c.clientCert);
    assert.deepEqual(c.headers, {});
  });

  test('each unusable file is named with what it should hold', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{}, /tc\.uri: missing/],
      [{ 'tc.uri': 'https://x:1' }, /expected a wss:\/\//],
      [{ 'tc.uri': 'wss://x:1', 'tc.trust': 'hello' }, /tc\.trust: holds no PEM certificate/],
      [{ 'tc.uri': 'wss://x:1', 'tc.key': tlsFile('gateway.key') }, /tc\.crt: missing/],
      [{ 'tc.uri': 'wss://x:1', 'tc.crt': tlsFile('gateway.crt') }, /tc\.key: missing/],
      [{ 'tc.uri': 'wss://x:1', 'tc.key': 'two words\nand more' }, /neither a PEM private key nor HTTP header lines/],
      [{ 'tc.uri': 'ws://x:1', 'tc.key': 'Authorization: Bearer x' }, /unencrypted/],
    ];
    for (const [files, re] of bad) assert.throws(() => readStationFiles(dir(files)), re, JSON.stringify(Object.keys(files)));
  });

  test('pktfwd check-config (real CLI): one line per LNS; a bad tc.trust exits 2 with one line naming the key', () => {
    const conf = shippedConf();
    conf.gateway_conf = { ...conf.gateway_conf, radio: 'sim', servers: [] };
    const good = dir({ 'tc.uri': 'wss://lns.example:8887', 'tc.trust': tlsFile('ca.crt'), 'tc.key': 'Authorization: Bearer X\r\n' });
    const confDir = dir({});
    writeFileSync(join(confDir, 'global_conf.json'), JSON.stringify({ ...conf, lns_conf: [{ station_dir: good }] }));
    const ok = spawnSync(process.execPath, [CLI, 'check-config', '--config', join(confDir, 'global_conf.json')], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, new RegExp(`^LNS wss://lns.example:8887 \\(${good}\\): token \\(Authorization header from tc.key\\); server trust tc.trust$`, 'm'));
    const bad = dir({ 'tc.uri': 'wss://lns.example:8887', 'tc.trust': 'not a certificate' });
    writeFileSync(join(confDir, 'global_conf.json'), JSON.stringify({ ...conf, lns_conf: [{ station_dir: bad }] }));
    const r = spawnSync(process.execPath, [CLI, 'check-config', '--config', join(confDir, 'global_conf.json')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /lns_conf\[0\]\.station_dir: .*tc\.trust: holds no PEM certificate/);
  });

  test('a bad lns_conf stops the config load with one line naming the key and the file', () => {
    const conf = shippedConf();
    conf.gateway_conf = { ...conf.gateway_conf, radio: 'sim' };
    (conf as Record<string, unknown>).lns_conf = [{ station_dir: dir({ 'tc.uri': 'wss://x:1', 'tc.trust': 'nope' }) }];
    assert.throws(() => parseConfig([{ name: 'g.json', json: JSON.stringify(conf) }]), (e: Error & { code?: string }) => /^g\.json: lns_conf\[0\]\.station_dir: .*tc\.trust: holds no PEM certificate/.test(e.message) && !e.message.includes('\n'));
  });
});

describe('messages', () => {
  const rx = (payload: number[], over: Partial<RxPacket> = {}): RxPacket => ({
    countUs: 1000, freqHz: 868100000, ifChain: 0, rfChain: 0, crcStatus: 'ok', rssiDbm: -80.4, snrDb: 7.25,
    radio: { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 125000, codeRate: '4/5' }, payload: Uint8Array.from(payload), ...over,
  });
  const drs = EU868_DRS.map(([sf, bw, dn]) => ({ sf: sf!, bwKhz: bw!, dnOnly: dn === 1 }));
  const t = { xtime: 1n, gpstimeUs: 0, rxtimeS: 1.5 };

  test('ID6 of router EUIs (the form /router-info carries)', () => {
    assert.equal(id6(Buffer.from('b827ebfffe610d4d', 'hex')), 'b827:ebff:fe61:d4d');
    assert.equal(id6(Buffer.from('0000000000000001', 'hex')), '::1');
    assert.equal(id6(Buffer.from('0001000000000000', 'hex')), '1::');
    assert.equal(id6(Buffer.from('0016c001ff10a235', 'hex')), '16:c001:ff10:a235');
  });

  test('updf without FPort, with FOpts; propdf; frames the protocol does not carry are refused with a reason', () => {
    const u = encodeUplink(rx([0x80, 1, 2, 3, 4, 0x02, 5, 0, 0xaa, 0xbb, 9, 9, 9, 9]), 5, t);
    assert.ok(u.ok);
    const m = JSON.parse(u.ok ? u.text : '{}');
    assert.equal(m.msgtype, 'updf');
    assert.equal(m.FOpts, 'AABB');
    assert.equal(m.FPort, -1);
    assert.equal(m.FRMPayload, '');
    assert.equal(m.DevAddr, 0x04030201);
    const p = encodeUplink(rx([0xe0, 1, 2]), 5, t);
    assert.equal(p.ok && JSON.parse(p.text).FRMPayload, 'E00102');
    assert.equal(encodeUplink(rx([0x60, 1, 2, 3, 4, 0, 0, 0, 1, 2, 3, 4]), 5, t).ok, false, 'a downlink type heard');
    assert.equal(encodeUplink(rx([0x40, 1, 2, 3, 4, 0x0f, 0, 0, 1, 2, 3, 4]), 5, t).ok, false, 'FOpts past the end');
    assert.equal(encodeUplink(rx([0x00, 1, 2]), 5, t).ok, false, 'short join request');
  });

  test('DR index: uplink entries first (US915 SF8BW500 is DR4 up, DR12 down)', () => {
    const us = US915_DRS.map(([sf, bw, dn]) => ({ sf: sf!, bwKhz: bw!, dnOnly: dn === 1 }));
    assert.equal(uplinkDr(us, { modulation: 'LORA', spreadingFactor: 8, bandwidthHz: 500000, codeRate: '4/5' }), 4);
    assert.equal(uplinkDr(drs, { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 125000, codeRate: '4/5' }), 0);
    assert.equal(uplinkDr(drs, { modulation: 'FSK', datarateBps: 50000 }), 7);
    assert.equal(uplinkDr(drs, { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 500000, codeRate: '4/5' }), -1);
    assert.deepEqual(drRadio(us, 12), { modulation: 'LORA', spreadingFactor: 8, bandwidthHz: 500000, codeRate: '4/5' });
    assert.equal(drRadio(us, 5), null);
  });

  test('dnmsg checks name the bad field', () => {
    const ok = { msgtype: 'dnmsg', diid: 1, dC: 0, pdu: 'AA', xtime: 5n, RxDelay: 1, RX1DR: 5, RX1Freq: 868100000 };
    assert.ok(decodeDnmsg(ok).ok);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...ok, diid: 'x' }, /^diid/], [{ ...ok, pdu: 'A' }, /^pdu/], [{ ...ok, pdu: '' }, /^pdu: 0 bytes/], [{ ...ok, dC: 3 }, /^dC/],
      [{ ...ok, RX1Freq: 5 }, /^RX1Freq/], [{ ...ok, xtime: undefined }, /class A dnmsg needs xtime/], [{ ...ok, RxDelay: 99 }, /^RxDelay/],
      [{ ...ok, dC: 1 }, /class B dnmsg needs gpstime/],
    ];
    for (const [m, re] of cases) {
      const r = decodeDnmsg(m);
      assert.equal(r.ok, false, JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
      assert.match(!r.ok ? r.reason : '', re);
    }
    const d = decodeDnmsg({ ...ok, RxDelay: 0 });
    assert.equal(d.ok && d.dn.rxDelayS, 1, 'RxDelay 0 means 1 s (LoRaWAN)');
  });

  test('dnsched: gpstime (µs), ontime (s) and xtime entries kept; each bad entry named by index and field', () => {
    const p = parseLns('{"msgtype":"dnsched","schedule":[{"diid":1,"DR":3,"Freq":869525000,"pdu":"0102","gpstime":1400000000123456},'
      + '{"DR":3,"Freq":869525000,"pdu":"03","ontime":1400000001,"rctx":1,"priority":9},{"DR":5,"Freq":868100000,"pdu":"04","xtime":40532396646334464},'
      + '{"DR":3,"Freq":869525000,"pdu":"05"},{"DR":3,"pdu":"05","gpstime":1},{"DR":99,"Freq":869525000,"pdu":"05","gpstime":1},{"DR":3,"Freq":869525000,"pdu":"","gpstime":1},7]}');
    assert.ok(p.ok);
    const d = decodeDnsched(p.ok ? p.msg : {});
    assert.ok(d.ok);
    if (!d.ok) return;
    assert.deepEqual(d.entries.map((e) => e.at), [{ kind: 'gpstime', us: 1400000000123456 }, { kind: 'gpstime', us: 1400000001000000 }, { kind: 'xtime', xtime: 40532396646334464n }]);
    assert.deepEqual([d.entries[0]!.diid, Buffer.from(d.entries[0]!.pdu).toString('hex'), d.entries[1]!.rctx, d.entries[1]!.priority], [1, '0102', 1, 9]);
    assert.deepEqual(d.bad.map((b) => [b.index, b.reason.split(':')[0]]), [[3, 'needs gpstime, ontime or xtime'], [4, 'Freq'], [5, 'DR'], [6, 'pdu'], [7, 'not an object']]);
    assert.equal(decodeDnsched({ msgtype: 'dnsched' }).ok, false, 'no schedule list');
  });
});

describe('router_config', () => {
  test('channels from sx1301_conf compared with the radio\'s: same, partial, none', () => {
    const us = parseRouterConfig(us915RouterConfig());
    assert.ok(us.ok);
    const rc = us.ok ? us.rc : null!;
    assert.equal(rc.channelsHz.length, 9);
    assert.equal(rc.maxEirpDbm, 30);
    assert.deepEqual(rc.freqRange, [902000000, 928000000]);
    assert.equal(checkPlan(rc, [868100000]).usable, false);
    const partial = checkPlan(rc, [902300000]);
    assert.equal(partial.usable, true, 'a single-channel radio on one of the plan\'s channels');
    assert.equal(partial.notHeardHz.length, 8);
    assert.deepEqual(checkPlan(rc, rc.channelsHz), { usable: true, notHeardHz: [], extraHz: [] });
  });

  test('a router_config without a usable DRs table is refused with the field', () => {
    const r = parseRouterConfig({ msgtype: 'router_config', DRs: [[7]] });
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : '', /^DRs\[0\]/);
    assert.equal(parseRouterConfig({ DRs: [[7, 125, 0]], freq_range: [2, 1] }).ok, false);
  });
});
