/**
 * The logs a gateway owner reads: the LoRaWAN header parser on good frames
 * and on garbage, one line per uplink and per downlink outcome (JSON fields
 * and the pretty line), and the stats report as a short block in pretty
 * mode, one entry in JSON mode. A real forwarder on the simulated radio
 * writes them; the logger is the one the CLI makes.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { decodeLorawanHeader, describeLorawan } from '../src/monitor/lorawan.js';
import { createLogger, type LogFormat } from '../src/log.js';
import { formatMHz, uplinkFields, uplinkLine } from '../src/packet-log.js';
import type { Concentrator } from '../hal/index.js';
import { NetworkServerStandIn } from '../src/demo/network-server.js';
import { Forwarder } from '../src/forwarder.js';
import { loraUplink, startHarness, testConfig, waitFor, type Harness } from './helpers/harness.js';
import { emulatedSx1301 } from './helpers/sx1301-emulated.js';

/** MHDR 0x40 (UnconfirmedDataUp), DevAddr 26011BDA (LSB first on air), FCtrl 0x80, FCnt 12, FPort 1, payload, MIC. */
const DATA_UP = Buffer.from([0x40, 0xda, 0x1b, 0x01, 0x26, 0x80, 12, 0, 0x01, 0xaa, 0xbb, 1, 2, 3, 4]);
/** A join-request: MHDR 0x00, JoinEUI 70B3D57ED0000001 and DevEUI 0004A30B001C0530, both LSB first, DevNonce, MIC. */
const JOIN = Buffer.concat([
  Buffer.from([0x00]), Buffer.from('70B3D57ED0000001', 'hex').reverse(), Buffer.from('0004A30B001C0530', 'hex').reverse(),
  Buffer.from([0x34, 0x12, 1, 2, 3, 4]),
]);

/** A logger as the CLI makes it, writing into memory. */
function capture(format: LogFormat) {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { log: createLogger({ format, level: 'info', destination }), text: () => text };
}

/** A pretty line without its time and level prefix: "[12:34:56.789] INFO: " */
const body = (line: string) => line.replace(/^\[\d\d:\d\d:\d\d\.\d\d\d\] [A-Z]+: /, '');

describe('LoRaWAN header', () => {
  test('data, join and rejoin frames: fields shown most significant byte first, as network servers show them', () => {
    assert.deepEqual(decodeLorawanHeader(DATA_UP), { mtype: 'UnconfirmedDataUp', devAddr: '26011BDA', fcnt: 12, adr: true, foptsLen: 0, fport: 1 });
    assert.deepEqual(decodeLorawanHeader(JOIN), { mtype: 'JoinRequest', joinEui: '70B3D57ED0000001', devEui: '0004A30B001C0530' });
    const down = Buffer.from([0xa0, 0x78, 0x56, 0x34, 0x12, 0x20, 0x03, 0x01, 0xde, 0xad, 0xbe, 0xef]);
    assert.deepEqual(decodeLorawanHeader(down), { mtype: 'ConfirmedDataDown', devAddr: '12345678', fcnt: 259, adr: false, foptsLen: 0 });
    const rejoin0 = Buffer.concat([Buffer.from([0xc0, 0x00, 0x13, 0x00, 0x00]), Buffer.from('0004A30B001C0530', 'hex').reverse(), Buffer.from([0, 0, 1, 2, 3, 4])]);
    assert.deepEqual(decodeLorawanHeader(rejoin0), { mtype: 'RejoinRequest', rejoinType: 0, devEui: '0004A30B001C0530' });
    const rejoin1 = Buffer.concat([Buffer.from([0xc0, 0x01]), JOIN.subarray(1, 17), Buffer.from([0, 0, 1, 2, 3, 4])]);
    assert.deepEqual(decodeLorawanHeader(rejoin1), { mtype: 'RejoinRequest', rejoinType: 1, joinEui: '70B3D57ED0000001', devEui: '0004A30B001C0530' });
    assert.equal(describeLorawan(decodeLorawanHeader(DATA_UP)), 'UnconfirmedDataUp DevAddr 26011BDA FCnt 12');
    assert.equal(describeLorawan(decodeLorawanHeader(JOIN)), 'JoinRequest JoinEUI 70B3D57ED0000001 DevEUI 0004A30B001C0530');
  });

  test('too short and garbage frames: a partial header or null, never an exception', () => {
    assert.equal(decodeLorawanHeader(Buffer.alloc(0)), null);
    assert.equal(decodeLorawanHeader(Buffer.from([0x41])), null, 'Major 1 does not exist');
    assert.deepEqual(decodeLorawanHeader(Buffer.from([0x40, 0xda, 0x1b])), { mtype: 'UnconfirmedDataUp' });
    assert.deepEqual(decodeLorawanHeader(JOIN.subarray(0, 22)), { mtype: 'JoinRequest' });
    // FOptsLen 15 in a 12-byte frame: no FPort read past the end.
    assert.deepEqual(decodeLorawanHeader(Buffer.from([0x40, 1, 2, 3, 4, 0x0f, 0, 0, 9, 9, 9, 9])), { mtype: 'UnconfirmedDataUp', devAddr: '04030201', fcnt: 0, adr: false, foptsLen: 15 });
    assert.equal(describeLorawan(null), 'not LoRaWAN');
    // Every MHDR with every length up to 40, and 20 000 random frames (seeded).
    let seed = 20260101;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const frames: Buffer[] = [];
    for (let mhdr = 0; mhdr < 256; mhdr++) for (let len = 1; len <= 40; len++) frames.push(Buffer.from([mhdr, ...Array.from({ length: len - 1 }, () => Math.floor(rand() * 256))]));
    for (let i = 0; i < 20_000; i++) frames.push(Buffer.from(Array.from({ length: Math.floor(rand() * 70) }, () => Math.floor(rand() * 256))));
    for (const f of frames) {
      const h = decodeLorawanHeader(f);
      if (h === null) continue;
      for (const k of ['devAddr', 'joinEui', 'devEui'] as const) if (h[k] !== undefined) assert.match(h[k], k === 'devAddr' ? /^[0-9A-F]{8}$/ : /^[0-9A-F]{16}$/);
      if (h.fcnt !== undefined) assert.ok(Number.isInteger(h.fcnt) && h.fcnt >= 0 && h.fcnt < 65536);
      assert.equal(typeof describeLorawan(h), 'string');
    }
  });

  test('several servers: each one\'s outcome when they differ, one outcome when they agree', () => {
    const p = { countUs: 1, freqHz: 868_300_000, ifChain: 1, rfChain: 0, crcStatus: 'ok' as const, rssiDbm: -101.04, snrDb: -7.26, payload: DATA_UP,
      radio: { modulation: 'LORA' as const, spreadingFactor: 10 as const, bandwidthHz: 125_000 as const, codeRate: '4/5' as const } };
    const differ = uplinkFields(p, [{ server: 'a:1700', outcome: 'forwarded' }, { server: 'b:1700', outcome: 'buffered' }]);
    assert.deepEqual([differ.outcome, differ.outcomes, differ.rssi, differ.snr], ['forwarded', { 'a:1700': 'forwarded', 'b:1700': 'buffered' }, -101, -7.3]);
    assert.equal(uplinkLine({ ...differ, msg: 'uplink' }),
      'uplink 868.300 MHz SF10BW125 RSSI -101 SNR -7.3 15 B CRC ok UnconfirmedDataUp DevAddr 26011BDA FCnt 12 → a:1700 forwarded, b:1700 buffered (server not acknowledging)');
    const agree = uplinkFields(p, [{ server: 'a:1700', outcome: 'forwarded' }, { server: 'b:1700', outcome: 'forwarded' }]);
    assert.equal(agree.outcomes, undefined);
    assert.match(uplinkLine(agree), /→ forwarded$/);
  });

  test('frequencies: kHz precision on the grid, Hz off it', () => {
    assert.equal(formatMHz(868_100_000), '868.100 MHz');
    assert.equal(formatMHz(869_525_000), '869.525 MHz');
    assert.equal(formatMHz(864_123_456), '864.123456 MHz');
  });
});

describe('per-packet log lines from a running forwarder', () => {
  let h: Harness;
  let pretty: ReturnType<typeof capture>;
  let json: ReturnType<typeof capture>;
  before(async () => {
    pretty = capture('pretty');
    json = capture('json');
    // One forwarder, its entries written to both loggers: the same entries in both formats.
    const both = createLogger({ format: 'json', level: 'info', destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        const entry = JSON.parse(chunk.toString()) as { level: number; msg: string } & Record<string, unknown>;
        const { level, time: _t, msg, ...fields } = entry;
        for (const l of [pretty.log, json.log]) l[level >= 50 ? 'error' : level >= 40 ? 'warn' : 'info'](fields, msg);
        cb();
      },
    }) });
    h = await startHarness({ log: both, gateway: { stat_interval: 3600 } });
  });
  after(async () => {
    await h.stop();
  });

  test('an uplink: one info line with its radio figures, LoRaWAN header and outcome', async () => {
    h.air.send(loraUplink({ rssi: -57.26, lsnr: 9.5, data: DATA_UP.toString('base64') }));
    await waitFor(() => pretty.text().includes('uplink 868.100'), 3000, 'the uplink line');
    const line = pretty.text().split('\n').find((l) => l.includes('uplink 868.100'))!;
    assert.match(line, /^\[\d\d:\d\d:\d\d\.\d\d\d\] INFO: /);
    assert.equal(body(line), 'uplink 868.100 MHz SF7BW125 RSSI -57.3 SNR 9.5 15 B CRC ok UnconfirmedDataUp DevAddr 26011BDA FCnt 12 → forwarded');
    const entry = json.text().split('\n').map((l) => (l ? (JSON.parse(l) as Record<string, unknown>) : {})).find((e) => e.msg === 'uplink')!;
    assert.equal(entry.level, 30);
    assert.deepEqual(
      { freqHz: entry.freqHz, datr: entry.datr, rssi: entry.rssi, snr: entry.snr, size: entry.size, crc: entry.crc, mtype: entry.mtype, devAddr: entry.devAddr, fcnt: entry.fcnt, outcome: entry.outcome },
      { freqHz: 868_100_000, datr: 'SF7BW125', rssi: -57.3, snr: 9.5, size: 15, crc: 'ok', mtype: 'UnconfirmedDataUp', devAddr: '26011BDA', fcnt: 12, outcome: 'forwarded' },
    );
  });

  test('a join-request, a CRC-bad frame (dropped by forward_crc_error) and garbage, each one line in order', async () => {
    const mark = pretty.text().length;
    h.air.send(loraUplink({ data: JOIN.toString('base64') }));
    await waitFor(() => pretty.text().slice(mark).includes('JoinRequest'), 3000, 'the join line');
    h.air.send(loraUplink({ crc: 'bad', data: DATA_UP.toString('base64') }));
    await waitFor(() => pretty.text().slice(mark).includes('CRC bad'), 3000, 'the CRC-bad line');
    h.air.send(loraUplink({ data: Buffer.from([0x43, 0xff]).toString('base64') }));
    await waitFor(() => pretty.text().slice(mark).includes('not LoRaWAN'), 3000, 'the garbage line');
    const lines = pretty.text().slice(mark).trim().split('\n').map(body);
    assert.deepEqual(lines, [
      'uplink 868.100 MHz SF7BW125 RSSI -60 SNR 9.5 23 B CRC ok JoinRequest JoinEUI 70B3D57ED0000001 DevEUI 0004A30B001C0530 → forwarded',
      'uplink 868.100 MHz SF7BW125 RSSI -60 SNR 9.5 15 B CRC bad → dropped (CRC bad: forward_crc_error is false)',
      'uplink 868.100 MHz SF7BW125 RSSI -60 SNR 9.5 2 B CRC ok not LoRaWAN → forwarded',
    ]);
  });

  test('downlinks: sent with the start error the sim measured; rejected with the TX_ACK error and why', async () => {
    const mark = pretty.text().length;
    const count = await h.air.listen();
    const frame = Buffer.from([0x60, 0xda, 0x1b, 0x01, 0x26, 0x00, 5, 0, 1, 2, 3, 4]);
    h.ns.sendPullResp({ tmst: (count + 300_000) >>> 0, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: frame.length, data: frame.toString('base64') });
    await waitFor(() => h.air.downlinks().length === 1, 3000, 'the emission');
    await waitFor(() => pretty.text().slice(mark).includes('→ sent'), 3000, 'the sent line');
    const emitted = h.air.downlinks()[0]!;
    const startErrorUs = ((emitted.count_us as number) - (emitted.target_us as number)) | 0;
    const sent = pretty.text().slice(mark).split('\n').find((l) => l.includes('→ sent'))!;
    assert.equal(body(sent), `downlink 869.525 MHz SF9BW125 14 dBm 12 B class A UnconfirmedDataDown DevAddr 26011BDA FCnt 5 → sent, start ${startErrorUs >= 0 ? '+' : ''}${startErrorUs} µs`);

    h.ns.sendPullResp({ tmst: (count + 100) >>> 0, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: frame.length, data: frame.toString('base64') });
    await waitFor(() => pretty.text().slice(mark).includes('rejected'), 3000, 'the rejected line');
    const rejected = pretty.text().slice(mark).split('\n').find((l) => l.includes('rejected'))!;
    assert.match(rejected, /^\[[\d:.]+\] WARN: downlink 869\.525 MHz SF9BW125 14 dBm 12 B class A UnconfirmedDataDown DevAddr 26011BDA FCnt 5 → rejected, TX_ACK TOO_LATE: .+$/);
    const entries = json.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const s = entries.find((e) => e.msg === 'downlink sent')!;
    assert.equal(s.startErrorUs, startErrorUs);
    assert.equal(s.devAddr, '26011BDA');
    const r = entries.find((e) => e.msg === 'downlink rejected')!;
    assert.equal(r.level, 40);
    assert.equal(r.error, 'TOO_LATE');
    assert.equal(typeof r.reason, 'string');
    assert.ok(!entries.some((e) => e.msg === 'downlink scheduled'), 'the queueing is a debug line, not a second info line');
  });

  test('the stats report: a short block in pretty mode, one structured entry in JSON mode', async () => {
    const mark = pretty.text().length;
    const jmark = json.text().length;
    h.fwd.report();
    await waitFor(() => pretty.text().slice(mark).includes('##### END #####'), 2000, 'the block');
    const block = pretty.text().slice(mark).trimEnd().split('\n');
    assert.ok(block.length >= 6 && block.length <= 10, `${block.length} lines:\n${block.join('\n')}`);
    assert.match(block[0]!, /^\[[\d:.]+\] INFO: ##### stats report, last \d+ s #####$/);
    assert.equal(block.at(-1), '##### END #####');
    const rows = block.slice(1, -1);
    assert.deepEqual(rows.map((l) => /^ {4}(\S+(?: \S+)?)\s{2,}/.exec(l)?.[1]), ['RF packets', 'PUSH_DATA', 'PULL_DATA', 'downlinks', 'GPS']);
    assert.match(rows[0]!, /RF packets {2}4 received \(CRC ok 3, bad 1, none 0\); 3 forwarded \(\d+ B\), 1 filtered, 0 lost$/);
    assert.match(rows[1]!, /PUSH_DATA {3}\d+ sent \(\d+ B\), 100 % acknowledged; uplink latency p50 \d+\.\d ms, p99 \d+\.\d ms$/);
    assert.match(rows[3]!, /downlinks {3}1 sent \(12 B\), 0 failed, 0 expired, 0 queued; rejected since start: TOO_LATE 1$/);
    assert.match(rows[4]!, /GPS {9}disabled$/);
    const jlines = json.text().slice(jmark).trim().split('\n');
    assert.equal(jlines.length, 1, 'one JSON entry');
    const entry = JSON.parse(jlines[0]!) as { msg: string; report: { upstream: { rxnb: number; rxBad: number }; downstream: { rejectedSinceStart: Record<string, number> } } };
    assert.equal(entry.msg, 'stats report');
    assert.equal(entry.report.upstream.rxnb, 4);
    assert.equal(entry.report.downstream.rejectedSinceStart.TOO_LATE, 1);
  });
});

describe('downlink sent on a radio that does not report starts (SX1301 on its emulator)', () => {
  test('the line comes at hand-over, without a start error', async () => {
    const ns = new NetworkServerStandIn();
    const port = await ns.start();
    const config = testConfig({ serv_port_up: port, serv_port_down: port, stat_interval: 3600 });
    const { conc } = emulatedSx1301(config.board);
    assert.equal((conc as Concentrator).onTxStart, undefined, 'the premise: no start hook');
    const out = capture('json');
    const fwd = new Forwarder({ config, concentrator: conc, log: out.log });
    await fwd.start();
    try {
      await waitFor(() => ns.counts.pull > 0, 3000, 'PULL_DATA');
      const frame = Buffer.from([0x60, 0xda, 0x1b, 0x01, 0x26, 0x00, 6, 0, 1, 2, 3, 4]);
      ns.sendPullResp({ imme: true, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: frame.length, data: frame.toString('base64') });
      const line = await waitFor(() => out.text().split('\n').find((l) => l.includes('"msg":"downlink sent"')), 3000, 'the sent line');
      const e = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual([e.level, e.outcome, e.class, e.devAddr, e.fcnt, 'startErrorUs' in e], [30, 'sent', 'C', '26011BDA', 6, false]);
    } finally {
      await fwd.stop();
      ns.stop();
    }
  });
});
