/**
 * Issue 13: our SX1301 driver puts libloragw v5.0.1's bytes on the bus for
 * every shipped preset and the variants users run, in every TX mode, FSK
 * included. Each golden of test/fixtures/sx1301-golden/ (recorded from
 * Semtech's HAL by tools/sx1301-golden/, see its README) and the shared
 * eu868 golden is replayed by our driver over the real spidev transport
 * under the shared fake chip, then compared:
 * - raw: every transaction after libloragw's FPGA probe, with the masks of
 *   shared/sx1301/golden/README (TIMESTAMP reads and fillers are reads, so
 *   only their address and length count; bytes 3-6 of a non-timestamped TX
 *   buffer are stale in libloragw);
 * - state: the fake chip's state at each chip event (soft reset,
 *   calibration, AGC ready, each TX trigger, close, exit);
 * - results: the packets decoded from the same FIFO and the TX status codes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { waitFor } from './helpers/harness.js';
import { SX1301_KIT, buildFakeChip, comparable, fakeChipSkipReason, type Comparable } from './helpers/shared-kit.js';
import type { GoldenStep } from './helpers/sx1301-golden-replay.js';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'test', 'fixtures', 'sx1301-golden');
const REPLAY = fileURLToPath(new URL('./helpers/sx1301-golden-replay.js', import.meta.url));

const readMaybeGz = (base: string) => (existsSync(`${base}.gz`) ? gunzipSync(readFileSync(`${base}.gz`)).toString('utf8') : readFileSync(base, 'utf8'));
const rawOf = (text: string): Comparable[] => text.split('\n').filter((l) => l.startsWith('TX ')).map((l) => comparable(Buffer.from(l.split(' ')[1]!, 'hex')));

/** Bytes 3-6 of a TX buffer written before a trigger that is not TIMESTAMPED: stale in libloragw [shared golden README, item 2]. */
function maskStale(list: Comparable[]): Comparable[] {
  return list.map((t, i) => {
    const next = list.slice(i + 1, i + 4).find((x) => x.cmd === 0xa1);
    if (t.cmd !== 0x86 || !next || next.data === '02') return t;
    return { ...t, data: t.data.slice(0, 6) + 'xxxxxxxx' + t.data.slice(14) };
  });
}

interface Snapshot { event: string; phase: string; tx_trigger: string | null; txbuf: string; [k: string]: unknown }
/** What a snapshot must match: everything but counts and the raw byte image (which holds the latched counter). */
function stateOf(text: string): Snapshot[] {
  const d = JSON.parse(text) as { snapshots: Snapshot[] };
  return d.snapshots.map((s) => {
    const { seq: _s, after_msg: _a, bytes: _b, ...rest } = s as Snapshot & { seq: unknown; after_msg: unknown; bytes: unknown };
    const regs = { ...(rest.regs as Record<string, unknown>) };
    // The counter latched by a TIMESTAMP read is wall-clock time [shared golden README, item 1].
    for (const k of Object.keys(regs)) if (/^TIMESTAMP/.test(k)) delete regs[k];
    const masked = rest.tx_trigger && rest.tx_trigger !== 'timestamped' && rest.txbuf.length >= 14 ? rest.txbuf.slice(0, 6) + 'xxxxxxxx' + rest.txbuf.slice(14) : rest.txbuf;
    return { ...rest, regs, txbuf: masked };
  });
}

const STATUS: Record<number, string> = { 2: 'free', 3: 'scheduled', 4: 'emitting' };
const CRC: Record<string, string> = { CRC_OK: 'ok', CRC_BAD: 'bad', NO_CRC: 'none' };

const goldens: { name: string; dir: string }[] = existsSync(FIXTURES)
  ? readdirSync(FIXTURES).filter((n) => existsSync(join(FIXTURES, n, 'config.json'))).sort().map((n) => ({ name: n, dir: join(FIXTURES, n) }))
  : [];
goldens.push({ name: 'shared eu868', dir: join(SX1301_KIT, 'golden', 'eu868') });

describe('SX1301 driver against libloragw v5.0.1 goldens (fake chip, real spidev transport)', { skip: fakeChipSkipReason() }, () => {
  let so = '';
  test('build the fake chip', () => {
    so = buildFakeChip();
  });
  assert.ok(goldens.length >= 11, `${goldens.length} goldens`);

  for (const g of goldens) {
    test(`${g.name}: same bytes, same chip state, same results`, () => {
      const out = mkdtempSync(join(tmpdir(), 'pktfwd-golden-'));
      const r = spawnSync(process.execPath, [REPLAY, join(g.dir, 'config.json'), join(SX1301_KIT, 'firmware')], {
        env: { ...process.env, LD_PRELOAD: so, FAKESPI_FW_DIR: join(SX1301_KIT, 'firmware'), FAKESPI_RAW: join(out, 'raw.txt'), FAKESPI_STATE_OUT: join(out, 'state.json') },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.status, 0, `replay failed: ${r.stderr}`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { error?: string; stack?: string; steps: Record<string, unknown>[] };
      assert.equal(res.error, undefined, res.stack);
      const conf = JSON.parse(readFileSync(join(g.dir, 'config.json'), 'utf8')) as { replay: GoldenStep[] };

      // Raw: transaction 1 is libloragw's FPGA probe, which an FPGA-less driver leaves out [shared golden README, item 4].
      const gold = maskStale(rawOf(readMaybeGz(join(g.dir, 'raw.txt'))).slice(1));
      const mine = maskStale(rawOf(readFileSync(join(out, 'raw.txt'), 'utf8')));
      for (let i = 0; i < Math.min(gold.length, mine.length); i++) assert.deepEqual(mine[i], gold[i], `golden transaction ${i + 2}`);
      assert.equal(mine.length, gold.length, 'nothing else');

      // State at every chip event.
      const gs = stateOf(readMaybeGz(join(g.dir, 'state.json')));
      const ms = stateOf(readFileSync(join(out, 'state.json'), 'utf8'));
      assert.deepEqual(ms.map((s) => `${s.event}@${s.phase}`), gs.map((s) => `${s.event}@${s.phase}`), 'the same chip events in the same phases');
      gs.forEach((s, i) => assert.deepEqual(ms[i], s, `state at ${s.event} in phase ${s.phase}`));

      // Results: decoded packets and TX status codes as libloragw returned them.
      conf.replay.forEach((step, i) => {
        const got = res.steps[i]!;
        if (step.op === 'lgw_receive') {
          const want = step.libloragw_returned.packets as { if_chain: number; freq_hz: number; status: string; count_us: number; crc: number; payload_hex: string; rssi: number; snr: number; modulation: string }[];
          const pk = got.packets as { ifChain: number; freqHz: number; crcStatus: string; countUs: number; crc16: number; payload: string; rssiDbm: number; snrDb?: number }[];
          assert.deepEqual(pk.map((p) => [p.ifChain, p.freqHz, p.crcStatus, p.countUs, p.crc16, p.payload]), want.map((p) => [p.if_chain, p.freq_hz, CRC[p.status], p.count_us, p.crc, p.payload_hex]), `step ${i + 1} packets`);
          pk.forEach((p, k) => {
            assert.ok(Math.abs(p.rssiDbm - want[k]!.rssi) < 1e-3, `step ${i + 1} packet ${k} rssi ${p.rssiDbm} vs ${want[k]!.rssi}`);
            if (want[k]!.modulation === 'LORA') assert.equal(p.snrDb, want[k]!.snr);
          });
        }
        if (step.op === 'lgw_status') assert.deepEqual(got.status, step.libloragw_returned.codes!.map((c) => STATUS[c]), `step ${i + 1} TX status`);
        if (step.op === 'lgw_send') assert.equal(got.refused, null, `step ${i + 1} sent`);
      });
    });
  }
});

/** The TX buffers a raw trace wrote (port 6 bursts), bytes 3-6 (the trigger count) masked. */
function txBuffers(text: string): string[] {
  return rawOf(text).filter((t) => t.cmd === 0x86).map((t) => t.data.slice(0, 6) + 'xxxxxxxx' + t.data.slice(14));
}

/** A preset (JSON with comments) as an object. */
function readPreset(file: string): Record<string, Record<string, unknown>> {
  const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
  return JSON.parse(readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')) as Record<string, Record<string, unknown>>;
}

describe('the same frames through the forwarder (pktfwd run, scheduler and Sx1301Concentrator) on each preset', { skip: fakeChipSkipReason(), concurrency: true }, () => {
  const PRESETS: Record<string, string> = { eu868: 'global_conf.json', us915: 'global_conf.us915.json', au915: 'global_conf.au915.json', as923: 'global_conf.as923.json', in865: 'global_conf.in865.json' };
  const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
  for (const [name, file] of Object.entries(PRESETS)) {
    test(`${name}: an FSK downlink and a power between two LUT entries give libloragw's TX buffers; a power below the table is refused`, async () => {
      const { NetworkServerStandIn } = await import('../src/demo/network-server.js');
      const { spawn } = await import('node:child_process');
      const { writeFileSync } = await import('node:fs');
      const so = buildFakeChip();
      const golden = JSON.parse(readFileSync(join(FIXTURES, name, 'config.json'), 'utf8')) as { replay: GoldenStep[] };
      const sends = golden.replay.filter((s) => s.op === 'lgw_send').map((s) => s.txpkt!);
      const [fsk, between] = [sends[3]!, sends[4]!];
      const dir = mkdtempSync(join(tmpdir(), 'pktfwd-preset-'));
      const raw = join(dir, 'run.raw');
      const ns = new NetworkServerStandIn();
      const port = await ns.start();
      const conf = readPreset(file);
      conf.SX1301_conf = { ...conf.SX1301_conf, firmware_dir: join(SX1301_KIT, 'firmware') };
      conf.gateway_conf = { ...conf.gateway_conf, gateway_ID: 'AA555A0000000000', server_address: '127.0.0.1', serv_port_up: port, serv_port_down: port, radio: 'sx1301', stat_interval: 3600, keepalive_interval: 1 };
      delete conf.SX127x_conf;
      conf.api_conf = { enable: false };
      writeFileSync(join(dir, 'global_conf.json'), JSON.stringify(conf));
      const child = spawn(process.execPath, [CLI, 'run', '--config', join(dir, 'global_conf.json'), '--log-format', 'json'], {
        env: { ...process.env, LD_PRELOAD: so, FAKESPI_FW_DIR: join(SX1301_KIT, 'firmware'), FAKESPI_RAW: raw },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const acks: (string | null)[] = [];
      ns.on('txack', (a: { error: string | null }) => acks.push(a.error));
      const until = (pred: () => boolean, ms: number, what: string) => waitFor(pred, ms, what, () => `child output:\n${out.slice(-2000)}`);
      const handed = () => out.split('\n').filter((l) => l.includes('"msg":"downlink sent"')).length;
      try {
        await until(() => ns.counts.pull > 0, 15_000, 'PULL_DATA');
        const data = Buffer.from(fsk.payload_hex, 'hex').toString('base64');
        ns.sendPullResp({ imme: true, freq: fsk.freq_hz / 1e6, rfch: 0, powe: fsk.rf_power, modu: 'FSK', datr: 50000, fdev: (fsk.f_dev_khz ?? 0) * 1000, prea: fsk.preamble, size: 10, data });
        await until(() => acks.length === 1 && handed() === 1, 5000, 'the FSK downlink handed over');
        // The fake chip's TX status counts down by reads, not time (0x90 ×2, 0xB0 ×3, then free): the
        // forwarder's once-a-second health check reads it, so after 6 s the transmitter is free again.
        await new Promise((r) => setTimeout(r, 6500));
        ns.sendPullResp({ imme: true, freq: between.freq_hz / 1e6, rfch: 0, powe: between.rf_power, modu: 'LORA', datr: `${between.datarate}BW125`, codr: '4/5', ipol: true, prea: 8, size: 10, data });
        await until(() => acks.length === 2 && handed() === 2, 5000, 'the LoRa downlink handed over');
        ns.sendPullResp({ imme: true, freq: between.freq_hz / 1e6, rfch: 0, powe: between.rf_power - 2, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 10, data });
        await until(() => acks.length === 3, 5000, 'the third TX_ACK');
        assert.deepEqual(acks, [null, null, 'TX_POWER']);
        assert.match(out, /TX power not in gain table, using the closest lower/);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
        ns.stop();
      }
      const mine = txBuffers(readFileSync(raw, 'utf8'));
      const gold = txBuffers(readMaybeGz(join(FIXTURES, name, 'raw.txt')));
      assert.equal(mine.length, 2, 'two frames handed over');
      assert.deepEqual(mine, [gold[3], gold[4]], 'the TX buffers libloragw wrote for the same frames (trigger count aside)');
    });
  }
});
