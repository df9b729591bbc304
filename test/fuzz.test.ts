/**
 * The short fuzz run (the full one, 1 000 000 datagrams, is `npm run bench --
 * --paths fuzz`): see bench/fuzz.ts for what is generated and checked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFuzz } from '../bench/fuzz.js';

test('fuzz: 20 000 generated and mutated datagrams; no crash, one TX_ACK per well-formed PULL_RESP, nothing foreign answered, no illegal emission', { timeout: 120_000 }, async () => {
  const r = await runFuzz({ total: 20_000, seed: 7 });
  process.stdout.write(`# fuzz: ${JSON.stringify(r)}\n`);
  assert.equal(r.datagrams.total, 20_000);
  assert.ok(r.datagrams.validFromServer > 5000 && r.datagrams.mutatedFromServer > 5000 && r.datagrams.foreign > 500 && r.datagrams.air > 300, JSON.stringify(r.datagrams));
  assert.equal(r.missingTxAcks, 0);
  assert.equal(r.duplicateTxAcks, 0);
  assert.equal(r.txAcksForValid, r.datagrams.validFromServer);
  assert.equal(r.foreignNotIgnored, 0);
  assert.deepEqual(r.illegalEmissions, []);
  assert.ok(r.emissions >= 10, `${r.emissions} frames went out`);
  assert.equal(r.emissions, r.handedOver, 'every frame handed to the radio was heard and checked');
  assert.equal(r.finalDownlinkOk, true);
  assert.equal(r.errorsLogged, 0);
});
