import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeTxAckBody, encodePacket, encodeTxAckBody, TX_ACK_ERRORS } from '../src/protocol/index.js';

describe('TX_ACK body', () => {
  test('success is no JSON at all: the TX_ACK is the bare 12-byte header', () => {
    assert.equal(encodeTxAckBody(null).length, 0);
    const eui = Buffer.from('aa555a0000000101', 'hex');
    assert.deepEqual(
      encodePacket({ type: 'TX_ACK', token: 0x1234, gatewayEui: eui, body: encodeTxAckBody(null) }),
      Buffer.from('02123405aa555a0000000101', 'hex'),
    );
  });

  test('errors are {"txpk_ack":{"error":"CODE"}} and decode back', () => {
    assert.equal(encodeTxAckBody('TOO_LATE').toString(), '{"txpk_ack":{"error":"TOO_LATE"}}');
    for (const code of TX_ACK_ERRORS) {
      const b = encodeTxAckBody(code);
      assert.equal(b.toString(), `{"txpk_ack":{"error":"${code}"}}`);
      assert.deepEqual(decodeTxAckBody(b), { ok: true, error: code });
    }
  });

  test('decode: empty and "NONE" are success', () => {
    assert.deepEqual(decodeTxAckBody(Buffer.alloc(0)), { ok: true, error: null });
    assert.deepEqual(decodeTxAckBody(Buffer.from('{"txpk_ack":{"error":"NONE"}}')), { ok: true, error: null });
  });

  const rejects: [string, string, string][] = [
    ['"error":"" (chirpstack-udp-forwarder)', '{"txpk_ack":{"error":""}}', 'txpk_ack error is "" (TTS reads that as UNKNOWN_ERROR; send no JSON for success)'],
    ['warn-only (sx1302_hal)', '{"txpk_ack":{"warn":"TX_POWER","value":14}}', 'txpk_ack has no error field (TTS reads that as UNKNOWN_ERROR)'],
    ['a code outside PROTOCOL.TXT', '{"txpk_ack":{"error":"QUEUE_FULL"}}', 'txpk_ack error "QUEUE_FULL" is not a PROTOCOL.TXT code'],
    ['a non-string error', '{"txpk_ack":{"error":1}}', 'txpk_ack error 1 is not a PROTOCOL.TXT code'],
    ['no txpk_ack', '{"ack":{}}', 'txpk_ack missing or not a JSON object'],
    ['not an object', '[]', 'TX_ACK body is not a JSON object'],
  ];
  for (const [name, text, reason] of rejects) {
    test(`decode rejects ${name}`, () => assert.deepEqual(decodeTxAckBody(Buffer.from(text)), { ok: false, reason }));
  }

  test('decode rejects invalid JSON', () => {
    const r = decodeTxAckBody(Buffer.from('{"txpk_ack":'));
    assert.match(!r.ok ? r.reason : '', /^TX_ACK body is not valid JSON: /);
  });
});
