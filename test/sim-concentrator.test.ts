import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, test } from 'node:test';
import { SimConcentrator, decodeAirMessage, encodeAirMessage } from '../hal/index.js';
import { runConcentratorContract, txFrame, type ContractSubject } from './contract/concentrator-contract.js';
import { memoryLogger, testConfig, waitFor } from './helpers/harness.js';
import { EMISSION_SLACK_US } from './helpers/timing.js';

/** A started-or-not sim with an air client subscribed to its emissions. */
async function makeSim(counterStartUs: number | null = null) {
  const config = testConfig({}, {});
  const { log, lines } = memoryLogger();
  const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, counterStartUs, log });
  const client = dgram.createSocket('udp4');
  const heard: Record<string, unknown>[] = [];
  client.on('message', (m) => heard.push(JSON.parse(m.toString()) as Record<string, unknown>));
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
  const send = (text: string | Buffer) => new Promise<void>((r) => client.send(text, sim.airPortBound, '127.0.0.1', () => r()));
  return { sim, config, heard, send, lines, client };
}

runConcentratorContract('SimConcentrator', async (): Promise<ContractSubject> => {
  const m = await makeSim();
  const radio0 = m.config.board.radios[0]!;
  return {
    conc: m.sim,
    injectUplink: (payload: Buffer) =>
      m.send(encodeAirMessage({
        op: 'uplink', freqHz: 868_100_000, radio: { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 125000, codeRate: '4/5' },
        rssiDbm: -50, snrDb: 7, crc: 'ok', payload,
      })),
    emissionOf: async (payload: Buffer, timeoutMs: number) => {
      const d = await waitFor(() => m.heard.find((x) => x.op === 'downlink' && x.data === payload.toString('base64')), timeoutMs, 'emission');
      return d.count_us as number;
    },
    fskEmissionOf: async (payload: Buffer, timeoutMs: number) => {
      const d = await waitFor(() => m.heard.find((x) => x.op === 'downlink' && x.data === payload.toString('base64')), timeoutMs, 'emission');
      assert.equal(d.modu, 'FSK');
      return { startUs: d.count_us as number, freqHz: Math.round((d.freq as number) * 1e6), datarateBps: d.datr as number, fdevHz: d.fdev as number };
    },
    txRange: [radio0.txFreqMinHz, radio0.txFreqMaxHz],
    tablePowerDbm: 14,
    afterStart: async () => {
      await m.send('{"op":"listen"}');
      await waitFor(() => m.heard.find((x) => x.op === 'listening'), 2000, 'listening');
    },
    cleanup: async () => {
      await m.sim.stop();
      m.client.close();
    },
  };
});

describe('SimConcentrator specifics', () => {
  test('malformed virtual-air datagrams are logged with the reason, counted, and ignored', async () => {
    const m = await makeSim();
    await m.sim.start();
    try {
      for (const bad of ['not json', '[1,2]', '{"op":"teleport"}', '{"op":"uplink","freq":868.1,"modu":"LORA","datr":"SF13BW125","data":"AA=="}',
        '{"op":"uplink","freq":868.1,"modu":"LORA","datr":"SF7BW125","data":"-_-_"}']) await m.send(bad);
      await waitFor(() => m.sim.counters.airMalformed === 5, 2000, '5 malformed');
      const reasons = m.lines().filter((l) => l.msg === 'malformed virtual-air datagram ignored').map((l) => l.reason);
      assert.deepEqual(reasons.slice(0, 3), ['not JSON', 'not a JSON object', 'unknown op "teleport"']);
      assert.match(String(reasons[3]), /datr/);
      assert.match(String(reasons[4]), /base64/);
      // Still receiving afterwards.
      await m.send('{"op":"uplink","freq":868.1,"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":-40,"lsnr":7,"data":"AQ=="}');
      await waitFor(() => m.sim.counters.received === 1, 2000, 'good frame after bad ones');
    } finally {
      await m.sim.stop();
      m.client.close();
    }
  });

  test('the LoRa std channel receives only its own SF/BW; off-plan frames are counted', async () => {
    const m = await makeSim();
    await m.sim.start();
    try {
      const up = (datr: string, freq: number) => m.send(`{"op":"uplink","freq":${freq},"modu":"LORA","datr":"${datr}","codr":"4/5","data":"AQ=="}`);
      await up('SF7BW250', 868.3); // chan_Lora_std: radio_1 868.5 MHz, IF -200 kHz, BW250 SF7
      await up('SF9BW250', 868.3); // wrong SF for the std channel
      await up('SF7BW125', 866.0); // no channel there
      await waitFor(() => m.sim.counters.received + m.sim.counters.notOnPlan === 3, 2000, '3 frames judged');
      const got = await m.sim.receive(8);
      assert.equal(got.length, 1);
      assert.equal(got[0]!.ifChain, 8);
      assert.equal(m.sim.counters.notOnPlan, 2);
    } finally {
      await m.sim.stop();
      m.client.close();
    }
  });

  test('counter started just before 2^32 wraps to small values, and a frame timed across the wrap is emitted on time', async () => {
    const m = await makeSim(2 ** 32 - 100_000);
    await m.sim.start();
    try {
      await m.send('{"op":"listen"}');
      await waitFor(() => m.heard.find((x) => x.op === 'listening'), 2000, 'listening');
      const target = 50_000; // 150 ms after start, 50 ms after the wrap
      assert.deepEqual(await m.sim.send(txFrame(target, Buffer.from('wrap'), 14)), { ok: true });
      const d = await waitFor(() => m.heard.find((x) => x.op === 'downlink'), 2000, 'emission');
      const err = ((d.count_us as number) - target) | 0;
      assert.ok(err >= 0 && err < EMISSION_SLACK_US, `emitted ${err} µs from target`);
      assert.ok((await m.sim.counterUs()) < 2 ** 31, 'counter wrapped');
    } finally {
      await m.sim.stop();
      m.client.close();
    }
  });

  test('air messages encode and decode symmetrically', () => {
    const dl = {
      op: 'downlink' as const, countUs: 123, targetUs: 120, freqHz: 869_525_000,
      radio: { modulation: 'LORA' as const, spreadingFactor: 12 as const, bandwidthHz: 125000 as const, codeRate: '4/5' as const },
      powerDbm: 14, invertPolarity: true, preambleSymbols: 8, noCrc: true, payload: Buffer.from([1, 2, 3]),
    };
    const text = encodeAirMessage(dl);
    assert.equal(text, '{"op":"downlink","count_us":123,"target_us":120,"freq":869.525,"modu":"LORA","datr":"SF12BW125","codr":"4/5","powe":14,"ipol":true,"prea":8,"ncrc":true,"size":3,"data":"AQID"}');
    const back = decodeAirMessage(text);
    assert.ok(back.ok);
    assert.deepEqual(back.msg, dl);
  });
});
