import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimConcentrator, type Concentrator, type RxPacket, type SendResult, type TxPacket, type TxStatus } from '../hal/index.js';
import { NetworkServerStandIn, type PushEvent, type TxAckEvent } from '../src/demo/network-server.js';
import { Forwarder } from '../src/forwarder.js';
import { AirClient, loraUplink, memoryLogger, testConfig, waitFor } from './helpers/harness.js';

/** I/O errors a radio driver throws (rule 5: exceptions for I/O, with a code). */
const ioError = (what: string) => Object.assign(new Error(`${what}: SPI transfer failed`), { code: 'EIO' });

/**
 * A concentrator that passes through to the simulated one but fails the
 * next N calls of chosen methods, the way a radio on a flaky SPI bus would.
 */
class FaultyConcentrator implements Concentrator {
  readonly failNext = { receive: 0, counterUs: 0, send: 0 };
  constructor(readonly inner: SimConcentrator) {}
  start(): Promise<void> { return this.inner.start(); }
  stop(): Promise<void> { return this.inner.stop(); }
  onReceive(cb: () => void): void { this.inner.onReceive(cb); }
  txStatus(): Promise<TxStatus> { return this.inner.txStatus(); }
  ppsCounterUs(): Promise<number | null> { return this.inner.ppsCounterUs(); }
  async receive(max: number): Promise<RxPacket[]> {
    if (this.failNext.receive > 0 && this.failNext.receive--) throw ioError('receive');
    return this.inner.receive(max);
  }
  async counterUs(): Promise<number> {
    if (this.failNext.counterUs > 0 && this.failNext.counterUs--) throw ioError('counter');
    return this.inner.counterUs();
  }
  async send(p: TxPacket): Promise<SendResult> {
    if (this.failNext.send > 0 && this.failNext.send--) throw ioError('send');
    return this.inner.send(p);
  }
}

test('radio faults (receive, counter read, hand-over) are logged and counted; the forwarder keeps going', async () => {
  const ns = new NetworkServerStandIn();
  const port = await ns.start();
  const config = testConfig({ serv_port_up: port, serv_port_down: port, stat_interval: 3600 });
  const { log, lines } = memoryLogger();
  const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, log });
  const radio = new FaultyConcentrator(sim);
  const fwd = new Forwarder({ config, concentrator: radio, log });
  await fwd.start();
  const air = new AirClient(sim.airPortBound);
  const pushes: PushEvent[] = [];
  const acks: TxAckEvent[] = [];
  ns.on('push', (e: PushEvent) => pushes.push(e));
  ns.on('txack', (a: TxAckEvent) => acks.push(a));
  try {
    await waitFor(() => ns.gatewayDownlinkAddress, 3000, 'PULL_DATA');
    await air.listen(); // subscribe before any frame is handed over
    // 1. Receive fails twice: the frame stays in the radio and is forwarded at a later poll.
    radio.failNext.receive = 2;
    air.send(loraUplink({ data: 'ZmF1bHQ=' }));
    await waitFor(() => pushes.some((e) => e.rxpk.some((r) => r.data === 'ZmF1bHQ=')), 3000, 'uplink after receive faults');
    assert.ok(lines().filter((l) => l.msg === 'receive from concentrator failed').length >= 2);

    // 2. The frame's hand-over fails: counted as txFailed, logged with the code, nothing thrown.
    radio.failNext.send = 1;
    const t1 = ns.sendPullResp({ imme: true, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 1, data: 'AQ==' });
    await waitFor(() => acks.find((a) => a.token === t1), 3000, 'TX_ACK 1');
    await waitFor(() => fwd.stats.counters.txFailed === 1, 3000, 'txFailed');
    assert.ok(lines().some((l) => l.msg === 'downlink hand-over failed' && l.code === 'EIO'));

    // 3. A counter read fails while scheduling: the server is told (TX_ACK error), the next request works.
    radio.failNext.counterUs = 1;
    const t2 = ns.sendPullResp({ imme: true, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 1, data: 'Ag==' });
    const a2 = await waitFor(() => acks.find((a) => a.token === t2), 3000, 'TX_ACK 2');
    assert.notEqual(a2.error, null);
    while ((await sim.txStatus()) !== 'free') await new Promise((r) => setTimeout(r, 20));
    const t3 = ns.sendPullResp({ imme: true, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 1, data: 'Aw==' });
    const a3 = await waitFor(() => acks.find((a) => a.token === t3), 3000, 'TX_ACK 3');
    assert.equal(a3.error, null);
    await waitFor(() => air.downlinks().some((d) => d.data === 'Aw=='), 3000, 'emission after the faults');
  } finally {
    await fwd.stop();
    air.close();
    ns.stop();
  }
});
