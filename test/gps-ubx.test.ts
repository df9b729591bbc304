import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cfgMsgNavTimegps, GpsFramer, parseNavTimegps, ubxFrame, type GpsFrame } from '../hal/gps/ubx.js';

/** The NAV-TIMEGPS example of shared/reference/gps.md §3 (iTOW 345 600 000, fTOW −12345, week 2330, leapS 18, valid 0x07, tAcc 50). */
const EXAMPLE = Buffer.from('b5620120100000709914c7cfffff1a091207320000005012', 'hex');
const RMC = '$GNRMC,223745.00,A,3806.62964,N,12237.61382,W,0.040,,110720,,,D,V*0E\r\n';

describe('UBX', () => {
  test('CFG-MSG enabling NAV-TIMEGPS is the reference\'s 16 bytes', () => {
    assert.equal(cfgMsgNavTimegps().toString('hex'), 'b562060108000120000101000000' + '3294');
  });

  test('NAV-TIMEGPS: fields, validity flags, GPS time in ms', () => {
    const f = new GpsFramer().push(EXAMPLE);
    assert.equal(f.length, 1);
    const u = f[0]!;
    assert.ok(u.kind === 'ubx' && u.cls === 0x01 && u.id === 0x20);
    const t = parseNavTimegps(u.payload)!;
    assert.deepEqual(
      { ...t, gpsMs: undefined },
      { iTowMs: 345_600_000, fTowNs: -12345, week: 2330, leapS: 18, towValid: true, weekValid: true, leapSValid: true, tAccNs: 50, gpsMs: undefined },
    );
    assert.equal(t.gpsMs, 2330 * 604_800_000 + 345_600_000 - 0.012345);
    assert.equal(ubxFrame(0x01, 0x20, u.payload).toString('hex'), EXAMPLE.toString('hex'));
    assert.equal(parseNavTimegps(Buffer.alloc(15)), null);
  });

  test('framer: NMEA and UBX interleaved, fed one byte at a time, with garbage and a corrupted frame', () => {
    const bad = Buffer.from(EXAMPLE);
    bad[10] = bad[10]! ^ 0xff;
    const stream = Buffer.concat([Buffer.from('\x00\xffnoise'), Buffer.from(RMC), EXAMPLE, Buffer.from('\xb5'), bad, Buffer.from(RMC.replace('\r\n', '\n')), EXAMPLE]);
    const fr = new GpsFramer();
    const frames: GpsFrame[] = [];
    for (const byte of stream) frames.push(...fr.push(Buffer.from([byte])));
    assert.deepEqual(frames.map((f) => f.kind), ['nmea', 'ubx', 'bad-ubx', 'nmea', 'ubx']);
    assert.equal((frames[0] as { line: string }).line, RMC.slice(0, -1), 'the line up to LF (its CR is the parser\'s to trim)');
    assert.ok(fr.skipped > 0);
    // The same stream in one chunk gives the same frames.
    assert.deepEqual(new GpsFramer().push(stream).map((f) => f.kind), ['nmea', 'ubx', 'bad-ubx', 'nmea', 'ubx']);
  });
});
