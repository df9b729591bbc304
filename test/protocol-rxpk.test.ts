import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RxPacket } from '../hal/index.js';
import { decodeRxpk, encodeRxpk, rxPacketToRxpk, rxpkToRxPacket, type Rxpk } from '../src/protocol/index.js';

/** 2013-03-31T16:21:17.528002Z, the PROTOCOL.TXT example time, in µs since the Unix epoch. */
const UTC_US = 1_364_746_877_528_002;

function lora(over: Partial<RxPacket> = {}): RxPacket {
  return {
    countUs: 3_512_348_611,
    freqHz: 866_349_812,
    ifChain: 2,
    rfChain: 0,
    crcStatus: 'ok',
    radio: { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 125_000, codeRate: '4/6' },
    rssiDbm: -35.4,
    snrDb: 5.1,
    payload: Buffer.from('hello'),
    ...over,
  };
}

function fsk(over: Partial<RxPacket> = {}): RxPacket {
  return {
    countUs: 3_512_348_514,
    freqHz: 868_800_000,
    ifChain: 9,
    rfChain: 1,
    crcStatus: 'none',
    radio: { modulation: 'FSK', datarateBps: 50_000 },
    rssiDbm: -75,
    snrDb: 3, // the wire has no lsnr for FSK, whatever the radio says
    payload: Buffer.from('TEST_PACKET_1234'),
    ...over,
  };
}

describe('rxpk: exact JSON text', () => {
  test('LoRa with UTC and GPS time, in PF4 field order', () => {
    const text = encodeRxpk(rxPacketToRxpk(lora(), { utcUs: UTC_US, gpsMs: 1_048_782_095_528.9 }));
    assert.equal(
      text,
      '{"tmst":3512348611,"time":"2013-03-31T16:21:17.528002Z","tmms":1048782095528,"chan":2,"rfch":0,' +
        '"freq":866.349812,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/6","lsnr":5.1,"rssi":-35,' +
        '"size":5,"data":"aGVsbG8="}',
    );
  });

  test('FSK: integer datr, no codr, no lsnr, stat 0 for no CRC; no time without a reference', () => {
    assert.equal(
      encodeRxpk(rxPacketToRxpk(fsk())),
      '{"tmst":3512348514,"chan":9,"rfch":1,"freq":868.800000,"stat":0,"modu":"FSK","datr":50000,"rssi":-75,"size":16,"data":"VEVTVF9QQUNLRVRfMTIzNA=="}',
    );
  });

  test('CRC-bad is stat -1; SF12BW500 and 4/8', () => {
    const text = encodeRxpk(
      rxPacketToRxpk(lora({ crcStatus: 'bad', radio: { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 500_000, codeRate: '4/8' } })),
    );
    assert.match(text, /"stat":-1,"modu":"LORA","datr":"SF12BW500","codr":"4\/8",/);
  });

  const rssi: [number, string][] = [
    [-35.4, '-35'],
    [-35.5, '-36'],
    [-35.6, '-36'],
    [-36.5, '-36'],
    [-120, '-120'],
  ];
  for (const [dbm, want] of rssi) {
    test(`rssi ${dbm} dBm is written as the integer ${want}`, () => {
      assert.match(encodeRxpk(rxPacketToRxpk(lora({ rssiDbm: dbm }))), new RegExp(`"rssi":${want},`));
    });
  }

  const lsnr: [number, string][] = [
    [-7.25, '-7.2'],
    [9.5, '9.5'],
    [-0.04, '0.0'],
    [-12.75, '-12.8'],
    [10, '10.0'],
  ];
  for (const [db, want] of lsnr) {
    test(`lsnr ${db} dB is written ${want}`, () => {
      assert.match(encodeRxpk(rxPacketToRxpk(lora({ snrDb: db }))), new RegExp(`"lsnr":${want},`));
    });
  }

  const freqs: [number, string][] = [
    [868_100_000, '868.100000'],
    [869_525_000, '869.525000'],
    [923_300_000, '923.300000'],
  ];
  for (const [hz, want] of freqs) {
    test(`freq ${hz} Hz → ${want}`, () => {
      assert.match(encodeRxpk(rxPacketToRxpk(lora({ freqHz: hz }))), new RegExp(`"freq":${want.replace('.', '\\.')},`));
    });
  }

  test('time keeps leading zeros of the microseconds', () => {
    const text = encodeRxpk(rxPacketToRxpk(lora(), { utcUs: 1_364_746_877_000_042 }));
    assert.match(text, /"time":"2013-03-31T16:21:17\.000042Z",/);
  });

  test('data is padded standard base64', () => {
    assert.match(encodeRxpk(rxPacketToRxpk(lora({ payload: Uint8Array.of(0xfb) }))), /"size":1,"data":"\+w=="\}$/);
    assert.match(encodeRxpk(rxPacketToRxpk(lora({ payload: Uint8Array.of(0xfb, 0xff) }))), /"size":2,"data":"\+\/8="\}$/);
  });

  test('a LoRa packet without SNR has no lsnr key', () => {
    const { snrDb: _drop, ...noSnr } = lora();
    assert.doesNotMatch(encodeRxpk(rxPacketToRxpk(noSnr)), /lsnr/);
  });
});

describe('rxpk: decode', () => {
  test('encode → JSON.parse → decode gives the rxpk back, and rxpkToRxPacket the packet', () => {
    const pkt = lora({ rssiDbm: -35, snrDb: 5.5 });
    for (const p of [pkt, fsk({ snrDb: undefined })]) {
      const r = rxPacketToRxpk(p, { utcUs: UTC_US });
      assert.deepEqual(decodeRxpk(JSON.parse(encodeRxpk(r))), { ok: true, rxpk: r });
      const back = rxpkToRxPacket(r);
      const { snrDb, ...rest } = p;
      assert.deepEqual(back, { ...rest, payload: new Uint8Array(p.payload), ...(snrDb === undefined ? {} : { snrDb }) });
    }
  });

  const valid = (): Record<string, unknown> => JSON.parse(encodeRxpk(rxPacketToRxpk(lora(), { utcUs: UTC_US })));
  const rejects: [string, Record<string, unknown>, string][] = [
    ['tmst missing', { tmst: undefined }, 'tmst missing'],
    ['tmst beyond u32', { tmst: 4294967296 }, 'tmst 4294967296 is not an integer in 0..4294967295'],
    ['tmst negative', { tmst: -1 }, 'tmst -1 is not an integer in 0..4294967295'],
    ['tmst as a string', { tmst: '1' }, 'tmst "1" is not an integer in 0..4294967295'],
    ['empty time (TTS rejects it)', { time: '' }, 'time "" is not RFC 3339 like 2013-03-31T16:21:17.528002Z'],
    ['time without T', { time: '2013-03-31 16:21:17Z' }, 'time "2013-03-31 16:21:17Z" is not RFC 3339 like 2013-03-31T16:21:17.528002Z'],
    ['time with month 13', { time: '2013-13-31T16:21:17Z' }, 'time "2013-13-31T16:21:17Z" is not RFC 3339 like 2013-03-31T16:21:17.528002Z'],
    ['tmms fractional', { tmms: 1.5e12 + 0.5 }, 'tmms 1500000000000.5 is not an integer in 0..9007199254740991'],
    ['chan 256', { chan: 256 }, 'chan 256 is not an integer in 0..255'],
    ['rfch -1', { rfch: -1 }, 'rfch -1 is not an integer in 0..255'],
    ['freq 0', { freq: 0 }, 'freq 0 is not a positive frequency in MHz'],
    ['freq as a string', { freq: '868.1' }, 'freq "868.1" is not a number'],
    ['stat 2', { stat: 2 }, 'stat 2 is not an integer in -1..1'],
    ['modu missing', { modu: undefined }, 'modu missing'],
    ['modu LR-FHSS', { modu: 'LR-FHSS' }, 'modu "LR-FHSS" is not "LORA" or "FSK"'],
    ['datr missing', { datr: undefined }, 'datr missing'],
    ['datr SF6', { datr: 'SF6BW125' }, 'datr "SF6BW125": spreading factor 6 not in 7..12'],
    ['datr BW200', { datr: 'SF7BW200' }, 'datr "SF7BW200": bandwidth 200 kHz not 125, 250 or 500'],
    ['datr number for LoRa', { datr: 50000 }, 'datr 50000 is not a LoRa datarate string like "SF7BW125"'],
    ['datr garbage', { datr: 'SF7 BW125' }, 'datr "SF7 BW125" is not of the form SF<n>BW<kHz>'],
    ['codr missing for LoRa', { codr: undefined }, 'codr missing (required for LORA)'],
    ['codr OFF (PF4 false sync)', { codr: 'OFF' }, 'codr "OFF" is not 4/5, 4/6, 4/7 or 4/8'],
    ['codr alias 2/3 is downlink-only', { codr: '2/3' }, 'codr "2/3" is not 4/5, 4/6, 4/7 or 4/8'],
    ['FSK datr as a string', { modu: 'FSK', datr: '50000' }, 'datr "50000" is not an FSK bit rate (positive integer, bps)'],
    ['rssi fractional', { rssi: -35.5 }, 'rssi -35.5 is not an integer in -32768..32767'],
    ['rssi beyond int16', { rssi: -40000 }, 'rssi -40000 is not an integer in -32768..32767'],
    ['lsnr as a string', { lsnr: '5.1' }, 'lsnr "5.1" is not a number'],
    ['size mismatch', { size: 4 }, 'size 4 does not match the 5 bytes of data'],
    ['size missing', { size: undefined }, 'size missing'],
    ['data missing', { data: undefined }, 'data missing'],
    ['data unpadded (ChirpStack rejects it)', { data: 'aGVsbG8' }, "data not padded base64: 1 '=' missing"],
    ['data URL-safe', { data: '-_8=', size: 2 }, "data not standard base64: URL-safe character '-' at index 0"],
  ];
  for (const [name, over, reason] of rejects) {
    test(`rejects ${name}`, () => {
      const o = { ...valid(), ...over };
      for (const k of Object.keys(over)) if (over[k] === undefined) delete o[k];
      assert.deepEqual(decodeRxpk(o), { ok: false, reason });
    });
  }

  test('rejects non-objects', () => {
    for (const v of [null, [], 'rxpk', 1]) assert.deepEqual(decodeRxpk(v), { ok: false, reason: 'rxpk is not a JSON object' });
  });

  test('null counts as absent; unknown keys are ignored; an FSK codr is dropped', () => {
    const o = { ...JSON.parse(encodeRxpk(rxPacketToRxpk(fsk()))), time: null, codr: '4/5', rsig: [], brd: 0 };
    const r = decodeRxpk(o);
    assert.ok(r.ok);
    assert.equal(r.rxpk.time, undefined);
    assert.equal(r.rxpk.codr, undefined);
    assert.deepEqual(Object.keys(r.rxpk), ['tmst', 'chan', 'rfch', 'freq', 'stat', 'modu', 'datr', 'rssi', 'size', 'data']);
  });

  test('rxpkToRxPacket refuses an rxpk that did not come from decodeRxpk', () => {
    const r: Rxpk = { ...rxPacketToRxpk(lora()), datr: 'SF99BW1' };
    assert.throws(() => rxpkToRxPacket(r), { code: 'ERR_INVALID_RXPK' });
  });
});
