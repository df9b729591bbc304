/**
 * The server's router_config plan replaces the local one (issue 17) where
 * the LNS owns the radio (no UDP server): on the simulated concentrator the
 * channels change (an uplink on a channel only the server's plan has is
 * heard, one only the local plan had is not); on the SX1301 driver (its
 * emulator behind the SPI boundary) the chip is restarted with the new IF
 * registers. A plan the board cannot receive is refused with its reason.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimConcentrator } from '../hal/index.js';
import { Sx1301Registers } from '../hal/sx1301/registers.js';
import { ifFreqCode } from '../hal/sx1301/start.js';
import { Forwarder } from '../src/forwarder.js';
import { planBoard } from '../src/lns/plan-board.js';
import { AirClient, loraUplink, memoryLogger, testConfig, waitFor } from './helpers/harness.js';
import { shippedConf } from './helpers/cli-process.js';
import { eu868RouterConfig, LnsStandIn, stationDir, tlsFile, us915RouterConfig } from './helpers/lns-server.js';
import { emulatedSx1301 } from './helpers/sx1301-emulated.js';

/** The shipped EU868 plan with radio_1 moved up 200 kHz: 868.3, 868.5, 868.7 instead of 868.1, 868.3, 868.5. */
function shiftedPlan(): Record<string, unknown> {
  const sx = structuredClone(shippedConf().SX1301_conf!) as Record<string, Record<string, unknown>>;
  sx.radio_1!.freq = 868_700_000;
  return sx;
}

describe('router_config plan loaded into the radio', () => {
  test('sim, LNS only: the server\'s channels are heard, the local-only one is not, and a restart-free plan keeps the xtime session', async () => {
    const lns = new LnsStandIn({ routerConfig: () => eu868RouterConfig(shiftedPlan()) });
    const port = await lns.start();
    const dir = stationDir({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt') });
    const config = testConfig({ servers: [] }, {}, { lns_conf: [{ station_dir: dir }] as never });
    const mem = memoryLogger('info');
    const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, counterStartUs: null, log: mem.log.child({ module: 'sim' }) });
    const fwd = new Forwarder({ config, concentrator: sim, log: mem.log });
    await fwd.start();
    const air = new AirClient(sim.airPortBound);
    try {
      const loaded = await waitFor(() => mem.lines().find((l) => l.msg === 'router_config: the server\'s channel plan loaded into the radio'), 10_000, 'plan loaded');
      assert.ok((loaded.channelsHz as number[]).includes(868_700_000));
      assert.ok(!(loaded.channelsHz as number[]).includes(868_100_000));
      await waitFor(() => fwd.lnsBackends[0]!.state === 'connected', 5000, 'connected');
      const notOnPlan = sim.counters.notOnPlan;
      air.send(loraUplink({ freq: 868.1, data: Buffer.from([0x40, 1, 0, 0, 0, 0, 1, 0, 1, 2, 3, 4]).toString('base64') }));
      air.send(loraUplink({ freq: 868.7, data: Buffer.from([0x40, 1, 0, 0, 0, 0, 2, 0, 1, 2, 3, 4]).toString('base64') }));
      const up = await waitFor(() => lns.messages('updf')[0], 5000, 'updf');
      assert.equal(up.msg.Freq, 868_700_000);
      assert.equal(up.msg.FCnt, 2);
      await waitFor(() => sim.counters.notOnPlan === notOnPlan + 1, 2000, '868.1 not heard');
      assert.equal(lns.messages('updf').length, 1);
    } finally {
      air.close();
      await fwd.stop();
      await lns.stop();
    }
  });

  test('with a UDP server beside it the local plan stays, and the difference is said', async () => {
    const lns = new LnsStandIn({ routerConfig: () => eu868RouterConfig(shiftedPlan()) });
    const port = await lns.start();
    const dir = stationDir({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt') });
    const config = testConfig({ serv_port_up: 9, serv_port_down: 9 }, {}, { lns_conf: [{ station_dir: dir }] as never });
    const mem = memoryLogger('info');
    const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, counterStartUs: null, log: mem.log.child({ module: 'sim' }) });
    const fwd = new Forwarder({ config, concentrator: sim, log: mem.log });
    await fwd.start();
    try {
      const diff = await waitFor(() => mem.lines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('router_config: the radio\'s channels differ')), 10_000, 'difference line');
      assert.deepEqual(diff.notHeardHz, [868_700_000]);
      assert.deepEqual(diff.notInPlanHz, [868_100_000]);
      assert.match(String(diff.msg), /shared with UDP servers/);
      assert.equal(mem.lines().some((l) => l.msg === 'router_config: the server\'s channel plan loaded into the radio'), false);
    } finally {
      await fwd.stop();
      await lns.stop();
    }
  });

  test('planBoard: a US915 plan on EU868 SX1257 radios is taken (the chip covers 862-1020 MHz); on SX1255 radios it is refused; IF beyond ±500 kHz refused', () => {
    const board = testConfig().board;
    const us = (us915RouterConfig().sx1301_conf as Record<string, unknown>[])[0]!;
    const r = planBoard(board, us);
    assert.ok(r.ok);
    assert.equal(r.ok && r.board.radios[0]!.freqHz, 902_700_000);
    assert.equal(r.ok && r.board.radios[0]!.txFreqMaxHz, board.radios[0]!.txFreqMaxHz, 'TX ranges stay the board\'s');
    const sx1255 = { ...board, radios: board.radios.map((x) => ({ ...x, type: 'SX1255' })) };
    const refused = planBoard(sx1255, us);
    assert.equal(refused.ok, false);
    assert.match(!refused.ok ? refused.reason : '', /radio_0 at 902700000 Hz is outside what its SX1255 receives/);
    const wide = planBoard(board, { ...us, chan_multiSF_0: { enable: true, radio: 0, if: 600_000 } });
    assert.match(!wide.ok ? wide.reason : '', /chan_multiSF_0: IF 600000 Hz/);
  });

  test('SX1301 driver on its emulator: reconfigure restarts the chip with the new IF registers', async () => {
    const board = testConfig().board;
    const { chip, conc: c } = emulatedSx1301(board, { keepChip: true });
    await c.start();
    try {
      // A fresh register view each time: the driver moves the chip's page register between reads.
      const read = () => new Sx1301Registers(chip).read('IF_FREQ_0');
      assert.equal(read(), ifFreqCode(board.multiSfChannels[0]!.ifHz));
      const plan = planBoard(board, { ...(shippedConf().SX1301_conf as Record<string, unknown>), chan_multiSF_0: { enable: true, radio: 1, if: -300_000 } });
      assert.ok(plan.ok);
      await c.reconfigure(plan.ok ? plan.board : board);
      assert.equal(read(), ifFreqCode(-300_000));
    } finally {
      await c.stop();
    }
  });

  test('muxs refused 5 times in a row: discovery again, then connected; the back-off doubles (here scaled to ms)', async () => {
    let refusals = 0;
    const lns = new LnsStandIn({ routerConfig: () => eu868RouterConfig(shippedConf().SX1301_conf!), refuseMuxs: () => (refusals++ < 5 ? 503 : null) });
    const port = await lns.start();
    const dir = stationDir({ 'tc.uri': `wss://localhost:${port}`, 'tc.trust': tlsFile('ca.crt') });
    const config = testConfig({ servers: [] }, {}, { lns_conf: [{ station_dir: dir }] as never });
    const mem = memoryLogger('info');
    const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, counterStartUs: null, log: mem.log.child({ module: 'sim' }) });
    const fwd = new Forwarder({ config, concentrator: sim, log: mem.log, lnsBackoffS: [0.01, 0.02, 0.04, 0.08, 0.16, 0.3] });
    await fwd.start();
    try {
      await waitFor(() => fwd.lnsBackends[0]!.state === 'connected', 10_000, 'connected', () => JSON.stringify(mem.lines().slice(-5)));
      const fails = mem.lines().filter((l) => l.msg === 'LNS muxs failed');
      assert.equal(fails.length, 5);
      assert.deepEqual(fails.map((f) => f.retryInS), [0.01, 0.02, 0.04, 0.08, 0.16]);
      assert.deepEqual(fails.map((f) => f.next), ['muxs', 'muxs', 'muxs', 'muxs', 'discovery']);
      assert.match(String(fails[0]!.reason), /HTTP 503/);
      assert.equal(lns.received.filter((r) => r.path === '/router-info').length, 2, 'discovered twice');
      assert.equal(fwd.lnsBackends[0]!.counters.connects, 1);
    } finally {
      await fwd.stop();
      await lns.stop();
    }
  });
});
