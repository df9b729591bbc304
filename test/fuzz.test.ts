/**
 * The short fuzz run against the real forwarder process (the full one,
 * 1 000 000 datagrams, is `npm run bench -- --paths fuzz`): see bench/fuzz.ts
 * for what is generated and checked, bench/hostile-json.ts for the hostile
 * values (issue 18: deep nesting, huge strings, every JSON type in every field).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFuzz } from '../bench/fuzz.js';

test('fuzz, real process: a sweep of every hostile value in every field, then 20 000 generated, mutated and hostile datagrams; the process never exits, no guard fires, one TX_ACK per well-formed PULL_RESP, nothing foreign answered, no illegal emission', { timeout: 180_000 }, async () => {
  const r = await runFuzz({ total: 20_000, seed: 7 });
  process.stdout.write(`# fuzz: ${JSON.stringify(r)}\n`);
  // Still there and never needed its last resort: every input was handled by the decoders themselves.
  assert.equal(r.processAlive, true);
  assert.equal(r.internalErrors, 0);
  assert.equal(r.errorsLogged, 0, r.errorSamples.join('\n'));
  assert.equal(r.exitCode, 0, 'a clean exit on SIGTERM after the run');

  const s = r.sweep.pullResp;
  assert.ok(s.sent > 500 && s.wellFormed > 50 && s.invalid > 400 && s.garbage > 20, JSON.stringify(s));
  assert.equal(s.missingTxAcks, 0, 'every well-formed PULL_RESP of the sweep answered');
  assert.equal(s.unexpectedTxAcks, 0, 'no malformed one answered, none answered twice');
  assert.equal(s.invalidCounted, s.invalid, 'each malformed PULL_RESP counted (pullRespInvalid)');
  assert.equal(s.garbageCounted, s.garbage, 'each datagram that is no PULL_RESP counted (downGarbage)');
  assert.ok(r.sweep.air.sent > 700, `${r.sweep.air.sent} air datagrams`);
  assert.equal(r.sweep.air.uplinkAfterOk, true, 'an uplink forwarded after the air sweep');

  const d = r.datagrams;
  assert.equal(d.total, 20_000);
  assert.ok(d.validFromServer > 5000 && d.mutatedFromServer > 5000 && d.hostileFromServer > 500 && d.foreign > 500 && d.air > 150 && d.hostileAir > 150, JSON.stringify(d));
  assert.equal(r.missingTxAcks, 0);
  assert.equal(r.duplicateTxAcks, 0);
  assert.equal(r.txAcksForValid, d.validFromServer);
  assert.equal(r.foreignNotIgnored, 0);
  assert.deepEqual(r.illegalEmissions, []);
  assert.ok(r.emissions >= 10, `${r.emissions} frames went out`);
  assert.equal(r.emissions, r.handedOver, 'every frame handed to the radio was heard and checked');

  assert.equal(r.txAckErrorAtEnd, 'TX_FREQ', 'a refused request still answered with its TX_ACK code');
  assert.equal(r.finalDownlinkOk, true);
  assert.equal(r.uplinkAtEndOk, true);
});
