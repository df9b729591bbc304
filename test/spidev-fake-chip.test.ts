/**
 * The real `spi-device` module under `SpidevTransport`, against the fake
 * SX1301 chip of ../shared/sx1301/fake-chip (an LD_PRELOAD shim that answers
 * ioctl(SPI_IOC_MESSAGE) on /dev/spidev0.0). It proves the transport's
 * messages, options and framing with the real native module and kernel ABI.
 * Skipped, with the reason, where ../shared (or $PKTFWD_SHARED_DIR), the
 * compiler or the optional spi-device module is missing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeTxBuffer, txFrequencyHz } from '../hal/sx1301/tx-metadata.js';
import { waitFor } from './helpers/harness.js';
import { SX1301_KIT, buildFakeChip, fakeChipSkipReason, goldenTransactions, rawTrace } from './helpers/shared-kit.js';

const KIT = SX1301_KIT;
const PROBE = fileURLToPath(new URL('./helpers/spidev-probe.js', import.meta.url));
const REGS_PROBE = fileURLToPath(new URL('./helpers/sx1301-regs-probe.js', import.meta.url));
const START_PROBE = fileURLToPath(new URL('./helpers/sx1301-start-probe.js', import.meta.url));

const reason = fakeChipSkipReason();

test('SpidevTransport over the real spi-device module reads the fake SX1301 through ioctl', { skip: reason }, () => {
  const so = buildFakeChip();
  const r = spawnSync(process.execPath, [PROBE], {
    env: { ...process.env, LD_PRELOAD: so, FAKESPI_FW_DIR: join(KIT, 'firmware') },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 0, `probe failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { version: number; viaAsync: number; burst: number[]; closedCode: string };
  // VERSION (register 1) reads 103 on the SX1301 [fake-chip README; sx1301.md].
  assert.equal(out.version, 103);
  assert.equal(out.viaAsync, 103);
  assert.equal(out.burst[1], 103, 'a burst auto-increments from register 0 to VERSION');
  assert.equal(out.burst.length, 4);
  assert.equal(out.closedCode, 'ECLOSED');
});

test('SX1301 named registers over the real spidev transport: the bytes on the bus are those of sx1301.md §2', { skip: reason }, () => {
  const so = buildFakeChip();
  const raw = join(mkdtempSync(join(tmpdir(), 'pktfwd-fakespi-')), 'run.raw');
  const r = spawnSync(process.execPath, [REGS_PROBE], {
    env: { ...process.env, LD_PRELOAD: so, FAKESPI_FW_DIR: join(KIT, 'firmware'), FAKESPI_RAW: raw },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 0, `probe failed: ${r.stderr}`);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { version: 103, txStartDelay: 1497, ifFreq0: -819, gpsEn: 1, gpsPol: 1 });
  const tx = readFileSync(raw, 'utf8').split('\n').filter((l) => l.startsWith('TX ')).map((l) => l.split(' ')[1]);
  // VERSION read; page 1 then TX_START_DELAY (page 1, address 34) LSB first; page 0 then IF_FREQ_0 (address 36).
  assert.deepEqual(tx.slice(0, 5), ['0100', '8001', 'a2d905', '8000', 'a4cdfc']);
});

test('SX1301 start, receive, counters, send, status and stop put libloragw\'s bytes on the bus (golden eu868 transactions 2-614) and decode the same packets', { skip: reason }, () => {
  const so = buildFakeChip();
  const raw = join(mkdtempSync(join(tmpdir(), 'pktfwd-fakespi-')), 'start.raw');
  const r = spawnSync(process.execPath, [START_PROBE, join(KIT, 'golden', 'eu868', 'config.json'), join(KIT, 'firmware')], {
    env: { ...process.env, LD_PRELOAD: so, FAKESPI_FW_DIR: join(KIT, 'firmware'), FAKESPI_RAW: raw },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, `probe failed: ${r.stderr}`);
  type Rx = { ifChain: number; rfChain: number; freqHz: number; crcStatus: string; radio: { modulation: string; spreadingFactor?: number; bandwidthHz?: number; codeRate?: string; datarateBps?: number }; rssiDbm: number; snrDb?: number; snrMinDb?: number; snrMaxDb?: number; countUs: number; crc16: number; payload: string };
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { error?: string; calibrationStatus?: number; rx: Rx[][]; sent: unknown[]; status: string[] };
  assert.equal(out.error, undefined, out.error);
  assert.equal(out.calibrationStatus, 0xbf);
  // The packets libloragw decoded from the same FIFO (golden config.json, replay steps 2 and 3).
  type Gold = { if_chain: number; rf_chain: number; freq_hz: number; status: string; modulation: string; bandwidth_hz: number; datarate: string | number; coderate: string | null; rssi: number; snr: number; snr_min: number; snr_max: number; count_us: number; crc: number; payload_hex: string };
  const replay = (JSON.parse(readFileSync(join(KIT, 'golden', 'eu868', 'config.json'), 'utf8')) as { replay: { libloragw_returned: { packets?: Gold[] } }[] }).replay;
  const expected = [replay[1]!.libloragw_returned.packets!, replay[2]!.libloragw_returned.packets!];
  assert.deepEqual(out.rx.map((l) => l.length), expected.map((l) => l.length));
  const STATUS: Record<string, string> = { CRC_OK: 'ok', CRC_BAD: 'bad', NO_CRC: 'none' };
  out.rx[0]!.forEach((p, i) => {
    const g = expected[0]![i]!;
    assert.deepEqual(
      [p.ifChain, p.rfChain, p.freqHz, p.crcStatus, p.radio.modulation, p.countUs, p.crc16, p.payload],
      [g.if_chain, g.rf_chain, g.freq_hz, STATUS[g.status], g.modulation, g.count_us, g.crc, g.payload_hex],
      `packet ${i}`,
    );
    assert.ok(Math.abs(p.rssiDbm - g.rssi) < 1e-3, `packet ${i} rssi ${p.rssiDbm} vs ${g.rssi}`);
    if (g.modulation === 'LORA') {
      assert.deepEqual([`SF${p.radio.spreadingFactor}`, p.radio.bandwidthHz, p.radio.codeRate, p.snrDb, p.snrMinDb, p.snrMaxDb], [g.datarate, g.bandwidth_hz, g.coderate, g.snr, g.snr_min, g.snr_max], `packet ${i}`);
    } else {
      assert.equal(p.radio.datarateBps, g.datarate);
    }
  });
  const mine = rawTrace(raw);
  // Golden transaction 1 is libloragw's FPGA probe, which an FPGA-less driver leaves out [golden README, item 4].
  // ... and through the rest of the replay: receives, counters, sends, status, stop (transactions 565-614).
  const golden = goldenTransactions(2, 614);
  // Bytes 3-6 of a TX buffer whose trigger is not TIMESTAMPED are stale in libloragw [golden README, item 2].
  const maskStale = (list: typeof golden) => list.map((t, i) => {
    const next = list[i + 2];
    if (t.cmd !== 0x86 || !next || next.cmd !== 0xa1 || next.data === '02') return t;
    return { ...t, data: t.data.slice(0, 6) + 'xxxxxxxx' + t.data.slice(14) };
  });
  const [gm, mm] = [maskStale(golden), maskStale(mine)];
  for (let i = 0; i < gm.length; i++) assert.deepEqual(mm[i], gm[i], `golden transaction ${i + 2}`);
  assert.equal(mine.length, golden.length, 'nothing else');
  assert.deepEqual(out.sent, [null, null]);
  // libloragw returned 4 (emitting) ×5 then 2 (free) ×3 [golden replay].
  assert.deepEqual(out.status, ['emitting', 'emitting', 'emitting', 'emitting', 'emitting', 'free', 'free', 'free']);
});

test('pktfwd run --radio sx1301 on the fake chip: starts, forwards its four packets, transmits a downlink with the right TX buffer', { skip: reason }, async () => {
  const { NetworkServerStandIn } = await import('../src/demo/network-server.js');
  const { spawn } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const so = buildFakeChip();
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-sx1301-'));
  const raw = join(dir, 'run.raw');
  const golden = JSON.parse(readFileSync(join(KIT, 'golden', 'eu868', 'config.json'), 'utf8')) as { SX1301_conf: Record<string, unknown> };
  const ns = new NetworkServerStandIn();
  const port = await ns.start();
  const conf = {
    SX1301_conf: { ...golden.SX1301_conf, firmware_dir: join(KIT, 'firmware') },
    gateway_conf: { gateway_ID: 'AA555A0000000000', server_address: '127.0.0.1', serv_port_up: port, serv_port_down: port, radio: 'sx1301', stat_interval: 3600, forward_crc_error: true, forward_crc_disabled: true },
  };
  writeFileSync(join(dir, 'global_conf.json'), JSON.stringify(conf));
  const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
  const child = spawn(process.execPath, [CLI, 'run', '--config', join(dir, 'global_conf.json'), '--log-format', 'json', '--log-level', 'debug'], {
    env: { ...process.env, LD_PRELOAD: so, FAKESPI_FW_DIR: join(KIT, 'firmware'), FAKESPI_RAW: raw },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const rxpk: { freq: number; datr: string | number; stat: number; data: string; tmst: number }[] = [];
  ns.on('push', (e: { rxpk: typeof rxpk }) => rxpk.push(...e.rxpk));
  const acks: (string | null)[] = [];
  ns.on('txack', (a: { error: string | null }) => acks.push(a.error));
  const until = (pred: () => boolean, ms: number, what: string) => waitFor(pred, ms, what, () => `child output:\n${out.slice(-2000)}`);
  try {
    await until(() => rxpk.length >= 4, 15_000, 'the fake chip\'s four packets at the server');
    assert.deepEqual(rxpk.map((p) => [p.freq, p.datr, p.stat]).sort(), [
      [867.5, 'SF12BW125', -1], [868.1, 'SF7BW125', 1], [868.3, 'SF7BW250', 0], [868.8, 50000, 1],
    ].sort());
    await until(() => ns.counts.pull > 0, 5000, 'PULL_DATA');
    ns.sendPullResp({ imme: true, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 3, data: 'AQID' });
    await until(() => acks.length === 1 && /downlink handed to concentrator/.test(out), 5000, 'the TX_ACK and the hand-over');
    assert.deepEqual(acks, [null]);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    ns.stop();
  }
  // The shim writes its raw trace out at close: the TX buffer (the last write to TX_DATA_BUF_DATA, port 6)
  // and, after it, the trigger (TX_TRIG_ALL, page 1 address 33). The JIT queue sends an immediate
  // downlink as a timestamped one a few ms ahead (as PF4's does), so the trigger is TX_TRIG_DELAYED (2).
  const lines = readFileSync(raw, 'utf8').split('\n');
  let at = lines.length - 1;
  while (at >= 0 && !lines[at]!.startsWith('TX 86')) at--;
  assert.ok(at > 0 && lines.slice(at + 1).some((l) => l.startsWith('TX a102')), 'a TX buffer write followed by the timestamped trigger');
  const scheduled = /"msg":"downlink scheduled"/.test(out) ? Number(/"countUs":(\d+)[^\n]*"msg":"downlink scheduled"/.exec(out)![1]) : NaN;
  const buf = Buffer.from(lines[at]!.split(' ')[1]!.slice(2), 'hex');
  const frame = decodeTxBuffer(buf);
  assert.ok(typeof frame !== 'string', String(frame));
  assert.ok(Math.abs(txFrequencyHz('SX1257', frame.pll, 3) - 869_525_000) < 62);
  assert.deepEqual(
    [frame.rfChain, frame.lutIndex, frame.radio, frame.invertIq, frame.preamble, [...frame.payload]],
    [0, 0, { modulation: 'LORA', spreadingFactor: 9, bandwidthHz: 125000, codeRate: '4/5' }, true, 8, [1, 2, 3]],
  );
  assert.equal(frame.triggerCount, (scheduled - 1495) >>> 0, 'trigger = scheduled count − TX start delay (125 kHz)');
  assert.match(out, /SX1301 concentrator stopped/);
});
