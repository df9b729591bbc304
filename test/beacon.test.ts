/**
 * Class B beacons: the frame against vectors computed by hand from the
 * specification (an independent bit-by-bit CRC-16, coordinates scaled by
 * 2²³), channel hopping, and in the simulated gateway: a beacon emitted at
 * its GPS second + 1.5 ms on the counter with the right bytes, and a Class A
 * downlink overlapping a queued beacon answered COLLISION_BEACON.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimConcentrator } from '../hal/index.js';
import { beaconCrc16, beaconFrequencyHz, beaconPayload, encodeCoordinate, nextBeaconSecond } from '../src/beacon.js';
import { NetworkServerStandIn } from '../src/demo/network-server.js';
import { Forwarder } from '../src/forwarder.js';
import { concentratorPps, GpsService } from '../src/gps.js';
import { AirClient, memoryLogger, testConfig, waitFor } from './helpers/harness.js';
import { rmcAt } from './helpers/nmea.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('beacon frame', () => {
  test('CRC-16 (poly 0x1021, init 0): the catalogue check value of "123456789" is 0x31C3', () => {
    assert.equal(beaconCrc16(Buffer.from('123456789')), 0x31c3);
  });

  test('EU868 SF9 (17 bytes) and US915 SF12 (23 bytes): the bytes computed by hand', () => {
    // GPS second 1 278 542 336 = 128 × 9 988 612; 51.068098 N → 4 759 891; 114.095645 W → −5 317 242.
    assert.equal(
      beaconPayload({ sf: 9, gpsSeconds: 1_278_542_336, infoDesc: 0, lat: 51.068098, lon: -114.095645 }).toString('hex'),
      '0000' + '0002354c' + '481d' + '00' + '53a148' + '86ddae' + 'bb6b',
    );
    // +90° is clamped to 2²³−1, −180° is −2²³; RFU1 5 bytes, RFU2 3 bytes.
    assert.equal(
      beaconPayload({ sf: 12, gpsSeconds: 1_278_542_336, infoDesc: 1, lat: 90, lon: -180 }).toString('hex'),
      '0000000000' + '0002354c' + '481d' + '01' + 'ffff7f' + '000080' + '000000' + '87a4',
    );
    assert.deepEqual([8, 10].map((sf) => beaconPayload({ sf, gpsSeconds: 0, infoDesc: 0, lat: 0, lon: 0 }).length), [19, 19]);
    assert.equal(encodeCoordinate(-90, 90), -(2 ** 23));
    assert.throws(() => beaconPayload({ sf: 7, gpsSeconds: 0, infoDesc: 0, lat: 0, lon: 0 }), RangeError);
  });

  test('channel hopping and the next beacon second', () => {
    const us = (t: number) => beaconFrequencyHz({ gpsSeconds: t, periodS: 128, freqHz: 923_300_000, freqNb: 8, stepHz: 600_000 });
    assert.deepEqual([0, 128, 1023, 1024, 1152].map(us), [923_300_000, 923_900_000, 927_500_000, 923_300_000, 923_900_000]);
    assert.equal(nextBeaconSecond(1_278_542_336, 128), 1_278_542_464);
    assert.equal(nextBeaconSecond(1_278_542_335.5, 128), 1_278_542_336);
  });
});


test('beacons in the simulated gateway: emitted at GPS second + 1.5 ms with the right bytes; a downlink on a queued beacon is COLLISION_BEACON', { timeout: 60_000 }, async () => {
  const ns = new NetworkServerStandIn();
  const port = await ns.start();
  const config = testConfig({ serv_port_up: port, serv_port_down: port, keepalive_interval: 1, beacon_period: 6, beacon_freq_hz: 869_525_000, beacon_datarate: 9, beacon_bw_hz: 125000, beacon_power: 14, beacon_infodesc: 0 });
  const { log, lines } = memoryLogger();
  const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, counterStartUs: null, log: log.child({ module: 'sim' }) });
  const gps = new GpsService({ concentrator: sim, pps: concentratorPps(sim), log: log.child({ module: 'gps' }), reference: { xtalAvgSamples: 2 } });
  const fwd = new Forwarder({ config, concentrator: sim, log, gps });
  let feeding = true;
  let air: AirClient | null = null;
  try {
    await fwd.start();
    gps.start();
    air = new AirClient(sim.airPortBound);
    const c0 = await air.listen();
    const S0 = Date.UTC(2026, 10, 21, 12, 0, 0);
    const t0 = performance.now() + (1_000_000 - (c0 % 1_000_000)) / 1000 + 30;
    const feeder = (async () => {
      for (let k = 0; feeding; k++) {
        await sleep(Math.max(0, t0 + k * 1000 - performance.now()));
        air!.send({ op: 'pps' });
        await sleep(40);
        gps.nmea(rmcAt(S0 + k * 1000), performance.now());
      }
    })();
    const beacon = await waitFor(() => air!.downlinks().find((d) => d.nhdr === true), 30_000, 'a beacon on the air');
    const payload = Buffer.from(beacon.data as string, 'base64');
    const t = payload.readUInt32LE(2);
    assert.equal(t % 6, 0, 'a whole beacon period');
    assert.deepEqual(payload, beaconPayload({ sf: 9, gpsSeconds: t, infoDesc: 0, lat: 48 + 7.038 / 60, lon: 11 + 31 / 60 }), 'the frame, with the receiver\'s position');
    const target = gps.gpsToCount(t * 1000)!;
    assert.equal(beacon.target_us, (target + 1500) >>> 0, 'GPS second + TBeaconDelay on the counter');
    assert.ok((((beacon.count_us as number) - (beacon.target_us as number)) | 0) >= 0);
    assert.deepEqual([beacon.freq, beacon.datr, beacon.ipol, beacon.prea, beacon.ncrc, beacon.powe], [869.525, 'SF9BW125', false, 10, true, 14]);
    // A queued beacon's slot is taken: a downlink at its time is refused.
    const queued = lines().filter((l) => l.msg === 'beacon queued').map((l) => l.countUs as number);
    const later = queued.find((c) => ((c - (beacon.target_us as number)) | 0) > 0)!;
    assert.ok(later !== undefined, 'another beacon queued');
    await waitFor(() => ns.counts.pull > 0, 5000, 'PULL_DATA');
    const before = ns.counts.txack;
    const acks: (string | null)[] = [];
    ns.on('txack', (a: { error: string | null }) => acks.push(a.error));
    ns.sendPullResp({ tmst: (later + 50_000) >>> 0, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 1, data: 'AA==' });
    await waitFor(() => ns.counts.txack > before, 5000, 'TX_ACK');
    assert.deepEqual(acks, ['COLLISION_BEACON']);
    const st = fwd.status();
    assert.ok(st.beacons.enabled && st.beacons.sent >= 1 && st.beacons.queued >= 2, JSON.stringify(st.beacons));
    feeding = false;
    await feeder;
  } finally {
    feeding = false;
    gps.stop();
    await fwd.stop();
    air?.close();
    ns.stop();
  }
});
