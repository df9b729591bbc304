/**
 * The NMEA parser on real receiver captures (shared/reference/nmea: u-blox
 * NEO-M9N and LEA-5H, Quectel L70, MediaTek MT3339, SiRFstarV; gpsd's
 * regression logs with its expected outputs): every RMC time and position
 * and every GGA altitude must agree with gpsd's TPV reports; broken lines are
 * refused with a reason, never thrown.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { nmeaChecksum, parseNmea, type Gga, type Rmc } from '../hal/gps/nmea.js';
import { NMEA_DIR } from './helpers/shared-kit.js';

const CAPTURES = ['ublox-neo-m9n-nmea', 'quectel-L70', 'mt3339', 'sirfstarv-nmea', 'ublox-lea-5h'];
const skip = existsSync(NMEA_DIR) ? false : `${NMEA_DIR} is missing (../shared is not beside this checkout; set PKTFWD_SHARED_DIR)`;

interface Tpv { time?: string; lat?: number; lon?: number; altMSL?: number }

describe('NMEA parser on real receiver captures', () => {
  for (const name of CAPTURES) {
    test(`${name}: RMC times and positions, GGA altitudes as gpsd reports them`, { skip }, () => {
      const lines = readFileSync(join(NMEA_DIR, `${name}.log`), 'latin1').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
      const tpv = readFileSync(join(NMEA_DIR, `${name}.log.chk`), 'latin1').split('\n').filter((l) => l.startsWith('{"class":"TPV"')).map((l) => JSON.parse(l) as Tpv);
      const rmc: Rmc[] = [];
      const gga: Gga[] = [];
      for (const l of lines) {
        const r = parseNmea(l);
        assert.ok(r.ok, `${l}: ${r.ok ? '' : `${r.reason} ${r.detail}`}`);
        if (r.value.type === 'RMC') rmc.push(r.value);
        if (r.value.type === 'GGA') gga.push(r.value);
      }
      assert.ok(rmc.length >= 15, `${rmc.length} RMC`);
      // Every fix time gpsd reported is one of ours (RMC, or GGA on the RMC's date), and every RMC of ours is one of gpsd's,
      // except the LEA-5H's last RMC before the capture's 18-minute cut: gpsd never closed that epoch.
      const iso = (ms: number) => new Date(ms).toISOString();
      const day = Math.floor(rmc[0]!.utcMs! / 86_400_000) * 86_400_000;
      const ours = new Set([...rmc.map((r) => iso(r.utcMs!)), ...gga.filter((g) => g.secondOfDay !== null).map((g) => iso(day + g.secondOfDay! * 1000))]);
      const theirs = new Set(tpv.filter((t) => t.time).map((t) => t.time!));
      assert.deepEqual([...theirs].filter((t) => !ours.has(t)), [], 'gpsd fixes we did not parse');
      const unmatched = rmc.map((r) => iso(r.utcMs!)).filter((t) => !theirs.has(t));
      assert.deepEqual(unmatched, name === 'ublox-lea-5h' ? ['2010-08-21T08:37:36.000Z'] : []);
      for (const r of rmc) {
        assert.ok(r.valid && ['A', 'D', null].includes(r.mode), `status ${r.valid} mode ${r.mode}`);
        const at = tpv.filter((t) => t.time === new Date(r.utcMs!).toISOString() && t.lat !== undefined);
        if (unmatched.includes(new Date(r.utcMs!).toISOString())) continue;
        assert.ok(at.some((t) => Math.abs(t.lat! - r.lat!) < 1e-6 && Math.abs(t.lon! - r.lon!) < 1e-6), `${new Date(r.utcMs!).toISOString()}: ${r.lat},${r.lon} vs ${at.map((t) => `${t.lat},${t.lon}`).join(' ')}`);
      }
      // Altitude: each GGA against gpsd's altMSL at the same second of the day.
      const altBySecond = new Map<number, number[]>();
      for (const t of tpv) {
        if (t.time && t.altMSL !== undefined) {
          const d = new Date(t.time);
          const sod = d.getUTCHours() * 3600 + d.getUTCMinutes() * 60 + d.getUTCSeconds() + d.getUTCMilliseconds() / 1000;
          altBySecond.set(sod, [...(altBySecond.get(sod) ?? []), t.altMSL]);
        }
      }
      let compared = 0;
      for (const g of gga) {
        const alts = altBySecond.get(g.secondOfDay!);
        if (!alts || g.altM === null) continue;
        assert.ok(alts.some((a) => Math.abs(a - g.altM!) < 0.01), `${g.secondOfDay}: ${g.altM} vs ${alts.join(' ')}`);
        assert.ok(g.quality > 0 && g.satellites !== null && g.satellites > 0);
        compared++;
      }
      assert.ok(compared >= 10, `${compared} GGA altitudes compared`);
    });
  }
});

describe('NMEA parser on broken and unusual input', () => {
  const rmc14 = '$GNRMC,223745.00,A,3806.62964,N,12237.61382,W,0.040,,110720,,,D,V*0E';
  test('14-, 13- and 12-field RMC; any talker; lowercase checksum; CRLF; leading garbage', () => {
    const r = parseNmea(rmc14);
    assert.ok(r.ok && r.value.type === 'RMC');
    assert.equal(new Date(r.value.utcMs!).toISOString(), '2020-07-11T22:37:45.000Z');
    assert.equal(r.value.mode, 'D');
    const body12 = 'GPRMC,081836,A,3751.65,S,14507.36,E,000.0,360.0,130998,011.3,E';
    const r12 = parseNmea(`$${body12}*${nmeaChecksum(body12).toString(16).padStart(2, '0')}\r\n`);
    assert.ok(r12.ok && r12.value.type === 'RMC');
    assert.equal(r12.value.mode, null);
    assert.ok(Math.abs(r12.value.lat! - -(37 + 51.65 / 60)) < 1e-9);
    assert.equal(new Date(r12.value.utcMs!).toISOString(), '1998-09-13T08:18:36.000Z', 'two-digit years 80-99 are 19yy (issue 14: the reference made this 2098)');
    const bd = 'BDRMC,120000.00,A,5000.0000,N,00400.0000,E,0.0,,010125,,,A';
    const rbd = parseNmea(`\x00\xff garbage $${bd}*${nmeaChecksum(bd).toString(16).toUpperCase().padStart(2, '0')}`);
    assert.ok(rbd.ok && rbd.value.type === 'RMC' && rbd.value.talker === 'BD');
  });

  test('broken checksum, missing checksum, truncated line, too long, bad fields: refused with a reason, never thrown', () => {
    const cases: [string, string][] = [
      [rmc14.replace('*0E', '*0F'), 'bad-checksum'],
      [rmc14.replace('223745', '223746'), 'bad-checksum'],
      [rmc14.slice(0, 40), 'no-checksum'],
      [rmc14.replace(/\*0E$/, ''), 'no-checksum'],
      ['no dollar at all', 'no-start'],
      [`$GPTXT,${'x'.repeat(300)}*00`, 'too-long'],
    ];
    for (const [line, reason] of cases) {
      const r = parseNmea(line);
      assert.ok(!r.ok, line);
      assert.equal(r.reason, reason, line);
    }
    const withSum = (b: string) => `$${b}*${nmeaChecksum(b).toString(16).toUpperCase().padStart(2, '0')}`;
    const fewFields = parseNmea(withSum('GPRMC,120000,A,5000.0,N'));
    assert.ok(!fewFields.ok && fewFields.reason === 'malformed');
    // Empty and impossible fields parse, as nulls.
    const empty = parseNmea(withSum('GPRMC,,V,,,,,,,,,,N'));
    assert.ok(empty.ok && empty.value.type === 'RMC' && empty.value.utcMs === null && empty.value.lat === null && !empty.value.valid);
    const bad = parseNmea(withSum('GPRMC,256199,A,9961.0,N,18100.0,E,,,320299,,,A'));
    assert.ok(bad.ok && bad.value.type === 'RMC' && bad.value.utcMs === null && bad.value.lat === null && bad.value.lon === null);
    for (let i = 0; i < 2000; i++) {
      const junk = Array.from({ length: Math.floor(Math.random() * 90) }, () => String.fromCharCode(Math.floor(Math.random() * 128))).join('');
      parseNmea(`$${junk}`); // must not throw
      parseNmea(rmc14.slice(0, Math.floor(Math.random() * rmc14.length)));
    }
  });
});
