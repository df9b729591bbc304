/**
 * The example JSON objects of PROTOCOL.TXT (§4 and §6), copied verbatim with
 * their whitespace, through our strict decoders and back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeRxpk,
  decodeStat,
  decodeTxAckBody,
  encodeRxpk,
  encodeStat,
  encodeTxAckBody,
  parsePullRespBody,
  parsePushDataBody,
} from '../src/protocol/index.js';

const RXPK_EXAMPLE = `{"rxpk":[
	{
		"time":"2013-03-31T16:21:17.528002Z",
		"tmst":3512348611,
		"chan":2,
		"rfch":0,
		"freq":866.349812,
		"stat":1,
		"modu":"LORA",
		"datr":"SF7BW125",
		"codr":"4/6",
		"rssi":-35,
		"lsnr":5.1,
		"size":32,
		"data":"-DS4CGaDCdG+48eJNM3Vai-zDpsR71Pn9CPA9uCON84"
	},{
		"time":"2013-03-31T16:21:17.530974Z",
		"tmst":3512348514,
		"chan":9,
		"rfch":1,
		"freq":869.1,
		"stat":1,
		"modu":"FSK",
		"datr":50000,
		"rssi":-75,
		"size":16,
		"data":"VEVTVF9QQUNLRVRfMTIzNA=="
	},{
		"time":"2013-03-31T16:21:17.532038Z",
		"tmst":3316387610,
		"chan":0,
		"rfch":0,
		"freq":863.00981,
		"stat":1,
		"modu":"LORA",
		"datr":"SF10BW125",
		"codr":"4/7",
		"rssi":-38,
		"lsnr":5.5,
		"size":32,
		"data":"ysgRl452xNLep9S1NTIg2lomKDxUgn3DJ7DE+b00Ass"
	}
]}`;

const STAT_EXAMPLE = `{"stat":{
	"time":"2014-01-12 08:59:28 GMT",
	"lati":46.24000,
	"long":3.25230,
	"alti":145,
	"rxnb":2,
	"rxok":2,
	"rxfw":2,
	"ackr":100.0,
	"dwnb":2,
	"txnb":2
}}`;

const TXPK_LORA_EXAMPLE = `{"txpk":{
	"imme":true,
	"freq":864.123456,
	"rfch":0,
	"powe":14,
	"modu":"LORA",
	"datr":"SF11BW125",
	"codr":"4/6",
	"ipol":false,
	"size":32,
	"data":"H3P3N2i9qc4yt7rK7ldqoeCVJGBybzPY5h1Dd7P7p8v"
}}`;

const TXPK_FSK_EXAMPLE = `{"txpk":{
	"imme":true,
	"freq":861.3,
	"rfch":0,
	"powe":12,
	"modu":"FSK",
	"datr":50000,
	"fdev":3000,
	"size":32,
	"data":"H3P3N2i9qc4yt7rK7ldqoeCVJGBybzPY5h1Dd7P7p8v"
}}`;

const TX_ACK_EXAMPLE = `{"txpk_ack":{
	"error":"COLLISION_PACKET"
}}`;

describe('PROTOCOL.TXT examples', () => {
  const items = (JSON.parse(RXPK_EXAMPLE) as { rxpk: unknown[] }).rxpk;

  test('rxpk #1 is refused: its data uses URL-safe "-" (ChirpStack and TTS refuse it too)', () => {
    assert.deepEqual(decodeRxpk(items[0]), { ok: false, reason: "data not standard base64: URL-safe character '-' at index 0" });
  });

  test('rxpk #3 is refused: its data lacks the "=" padding PROTOCOL.TXT itself requires (ChirpStack refuses it)', () => {
    assert.deepEqual(decodeRxpk(items[2]), { ok: false, reason: "data not padded base64: 1 '=' missing" });
  });

  test('so the whole example datagram is refused, naming the first bad rxpk', () => {
    assert.deepEqual(parsePushDataBody(Buffer.from(RXPK_EXAMPLE)), {
      ok: false,
      reason: "rxpk[0]: data not standard base64: URL-safe character '-' at index 0",
    });
  });

  test('rxpk #2 (FSK) round-trips into PF4 order and formats', () => {
    const r = decodeRxpk(items[1]);
    assert.ok(r.ok);
    assert.equal(
      encodeRxpk(r.rxpk),
      '{"tmst":3512348514,"time":"2013-03-31T16:21:17.530974Z","chan":9,"rfch":1,"freq":869.100000,"stat":1,' +
        '"modu":"FSK","datr":50000,"rssi":-75,"size":16,"data":"VEVTVF9QQUNLRVRfMTIzNA=="}',
    );
    assert.deepEqual(decodeRxpk(JSON.parse(encodeRxpk(r.rxpk))), r);
  });

  test('stat round-trips to the same text minus whitespace', () => {
    const body = parsePushDataBody(Buffer.from(STAT_EXAMPLE));
    assert.ok(body.ok && body.stat);
    assert.deepEqual(body.rxpk, []);
    assert.equal(`{"stat":${encodeStat(body.stat)}}`, STAT_EXAMPLE.replace(/\s+(?=["}])/g, ''));
    assert.deepEqual(decodeStat(JSON.parse(encodeStat(body.stat))), { ok: true, stat: body.stat });
  });

  test('txpk LoRa example: unpadded data accepted (padding optional downstream)', () => {
    const r = parsePullRespBody(Buffer.from(TXPK_LORA_EXAMPLE));
    assert.ok(r.ok);
    assert.deepEqual(r.request.timing, { kind: 'immediate' });
    assert.equal(r.request.freqHz, 864_123_456);
    assert.deepEqual(r.request.radio, { modulation: 'LORA', spreadingFactor: 11, bandwidthHz: 125_000, codeRate: '4/6' });
    assert.equal(r.request.payload.length, 32);
    assert.deepEqual(r.request.warnings, []);
  });

  test('txpk FSK example', () => {
    const r = parsePullRespBody(Buffer.from(TXPK_FSK_EXAMPLE));
    assert.ok(r.ok);
    assert.equal(r.request.freqHz, 861_300_000);
    assert.equal(r.request.powerDbm, 12);
    assert.equal(r.request.fdevHz, 3000);
    assert.equal(r.request.preambleSymbols, 5);
  });

  test('TX_ACK example', () => {
    assert.deepEqual(decodeTxAckBody(Buffer.from(TX_ACK_EXAMPLE)), { ok: true, error: 'COLLISION_PACKET' });
    assert.equal(encodeTxAckBody('COLLISION_PACKET').toString(), TX_ACK_EXAMPLE.replace(/\s+/g, ''));
  });
});
