import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PollBackoff } from '../hal/poll-backoff.js';
import { LoadShapeRadio } from '../bench/loadshape-radio.js';
import { NetworkServerStandIn, type PushEvent } from '../src/demo/network-server.js';
import { Forwarder } from '../src/forwarder.js';
import { FETCH_FAST_MS, FETCH_SLEEP_MS, NB_PKT_MAX } from '../src/upstream.js';
import { memoryLogger, testConfig, waitFor } from './helpers/harness.js';

/**
 * The polls grouped into drains: a poll the timer started, and the receive
 * calls its drain made right after while each got a full NB_PKT_MAX (on a
 * loaded machine a late timer finds that many): one wait, one total.
 */
function drains(polls: readonly { found: number; delayBefore: number }[]): { found: number; delayBefore: number }[] {
  const out: { found: number; delayBefore: number }[] = [];
  for (let i = 0; i < polls.length; i++) {
    if (i > 0 && polls[i - 1]!.found === NB_PKT_MAX) out.at(-1)!.found += polls[i]!.found;
    else out.push({ found: polls[i]!.found, delayBefore: polls[i]!.delayBefore });
  }
  return out;
}

/** Index of the last poll that found frames (-1: none). */
function lastFind(polls: readonly { found: number }[]): number {
  for (let i = polls.length - 1; i >= 0; i--) if (polls[i]!.found > 0) return i;
  return -1;
}

describe('PollBackoff', () => {
  test('fast after a poll that found frames, doubling back to the idle period over empty polls', () => {
    const b = new PollBackoff(1, 10);
    assert.equal(b.current, 10, 'a quiet radio starts at the idle period');
    assert.equal(b.next(true), 1);
    assert.equal(b.next(true), 1);
    assert.deepEqual([b.next(false), b.next(false), b.next(false), b.next(false), b.next(false)], [2, 4, 8, 10, 10]);
    assert.equal(b.next(true), 1, 'one frame is enough to poll fast again');
  });

  test('refuses periods that make no sense', () => {
    assert.throws(() => new PollBackoff(0, 10), RangeError);
    assert.throws(() => new PollBackoff(5, 2), RangeError);
  });
});

/**
 * A radio with no receive signal (the SX1301, and the load-shape radio that
 * models it): the forwarder finds frames only by polling. Each poll is
 * recorded with the wait the upstream loop had chosen before it.
 */
describe('upstream polling of a radio without a receive signal', () => {
  const QUIET_MS = 400;
  const COUNT = 60;
  const RATE = 300;
  let fwd: Forwarder;
  let ns: NetworkServerStandIn;
  const pushes: PushEvent[] = [];
  const polls: { atMs: number; found: number; delayBefore: number }[] = [];
  let loadStartMs = 0;

  before(async () => {
    ns = new NetworkServerStandIn();
    const port = await ns.start();
    ns.on('push', (e: PushEvent) => pushes.push(e));
    const startNs = process.hrtime.bigint() + BigInt(QUIET_MS) * 1_000_000n;
    loadStartMs = Number(startNs / 1_000_000n);
    const radio = new LoadShapeRadio({ rate: RATE, count: COUNT, startNs, fifoDepth: 255 });
    const receive = radio.receive.bind(radio);
    radio.receive = async (max: number) => {
      const delayBefore = fwd.upstream.pollDelayMs;
      const out = await receive(max);
      polls.push({ atMs: Number(process.hrtime.bigint() / 1_000_000n), found: out.length, delayBefore });
      return out;
    };
    const config = testConfig({ serv_port_up: port, serv_port_down: port, stat_interval: 3600 });
    fwd = new Forwarder({ config, concentrator: radio, log: memoryLogger('warn').log });
    await fwd.start();
  });
  after(async () => {
    await fwd.stop();
    ns.stop();
  });

  test('a quiet radio is polled no more often than every FETCH_SLEEP_MS', async () => {
    await waitFor(() => Number(process.hrtime.bigint() / 1_000_000n) >= loadStartMs - 20, QUIET_MS + 1000, 'the quiet spell to pass');
    const quiet = polls.filter((p) => p.atMs < loadStartMs - 20);
    const spanMs = quiet.length > 1 ? quiet.at(-1)!.atMs - quiet[0]!.atMs : 0;
    assert.ok(quiet.length >= 2, `only ${quiet.length} polls in ${QUIET_MS} ms`);
    // Timers never fire early (1 ms of clock rounding aside): an upper bound, not a race.
    assert.ok(quiet.length - 1 <= Math.floor(spanMs / (FETCH_SLEEP_MS - 1)) + 1, `${quiet.length} polls in ${spanMs} ms`);
    assert.ok(quiet.every((p) => p.found === 0 && p.delayBefore === FETCH_SLEEP_MS), 'every quiet poll waited the idle period');
  });

  test('frames are all forwarded, each poll after a find waits FETCH_FAST_MS, and the wait backs off to idle after', async () => {
    await waitFor(() => pushes.reduce((n, e) => n + e.rxpk.length, 0) >= COUNT, 5000, `${COUNT} uplinks`);
    // The last frame's drain, then enough empty polls to back off to the idle period.
    await waitFor(() => {
      const i = lastFind(polls);
      return i >= 0 && polls.length - i > 6;
    }, 2000, 'polls after the load');
    assert.equal(pushes.reduce((n, e) => n + e.rxpk.length, 0), COUNT, 'no frame lost or repeated');
    const d = drains(polls);
    for (let i = 1; i < d.length; i++) {
      if (d[i - 1]!.found > 0) assert.equal(d[i]!.delayBefore, FETCH_FAST_MS, `drain ${i} after a find waited ${d[i]!.delayBefore} ms`);
    }
    const last = lastFind(d);
    const after = d.slice(last + 1, last + 6).map((p) => p.delayBefore);
    assert.deepEqual(after, [1, 2, 4, 8, 10].map((ms) => Math.min(FETCH_SLEEP_MS, ms * FETCH_FAST_MS)));
    assert.equal(fwd.upstream.pollDelayMs, FETCH_SLEEP_MS);
  });
});
