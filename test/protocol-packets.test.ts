import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodePacket, encodePacket, MAX_DATAGRAM_BYTES, PROTOCOL_VERSION, type UdpPacket } from '../src/protocol/index.js';

const EUI = Buffer.from('aa555a0000000101', 'hex');

/** Every packet type with its exact bytes (PROTOCOL.TXT §3.2-§5.5). */
const VECTORS: [string, UdpPacket, Buffer][] = [
  [
    'PUSH_DATA',
    { type: 'PUSH_DATA', token: 0x01a2, gatewayEui: EUI, body: Buffer.from('{}') },
    Buffer.from('0201a200aa555a00000001017b7d', 'hex'),
  ],
  ['PUSH_ACK', { type: 'PUSH_ACK', token: 0x01a2 }, Buffer.from('0201a201', 'hex')],
  ['PULL_DATA', { type: 'PULL_DATA', token: 0xbeef, gatewayEui: EUI }, Buffer.from('02beef02aa555a0000000101', 'hex')],
  ['PULL_RESP', { type: 'PULL_RESP', token: 0, body: Buffer.from('{"a":1}') }, Buffer.from('020000037b2261223a317d', 'hex')],
  ['PULL_ACK', { type: 'PULL_ACK', token: 0xbeef }, Buffer.from('02beef04', 'hex')],
  [
    'TX_ACK success (bare header)',
    { type: 'TX_ACK', token: 0x1234, gatewayEui: EUI, body: Buffer.alloc(0) },
    Buffer.from('02123405aa555a0000000101', 'hex'),
  ],
  [
    'TX_ACK with JSON',
    { type: 'TX_ACK', token: 0xffff, gatewayEui: EUI, body: Buffer.from('{}') },
    Buffer.from('02ffff05aa555a00000001017b7d', 'hex'),
  ],
];

describe('packets: byte vectors', () => {
  test('protocol version is 2', () => {
    assert.equal(PROTOCOL_VERSION, 2);
  });

  for (const [name, packet, bytes] of VECTORS) {
    test(`${name} encodes to the exact bytes and decodes back`, () => {
      assert.deepEqual(encodePacket(packet), bytes);
      assert.deepEqual(decodePacket(bytes), { ok: true, packet });
    });
  }

  test('the token is bytes 1-2 big-endian, so echoing it reproduces the bytes', () => {
    const r = decodePacket(Buffer.from('02123401', 'hex'));
    assert.ok(r.ok);
    assert.equal(r.packet.token, 0x1234);
    const ack = encodePacket({ type: 'PUSH_ACK', token: r.packet.token });
    assert.deepEqual(ack.subarray(1, 3), Buffer.from('1234', 'hex'));
  });

  test('decoded EUI and body do not alias the input datagram', () => {
    const bytes = Buffer.from('0201a200aa555a00000001017b7d', 'hex');
    const r = decodePacket(bytes);
    bytes.fill(0);
    assert.ok(r.ok && r.packet.type === 'PUSH_DATA');
    assert.deepEqual(r.packet.gatewayEui, EUI);
    assert.equal(r.packet.body.toString(), '{}');
  });
});

describe('packets: rejected datagrams', () => {
  test('fewer than 4 bytes is too short', () => {
    for (let n = 0; n < 4; n++) {
      assert.deepEqual(decodePacket(Buffer.from('0201a200', 'hex').subarray(0, n)), { ok: false, reason: `too short (${n} bytes)` });
    }
  });

  test('PUSH_DATA, PULL_DATA and TX_ACK truncated anywhere in the 12-byte header', () => {
    const full: [string, Buffer][] = [
      ['PUSH_DATA', Buffer.from('0201a200aa555a00000001017b7d', 'hex')],
      ['PULL_DATA', Buffer.from('02beef02aa555a0000000101', 'hex')],
      ['TX_ACK', Buffer.from('02123405aa555a0000000101', 'hex')],
    ];
    for (const [type, bytes] of full) {
      for (let n = 0; n < 12; n++) {
        const r = decodePacket(bytes.subarray(0, n));
        const want =
          n < 4 ? `too short (${n} bytes)` : type === 'PULL_DATA' ? `PULL_DATA must be exactly 12 bytes (${n})` : `${type} shorter than 12-byte header (${n} bytes)`;
        assert.deepEqual(r, { ok: false, reason: want }, `${type} cut to ${n} bytes`);
      }
    }
  });

  test('PUSH_DATA with a header but no JSON body', () => {
    assert.deepEqual(decodePacket(Buffer.from('0201a2000102030405060708', 'hex')), { ok: false, reason: 'PUSH_DATA has no JSON body' });
  });

  test('PULL_DATA with trailing bytes is rejected (ChirpStack wants exactly 12)', () => {
    assert.deepEqual(decodePacket(Buffer.from('02beef02aa555a000000010100', 'hex')), {
      ok: false,
      reason: 'PULL_DATA must be exactly 12 bytes (13)',
    });
  });

  test('PUSH_ACK and PULL_ACK with trailing bytes are accepted, as PF4 does', () => {
    assert.deepEqual(decodePacket(Buffer.from('02beef04ffff', 'hex')), { ok: true, packet: { type: 'PULL_ACK', token: 0xbeef } });
    assert.deepEqual(decodePacket(Buffer.from('0201a20100', 'hex')), { ok: true, packet: { type: 'PUSH_ACK', token: 0x01a2 } });
  });

  test('wrong protocol version', () => {
    for (const v of [0, 1, 3, 0xff]) {
      const bytes = Buffer.from([v, 0, 0, 1]);
      assert.deepEqual(decodePacket(bytes), { ok: false, reason: `unsupported protocol version ${v}` });
    }
  });

  test('unknown packet type', () => {
    for (const t of [6, 9, 0xff]) {
      assert.deepEqual(decodePacket(Buffer.from([2, 0, 0, t, 1, 2, 3])), { ok: false, reason: `unknown packet type ${t}` });
    }
  });

  test('JSON bodies must start with {', () => {
    assert.deepEqual(decodePacket(Buffer.from('0200000320', 'hex')), { ok: false, reason: 'PULL_RESP body does not start with {' });
    assert.deepEqual(decodePacket(Buffer.from('02000003', 'hex')), { ok: false, reason: 'PULL_RESP has no JSON body' });
    assert.deepEqual(decodePacket(Buffer.from('0201a200aa555a00000001015b5d', 'hex')), {
      ok: false,
      reason: 'PUSH_DATA body does not start with {',
    });
    assert.deepEqual(decodePacket(Buffer.from('02123405aa555a000000010100', 'hex')), {
      ok: false,
      reason: 'TX_ACK body does not start with {',
    });
  });

  test('oversized datagrams', () => {
    const header = Buffer.from('02000003', 'hex');
    const fits = Buffer.concat([header, Buffer.from('{'), Buffer.alloc(MAX_DATAGRAM_BYTES - 5, 0x20)]);
    assert.equal(fits.length, 65_507);
    assert.equal(decodePacket(fits).ok, true);
    const over = Buffer.concat([fits, Buffer.from(' ')]);
    assert.deepEqual(decodePacket(over), { ok: false, reason: 'too long (65508 bytes > 65507)' });
  });
});

describe('packets: encode refuses programmer errors', () => {
  const bad: [string, UdpPacket][] = [
    ['token 65536', { type: 'PUSH_ACK', token: 65536 }],
    ['token -1', { type: 'PULL_ACK', token: -1 }],
    ['token 1.5', { type: 'PULL_ACK', token: 1.5 }],
    ['EUI of 7 bytes', { type: 'PULL_DATA', token: 1, gatewayEui: Buffer.alloc(7) }],
    ['PUSH_DATA body not starting with {', { type: 'PUSH_DATA', token: 1, gatewayEui: EUI, body: Buffer.from('[]') }],
    ['PULL_RESP with an empty body', { type: 'PULL_RESP', token: 1, body: Buffer.alloc(0) }],
    ['oversized PUSH_DATA', { type: 'PUSH_DATA', token: 1, gatewayEui: EUI, body: Buffer.concat([Buffer.from('{'), Buffer.alloc(65_495)]) }],
  ];
  for (const [name, p] of bad) {
    test(name, () => {
      assert.throws(() => encodePacket(p), { code: 'ERR_INVALID_PACKET' });
    });
  }

  test('the largest PUSH_DATA is exactly 65 507 bytes', () => {
    const body = Buffer.concat([Buffer.from('{'), Buffer.alloc(65_494, 0x20)]);
    assert.equal(encodePacket({ type: 'PUSH_DATA', token: 1, gatewayEui: EUI, body }).length, 65_507);
  });
});
