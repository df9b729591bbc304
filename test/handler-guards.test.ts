/**
 * The last-resort guards on the forwarder's socket and radio callbacks
 * (issue 18, part 2): an exception thrown inside one (here by a listener the
 * test adds to the real socket or radio, standing for a bug nobody found
 * yet) is caught, logged, counted in the status, and the forwarder carries
 * on serving uplinks and downlinks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TxAckEvent } from '../src/demo/network-server.js';
import type { PushEvent } from '../src/demo/network-server.js';
import { loraUplink, startHarness, waitFor, type Harness } from './helpers/harness.js';

const TXPK = { imme: true, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA' as const, datr: 'SF9BW125', codr: '4/5', ipol: true, size: 2, data: 'AQI=' };

describe('last-resort guards', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ gateway: { keepalive_interval: 1, stat_interval: 3600 } });
    await waitFor(() => h.ns.gatewayDownlinkAddress, 3000, 'first PULL_DATA');
  });
  after(() => h.stop());

  test('a throw inside the downstream socket callback: counted per handler, logged, and the next PULL_RESP is served', async () => {
    let armed = true;
    h.fwd.link.on('down-datagram', () => {
      if (armed) {
        armed = false;
        throw new Error('injected fault in a datagram handler');
      }
    });
    const acks: TxAckEvent[] = [];
    h.ns.on('txack', (a: TxAckEvent) => acks.push(a));
    // The forwarder's own listener runs before the throwing one: this PULL_RESP is still answered.
    const first = h.ns.sendPullResp(TXPK);
    await waitFor(() => h.fwd.status().internalErrors.total === 1, 3000, 'the fault counted');
    const st = h.fwd.status().internalErrors;
    assert.deepEqual(st.byHandler, { 'down-datagram socket': 1 });
    assert.equal(st.forwarder, 1);
    assert.equal(h.fwd.stats.counters.internalErrors, 1);
    const line = h.logLines().find((l) => l.msg === 'internal error in a handler; carrying on');
    assert.ok(line, 'logged');
    assert.equal(line.handler, 'down-datagram socket');
    assert.equal(line.err, 'injected fault in a datagram handler');
    const second = h.ns.sendPullResp({ ...TXPK, data: 'AwQ=' });
    await waitFor(() => acks.some((a) => a.token === second), 3000, 'TX_ACK of the next PULL_RESP');
    assert.ok(acks.some((a) => a.token === first));
  });

  test('a throw inside the radio\'s receive signal: counted as the radio\'s, and uplinks still reach the server', async () => {
    let armed = true;
    h.sim.onReceive(() => {
      if (armed) {
        armed = false;
        throw new Error('injected fault in a receive callback');
      }
    });
    const seen: string[] = [];
    h.ns.on('push', (e: PushEvent) => seen.push(...e.rxpk.map((r) => r.data)));
    const before = h.fwd.status().internalErrors;
    const one = Buffer.from('guard-1').toString('base64');
    const two = Buffer.from('guard-2').toString('base64');
    h.air.send(loraUplink({ data: one }));
    await waitFor(() => h.sim.counters.internalErrors === 1, 3000, 'the fault counted by the sim');
    h.air.send(loraUplink({ data: two }));
    await waitFor(() => seen.includes(one) && seen.includes(two), 3000, 'both uplinks forwarded');
    const st = h.fwd.status().internalErrors;
    assert.equal(st.radio, 1);
    assert.equal(st.total, before.total + 1);
  });
});
