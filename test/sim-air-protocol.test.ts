import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAirMessage, encodeAirMessage, type AirMessage } from '../hal/index.js';

// Byte vectors of the virtual air (DESIGN.md "Contracts", rule 4): each text is
// what goes in one datagram, and decoding it gives back the same message.
const VECTORS: { name: string; msg: AirMessage; text: string }[] = [
  {
    name: 'listen',
    msg: { op: 'listen' },
    text: '{"op":"listen"}',
  },
  {
    name: 'listening',
    msg: { op: 'listening', countUs: 4_294_967_295 },
    text: '{"op":"listening","count_us":4294967295}',
  },
  {
    name: 'LoRa uplink',
    msg: {
      op: 'uplink', freqHz: 868_100_000, radio: { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 125000, codeRate: '4/5' },
      rssiDbm: -60, snrDb: 9.5, crc: 'ok', payload: Buffer.from('hello'),
    },
    text: '{"op":"uplink","freq":868.1,"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":-60,"lsnr":9.5,"crc":"ok","data":"aGVsbG8="}',
  },
  {
    name: 'FSK uplink with a bad CRC',
    msg: { op: 'uplink', freqHz: 868_800_000, radio: { modulation: 'FSK', datarateBps: 50000 }, rssiDbm: -101, crc: 'bad', payload: Buffer.from([0, 255]) },
    text: '{"op":"uplink","freq":868.8,"modu":"FSK","datr":50000,"rssi":-101,"crc":"bad","data":"AP8="}',
  },
  {
    name: 'immediate FSK downlink',
    msg: {
      op: 'downlink', countUs: 7, targetUs: null, freqHz: 869_525_000, radio: { modulation: 'FSK', datarateBps: 50000 }, fdevHz: 25000,
      powerDbm: 27, invertPolarity: false, preambleSymbols: 5, noCrc: false, payload: Buffer.from([1, 2, 3, 4]),
    },
    text: '{"op":"downlink","count_us":7,"target_us":null,"freq":869.525,"modu":"FSK","datr":50000,"fdev":25000,"powe":27,"ipol":false,"prea":5,"ncrc":false,"size":4,"data":"AQIDBA=="}',
  },
  {
    name: 'implicit-header LoRa downlink (beacon) carries nhdr',
    msg: {
      op: 'downlink', countUs: 100, targetUs: 99, freqHz: 869_525_000,
      radio: { modulation: 'LORA', spreadingFactor: 9, bandwidthHz: 125000, codeRate: '4/5' },
      powerDbm: 14, invertPolarity: false, preambleSymbols: 10, noCrc: true, noHeader: true, payload: Buffer.alloc(17),
    },
    text: '{"op":"downlink","count_us":100,"target_us":99,"freq":869.525,"modu":"LORA","datr":"SF9BW125","codr":"4/5","powe":14,"ipol":false,"prea":10,"ncrc":true,"nhdr":true,"size":17,"data":"AAAAAAAAAAAAAAAAAAAAAAA="}',
  },
];

for (const v of VECTORS) {
  test(`air vector: ${v.name} encodes to its exact text and decodes back`, () => {
    assert.equal(encodeAirMessage(v.msg), v.text);
    const d = decodeAirMessage(Buffer.from(v.text));
    assert.ok(d.ok, d.ok ? '' : d.reason);
    assert.deepEqual(d.msg, v.msg);
  });
}

test('frequencies become whole Hz (MHz numbers that are not exact binary fractions)', () => {
  const d = decodeAirMessage('{"op":"uplink","freq":867.1,"modu":"LORA","datr":"SF12BW125","codr":"4/8","rssi":-120,"lsnr":-17.5,"data":""}');
  assert.ok(d.ok && d.msg.op === 'uplink');
  assert.equal(d.msg.freqHz, 867_100_000);
  assert.equal(d.msg.payload.length, 0);
});

test('crc defaults to ok', () => {
  const d = decodeAirMessage('{"op":"uplink","freq":868.1,"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":-60,"lsnr":1,"data":"AQ=="}');
  assert.ok(d.ok && d.msg.op === 'uplink');
  assert.equal(d.msg.crc, 'ok');
});

const up = (over: Record<string, unknown>) =>
  JSON.stringify({ op: 'uplink', freq: 868.1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', rssi: -60, lsnr: 9.5, crc: 'ok', data: 'AQ==', ...over });
const dl = (over: Record<string, unknown>) =>
  JSON.stringify({
    op: 'downlink', count_us: 1, target_us: 1, freq: 869.525, modu: 'LORA', datr: 'SF12BW125', codr: '4/5',
    powe: 14, ipol: true, prea: 8, ncrc: true, size: 1, data: 'AQ==', ...over,
  });

const MALFORMED: [string, string, RegExp][] = [
  ['empty datagram', '', /not JSON/],
  ['JSON null', 'null', /not a JSON object/],
  ['no op', '{}', /unknown op/],
  ['uplink without freq', up({ freq: undefined }), /freq/],
  ['uplink with freq as a string', up({ freq: '868.1' }), /freq/],
  ['uplink with a negative freq', up({ freq: -1 }), /freq/],
  ['uplink with an unknown modulation', up({ modu: 'GFSK' }), /modu/],
  ['uplink with SF6', up({ datr: 'SF6BW125' }), /datr/],
  ['FSK uplink with a string datr', up({ modu: 'FSK', datr: '50000' }), /datr/],
  ['uplink with codr 4/9', up({ codr: '4/9' }), /codr/],
  ['uplink with crc "good"', up({ crc: 'good' }), /crc/],
  ['uplink with a non-numeric rssi', up({ rssi: 'loud' }), /rssi/],
  ['uplink without data', up({ data: undefined }), /data/],
  ['uplink with URL-safe base64', up({ data: '-_8=' }), /base64/],
  ['uplink with 256 bytes', up({ data: Buffer.alloc(256).toString('base64') }), /255/],
  ['downlink whose size does not match data', dl({ size: 2 }), /size/],
  ['downlink with count_us beyond u32', dl({ count_us: 2 ** 32 }), /count_us/],
  ['downlink with a fractional target_us', dl({ target_us: 1.5 }), /target_us/],
  ['downlink without powe', dl({ powe: undefined }), /powe/],
  ['downlink with prea as a string', dl({ prea: '8' }), /prea/],
  ['LoRa downlink without ipol', dl({ ipol: undefined }), /ipol/],
  ['FSK downlink without fdev', dl({ modu: 'FSK', datr: 50000, codr: undefined }), /fdev/],
  ['listening with a negative count', '{"op":"listening","count_us":-1}', /count_us/],
];

for (const [name, text, reason] of MALFORMED) {
  test(`malformed air datagram is a value with a reason, never a throw: ${name}`, () => {
    const d = decodeAirMessage(text);
    assert.equal(d.ok, false);
    assert.match(d.ok ? '' : d.reason, reason);
  });
}
