import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, describe, test } from 'node:test';
import { SimConcentrator, type TxPacket } from '../hal/index.js';
import { txFrame } from './contract/concentrator-contract.js';
import { memoryLogger, testConfig, waitFor } from './helpers/harness.js';

/** A UDP endpoint on the virtual air that records every JSON message it hears. */
class AirPeer {
  readonly sock = dgram.createSocket('udp4');
  readonly heard: Record<string, unknown>[] = [];
  constructor(private readonly port: () => number) {
    this.sock.on('message', (m) => this.heard.push(JSON.parse(m.toString()) as Record<string, unknown>));
  }
  bind(): Promise<void> {
    return new Promise((r) => this.sock.bind(0, '127.0.0.1', r));
  }
  send(obj: unknown): Promise<void> {
    return new Promise((r) => this.sock.send(typeof obj === 'string' ? obj : JSON.stringify(obj), this.port(), '127.0.0.1', () => r()));
  }
  close(): void {
    this.sock.close();
  }
}

const open: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of open) await f();
});

/** A started sim (shipped EU868 board) and `n` peers on its air. */
async function setup(o: { peers?: number; fifoCapacity?: number; counterStartUs?: number } = {}) {
  const { log, lines } = memoryLogger();
  const sim = new SimConcentrator({
    board: testConfig().board, airAddress: '127.0.0.1', airPort: 0, counterStartUs: o.counterStartUs ?? null, log, fifoCapacity: o.fifoCapacity,
  });
  await sim.start();
  const peers: AirPeer[] = [];
  for (let i = 0; i < (o.peers ?? 1); i++) {
    const p = new AirPeer(() => sim.airPortBound);
    await p.bind();
    peers.push(p);
  }
  let closed = false;
  const stop = async () => {
    await sim.stop();
    if (!closed) for (const p of peers) p.close();
    closed = true;
  };
  open.push(stop);
  return { sim, peers, lines, stop };
}

const uplink = (over: Record<string, unknown> = {}) => ({
  op: 'uplink', freq: 868.1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', rssi: -60, lsnr: 9.5, crc: 'ok', data: 'AQ==', ...over,
});

describe('SimConcentrator: TX refusals like the chip', () => {
  test('TX_POWER for a power absent from the gain table, TX_FREQ for a radio without TX, INVALID for on-pps and unsendable parameters', async () => {
    const { sim, stop } = await setup();
    const at = ((await sim.counterUs()) + 500_000) >>> 0;
    const err = async (p: TxPacket) => {
      const r = await sim.send(p);
      return r.ok ? 'ok' : r.error;
    };
    assert.equal(await err(txFrame(at, Buffer.from([1]), 15)), 'TX_POWER', '15 dBm is not in the shipped LUT');
    assert.equal(await err(txFrame(at, Buffer.from([1]), 14.5)), 'TX_POWER');
    assert.equal(await err({ ...txFrame(at, Buffer.from([1]), 14), rfChain: 1 }), 'TX_FREQ', 'radio_1 has tx_enable false');
    assert.equal(await err({ ...txFrame(at, Buffer.from([1]), 14), rfChain: 7 }), 'TX_FREQ', 'no radio 7');
    assert.equal(await err(txFrame(at, Buffer.from([1]), 14, 862_999_999)), 'TX_FREQ');
    assert.equal(await err({ ...txFrame(at, Buffer.from([1]), 14), mode: 'on-pps' }), 'INVALID', 'no PPS in the sim');
    assert.equal(await err({ ...txFrame(at, Buffer.from([1]), 14), preambleSymbols: -1 }), 'INVALID');
    assert.equal(await err(txFrame(at, Buffer.alloc(256), 14)), 'INVALID');
    const behind = ((await sim.counterUs()) - 1000) >>> 0;
    assert.equal(await err(txFrame(behind, Buffer.from([1]), 14)), 'INVALID', 'a target the counter has passed');
    assert.equal(await sim.txStatus(), 'free', 'refused frames leave the transmitter free');
    assert.equal(sim.counters.txRefused, 9);
    assert.equal(await sim.ppsCounterUs(), null);
    await stop();
    await stop();
    assert.equal(await err(txFrame(at, Buffer.from([1]), 14)), 'NOT_STARTED');
    await assert.rejects(sim.counterUs(), (e: { code?: string }) => e.code === 'ENOTSTARTED');
  });
});

describe('SimConcentrator: listeners of the virtual air', () => {
  test('listening carries the counter read when answering', async () => {
    const { sim, peers } = await setup();
    const before = await sim.counterUs();
    await peers[0]!.send({ op: 'listen' });
    const m = await waitFor(() => peers[0]!.heard.find((x) => x.op === 'listening'), 2000, 'listening');
    const afterUs = await sim.counterUs();
    const at = m.count_us as number;
    assert.ok(((at - before) >>> 0) <= ((afterUs - before) >>> 0), `${at} not within [${before}, ${afterUs}]`);
  });

  test('every listener hears an immediate emission, with count_us read at the emission and target_us null', async () => {
    const { sim, peers } = await setup({ peers: 2 });
    for (const p of peers) {
      await p.send({ op: 'listen' });
      await waitFor(() => p.heard.find((x) => x.op === 'listening'), 2000, 'listening');
    }
    const before = await sim.counterUs();
    const r = await sim.send({ ...txFrame(0, Buffer.from('now'), 14), mode: 'immediate' });
    assert.deepEqual(r, { ok: true });
    const heard = await Promise.all(peers.map((p) => waitFor(() => p.heard.find((x) => x.op === 'downlink'), 2000, 'downlink')));
    const afterUs = await sim.counterUs();
    assert.deepEqual(heard[0], heard[1], 'both listeners hear the same datagram');
    const d = heard[0]!;
    assert.equal(d.target_us, null);
    assert.equal(d.data, Buffer.from('now').toString('base64'));
    assert.equal(d.freq, 869.525);
    assert.equal(d.size, 3);
    const at = d.count_us as number;
    assert.ok(((at - before) >>> 0) <= ((afterUs - before) >>> 0), `count_us ${at} not within [${before}, ${afterUs}]`);
    assert.notEqual(at, 0, 'not copied from the request (countUs 0)');
  });

  test('listening twice from the same address does not duplicate emissions', async () => {
    const { sim, peers } = await setup();
    const p = peers[0]!;
    for (let i = 0; i < 2; i++) await p.send({ op: 'listen' });
    await waitFor(() => p.heard.filter((x) => x.op === 'listening').length === 2, 2000, 'two listening');
    const immediate = (text: string) => sim.send({ ...txFrame(0, Buffer.from(text), 14), mode: 'immediate' });
    assert.deepEqual(await immediate('once'), { ok: true });
    await waitFor(() => p.heard.find((x) => x.op === 'downlink'), 2000, 'first downlink');
    for (let i = 0; i < 200 && (await sim.txStatus()) !== 'free'; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(await immediate('twice'), { ok: true });
    // A duplicate of the first would leave the same socket before the second.
    await waitFor(() => p.heard.filter((x) => x.op === 'downlink').length >= 2, 2000, 'second downlink');
    const texts = p.heard.filter((x) => x.op === 'downlink').map((x) => Buffer.from(x.data as string, 'base64').toString());
    assert.deepEqual(texts, ['once', 'twice']);
  });
});

describe('SimConcentrator: reception', () => {
  test('an FSK frame on the FSK channel and a LoRa frame off-centre are reported at their channel, with the air measurements', async () => {
    const { sim, peers } = await setup();
    await peers[0]!.send(uplink({ modu: 'FSK', datr: 50000, codr: undefined, lsnr: undefined, freq: 868.8, rssi: -97, crc: 'none', data: 'AAE=' }));
    await peers[0]!.send(uplink({ freq: 867.32, datr: 'SF10BW125', rssi: -118, lsnr: -12.25, crc: 'bad', data: 'AgM=' }));
    await peers[0]!.send(uplink({ modu: 'FSK', datr: 19200, codr: undefined, freq: 868.8 }));
    await waitFor(() => sim.counters.received + sim.counters.notOnPlan === 3, 2000, 'three frames judged');
    assert.equal(sim.counters.notOnPlan, 1, 'FSK at 19.2 kbit/s is not on the plan');
    const [f, l] = await sim.receive(8);
    assert.deepEqual({ ...f!, countUs: 0 }, {
      countUs: 0, freqHz: 868_800_000, ifChain: 9, rfChain: 1, crcStatus: 'none', radio: { modulation: 'FSK', datarateBps: 50000 },
      rssiDbm: -97, payload: Buffer.from([0, 1]),
    });
    assert.deepEqual({ ...l!, countUs: 0 }, {
      countUs: 0, freqHz: 867_300_000, ifChain: 4, rfChain: 0, crcStatus: 'bad',
      radio: { modulation: 'LORA', spreadingFactor: 10, bandwidthHz: 125000, codeRate: '4/5' }, rssiDbm: -118, snrDb: -12.25, payload: Buffer.from([2, 3]),
    });
  });

  test('onReceive is signalled for a burst, and a full FIFO keeps the oldest frames, drops the newest and says why', async () => {
    const { sim, peers, lines } = await setup({ fifoCapacity: 4 });
    let signals = 0;
    sim.onReceive(() => signals++);
    for (let i = 0; i < 6; i++) await peers[0]!.send(uplink({ data: Buffer.from([i]).toString('base64') }));
    await waitFor(() => sim.counters.received + sim.counters.fifoOverflow === 6, 2000, 'six frames judged');
    await waitFor(() => signals > 0, 1000, 'onReceive signal');
    assert.ok(signals <= 4, `${signals} signals for 4 queued frames`);
    assert.equal(sim.counters.fifoOverflow, 2);
    const got = await sim.receive(16);
    assert.deepEqual(got.map((p) => p.payload[0]), [0, 1, 2, 3]);
    // Rate-limited to one warning a second, carrying the running count: a flood must not flood the log.
    const warns = lines().filter((l) => l.msg === 'receive FIFO full: uplink dropped');
    assert.equal(warns.length, 1);
    assert.equal(warns[0]!.level, 40);
    assert.equal(warns[0]!.capacity, 4);
    assert.deepEqual(await sim.receive(16), []);
  });

  test('uplinks are stamped with the wrapped counter after 2^32', async () => {
    const { sim, peers } = await setup({ counterStartUs: 2 ** 32 - 20_000 });
    await new Promise((r) => setTimeout(r, 40));
    const before = await sim.counterUs();
    assert.ok(before < 1_000_000, `counter ${before} has wrapped`);
    await peers[0]!.send(uplink());
    await waitFor(() => sim.counters.received === 1, 2000, 'frame');
    const [p] = await sim.receive(1);
    const afterUs = await sim.counterUs();
    assert.ok(p!.countUs >= before && p!.countUs <= afterUs, `${p!.countUs} within [${before}, ${afterUs}]`);
  });
});

describe('SimConcentrator: listeners and TX thread faults', () => {
  test('a listener that subscribes after the frame was handed over still hears its emission', async () => {
    const { sim, peers, stop } = await setup({ peers: 1 });
    const now = await sim.counterUs();
    const target = (now + 150_000) >>> 0;
    assert.deepEqual(await sim.send(txFrame(target, Buffer.from('late-ear'), 14)), { ok: true });
    await peers[0]!.send({ op: 'listen' }); // after the hand-over
    const d = await waitFor(() => peers[0]!.heard.find((x) => x.op === 'downlink'), 2000, 'emission heard by a late subscriber');
    assert.equal(d.target_us, target);
    await stop();
  });

  test('at most MAX_LISTENERS subscriptions are kept; the oldest is evicted', async () => {
    const { MAX_LISTENERS } = await import('../hal/sim/sim-concentrator.js');
    const { sim, peers, stop } = await setup({ peers: MAX_LISTENERS + 1 });
    for (const p of peers) {
      await p.send({ op: 'listen' });
      await waitFor(() => p.heard.find((x) => x.op === 'listening'), 2000, 'listening');
    }
    const now = await sim.counterUs();
    assert.deepEqual(await sim.send(txFrame((now + 100_000) >>> 0, Buffer.from('cap'), 14)), { ok: true });
    await waitFor(() => peers[MAX_LISTENERS]!.heard.find((x) => x.op === 'downlink'), 2000, 'newest hears');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(peers[0]!.heard.find((x) => x.op === 'downlink'), undefined, 'oldest was evicted');
    assert.equal(peers.filter((p) => p.heard.some((x) => x.op === 'downlink')).length, MAX_LISTENERS);
    await stop();
  });

  test('a dead TX thread is logged, and send() then throws an I/O error with a code instead of pretending', async () => {
    const { sim, lines, stop } = await setup();
    await sim.killTxThreadForTest();
    await waitFor(() => lines().some((l) => l.msg === 'sim TX thread exited: the concentrator can no longer transmit'), 2000, 'exit logged');
    const now = await sim.counterUs();
    await assert.rejects(sim.send(txFrame((now + 100_000) >>> 0, Buffer.from('x'), 14)), { code: 'ESIMTX' });
    await stop();
  });
});
