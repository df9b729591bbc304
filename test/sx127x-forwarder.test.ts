/**
 * The forwarder on the SX127x driver (emulated SX1276): what reaches the
 * server for good, bad-CRC and no-CRC frames, and the radio section of the
 * stats report.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EmulatedSx127x, Sx127xConcentrator } from '../hal/index.js';
import { NetworkServerStandIn, type PushEvent } from '../src/demo/network-server.js';
import { Forwarder } from '../src/forwarder.js';
import { memoryLogger, testConfig, waitFor } from './helpers/harness.js';

const clockUs = () => performance.now() * 1000;

async function rig(gateway: Record<string, unknown>) {
  const ns = new NetworkServerStandIn();
  const port = await ns.start();
  const config = testConfig({ serv_port_up: port, serv_port_down: port, radio: 'sx127x', ...gateway });
  const { log, lines } = memoryLogger('info');
  const emu = new EmulatedSx127x({ clockUs });
  const sx = config.sx127x!;
  const conc = new Sx127xConcentrator({
    open: async () => emu.hardware(),
    rx: { freqHz: sx.freqHz, sf: sx.spreadingFactor, bwHz: sx.bandwidthHz, codeRate: sx.codeRate, syncWord: sx.syncWord },
    paOutput: sx.paOutput, txPowerMaxDbm: sx.txPowerMaxDbm, txFreqMinHz: sx.txFreqMinHz, txFreqMaxHz: sx.txFreqMaxHz, log, clockUs,
  });
  const fwd = new Forwarder({ config, concentrator: conc, log });
  const rxpk: PushEvent['rxpk'] = [];
  ns.on('push', (e: PushEvent) => rxpk.push(...e.rxpk));
  await fwd.start();
  const inject = async (payload: string, crc: 'ok' | 'bad' | 'none', snrDb: number) => {
    const n = conc.counters.rxFrames;
    assert.ok(emu.chip.injectFrame({ payload: Buffer.from(payload), sf: 7, bwHz: 125000, crc, rssiDbm: -101, snrDb, freqHz: 868_100_000 }));
    await waitFor(() => conc.counters.rxFrames > n, 2000, 'frame read');
  };
  return { ns, fwd, conc, rxpk, inject, lines, stop: async () => {
    await fwd.stop();
    ns.stop();
  } };
}

describe('forwarder on the SX127x radio', () => {
  test('CRC ok / bad / none reach the server with stat 1 / -1 / 0 when all are forwarded, with the channel fields', async () => {
    const r = await rig({ forward_crc_error: true, forward_crc_disabled: true });
    try {
      await r.inject('good', 'ok', 7.5);
      await r.inject('bad', 'bad', -3.25);
      await r.inject('none', 'none', 0);
      await waitFor(() => r.rxpk.length === 3, 3000, 'three rxpk');
      const by = Object.fromEntries(r.rxpk.map((p) => [Buffer.from(p.data, 'base64').toString(), p]));
      assert.deepEqual([by.good!.stat, by.bad!.stat, by.none!.stat], [1, -1, 0]);
      const g = by.good!;
      assert.deepEqual([g.chan, g.rfch, g.freq, g.modu, g.datr, g.codr, g.lsnr], [0, 0, 868.1, 'LORA', 'SF7BW125', '4/5', 7.5]);
      assert.ok(Number.isInteger(g.rssi) && Math.abs(g.rssi + 101) <= 1, `rssi ${g.rssi}`);
      assert.equal(by.bad!.lsnr, -3.2, 'lsnr printed with one decimal');
    } finally {
      await r.stop();
    }
  });

  test('with the default filters the bad-CRC frame stops at the gateway; the report carries the radio section', async () => {
    const r = await rig({});
    try {
      await r.inject('good', 'ok', 7.5);
      await r.inject('bad', 'bad', 1);
      await waitFor(() => r.rxpk.length === 1, 3000, 'one rxpk');
      await new Promise((res) => setTimeout(res, 200));
      assert.deepEqual(r.rxpk.map((p) => Buffer.from(p.data, 'base64').toString()), ['good']);
      r.fwd.report();
      const rep = r.lines().find((l) => l.msg === 'stats report')!.report as { radio: Record<string, unknown>; upstream: Record<string, number> };
      assert.equal(rep.radio.type, 'sx127x');
      assert.equal(rep.radio.rxFrames, 2);
      assert.equal(rep.radio.rxCrcBad, 1);
      assert.equal(rep.upstream.rxBad, 1);
      assert.equal(rep.upstream.rxfw, 1);
    } finally {
      await r.stop();
    }
  });
});
