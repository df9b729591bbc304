/**
 * NMEA 0183 sentences a gateway needs from its GPS receiver: RMC (UTC time,
 * date, fix status, position), GGA (fix quality, satellites, altitude) and
 * ZDA (time and date). Pure functions; facts from shared/reference/gps.md §2
 * (what Semtech's HAL accepts and where it falls short), NMEA field layouts
 * as in the receivers' captures there. Our own code.
 *
 * Deliberately more tolerant than the reference:
 * - any two-letter talker (GP, GN, GL, GA, GB, BD, ...), the type read from
 *   the three letters after it;
 * - RMC with 12 (NMEA 2.0), 13 (2.3) or 14 (4.10, navStatus) fields;
 * - checksums compared case-insensitively; a sentence without `*hh` is
 *   refused (a corrupted line must not set the clock);
 * - CRLF or LF, leading garbage before `$`, empty fields.
 */

/** Why a line was not used. */
export type NmeaReject = 'no-start' | 'no-checksum' | 'bad-checksum' | 'too-long' | 'malformed';

/** RMC: recommended minimum. */
export interface Rmc {
  type: 'RMC';
  talker: string;
  /** UTC of the fix, ms since the Unix epoch; null when time or date is empty. */
  utcMs: number | null;
  /** Status A (valid) / V (warning). */
  valid: boolean;
  /** Mode indicator (NMEA 2.3+): A autonomous, D differential, E estimated, N none, ... ; null on NMEA 2.0. */
  mode: string | null;
  lat: number | null;
  lon: number | null;
}

/** GGA: fix data. */
export interface Gga {
  type: 'GGA';
  talker: string;
  /** Time of day of the fix, seconds since 00:00 UTC; null when empty. */
  secondOfDay: number | null;
  /** 0 no fix, 1 GPS, 2 DGPS, 4/5 RTK, 6 estimated. */
  quality: number;
  satellites: number | null;
  lat: number | null;
  lon: number | null;
  /** Altitude above mean sea level, metres. */
  altM: number | null;
}

/** ZDA: time and date. */
export interface Zda {
  type: 'ZDA';
  talker: string;
  utcMs: number | null;
}

export type NmeaSentence = Rmc | Gga | Zda | { type: 'other'; talker: string; sentence: string };

/** `skipped`: bytes before the sentence on its line (binary frames, noise), when there were any. */
export type NmeaResult = { ok: true; value: NmeaSentence; skipped?: number } | { ok: false; reason: NmeaReject; detail: string };

/** NMEA's limit is 82 characters; real receivers exceed it (PUBX, long GSV); the reference allows 255. */
const MAX_LENGTH = 255;

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

/** XOR of the characters between `$` and `*`. */
export function nmeaChecksum(body: string): number {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i) & 0xff;
  return x;
}

/** "ddmm.mmmm" (latitude) or "dddmm.mmmm" (longitude) + hemisphere → signed degrees; null when empty or malformed. */
function coordinate(v: string | undefined, hemi: string | undefined, degDigits: 2 | 3): number | null {
  const m = (degDigits === 2 ? /^(\d{2})(\d{2}(?:\.\d+)?)$/ : /^(\d{3})(\d{2}(?:\.\d+)?)$/).exec(v ?? '');
  if (!m) return null;
  const deg = Number(m[1]);
  const min = Number(m[2]);
  if (min >= 60 || deg > (degDigits === 2 ? 90 : 180)) return null;
  const d = deg + min / 60;
  if (hemi === 'S' || hemi === 'W') return -d;
  if (hemi === 'N' || hemi === 'E') return d;
  return null;
}

/** "hhmmss(.sss)" → ms of the day; null when empty or malformed. */
function timeOfDayMs(v: string | undefined): number | null {
  const m = /^(\d{2})(\d{2})(\d{2})(\.\d+)?$/.exec(v ?? '');
  if (!m) return null;
  const [h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (h > 23 || mi > 59 || s > 60) return null;
  return ((h * 60 + mi) * 60 + s) * 1000 + Math.round(Number(m[4] ?? '0') * 1000);
}

/** Days since the epoch of a UTC date, or null. */
function dateMs(day: number, month: number, year: number): number | null {
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31)) return null;
  const t = Date.UTC(year, month - 1, day);
  return new Date(t).getUTCDate() === day ? t : null;
}

/**
 * Where the sentence of a line starts: the last `$` followed by an address
 * (`$` + talker and type, or `$P` + a proprietary name) and a comma. Binary
 * frames interleaved with NMEA on one line (UBX with `gps_ubx` off, CASIC on
 * a Quectel L76K) may hold a `$` byte before the sentence; taking the first
 * `$` lost the sentence. -1 when there is none.
 */
export function sentenceStart(line: string): number {
  const re = /\$(?:[A-Z][A-Z0-9]{4,5}|P[A-Z0-9]{1,15}),/g;
  let last = -1;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    last = m.index;
    re.lastIndex = m.index + 1;
  }
  return last;
}

/** Two-digit RMC years: 80-99 are 1980-1999 (GPS time starts in 1980), 00-79 are 2000-2079. */
export function rmcYear(yy: number): number {
  return yy >= 80 ? 1900 + yy : 2000 + yy;
}

/**
 * Parses one line. Text before the sentence (noise, a partial sentence
 * after a reconnect, binary frames; see {@link sentenceStart}) is skipped and
 * its length returned as `skipped`; trailing CR/LF and spaces are ignored.
 */
export function parseNmea(line: string): NmeaResult {
  const found = sentenceStart(line);
  const start = found >= 0 ? found : line.indexOf('$');
  if (start < 0) return { ok: false, reason: 'no-start', detail: 'no $' };
  const r = parseSentence(line.slice(start).replace(/[\r\n\s]+$/, ''));
  if (r.ok && start > 0) r.skipped = start;
  return r;
}

function parseSentence(text: string): NmeaResult {
  if (text.length > MAX_LENGTH) return { ok: false, reason: 'too-long', detail: `${text.length} characters` };
  const star = text.lastIndexOf('*');
  if (star < 0 || star !== text.length - 3) return { ok: false, reason: 'no-checksum', detail: text.slice(0, 20) };
  const body = text.slice(1, star);
  const given = text.slice(star + 1).toUpperCase();
  const want = hex2(nmeaChecksum(body));
  if (given !== want) return { ok: false, reason: 'bad-checksum', detail: `${text.slice(0, 20)}: *${given}, computed ${want}` };
  const f = body.split(',');
  const address = f[0] ?? '';
  if (/^P[A-Z0-9]{1,15}$/.test(address)) return { ok: true, value: { type: 'other', talker: 'P', sentence: address } }; // proprietary ($PMTK705, $PUBX, ...)
  if (!/^[A-Z0-9]{5,6}$/.test(address)) return { ok: false, reason: 'malformed', detail: `address "${address}"` };
  const talker = address.slice(0, 2);
  const type = address.slice(2);
  if (type === 'RMC') {
    // 12 (2.0), 13 (2.3: mode), 14 (4.10: navStatus) fields after the address.
    const n = f.length - 1;
    if (n < 11 || n > 13) return { ok: false, reason: 'malformed', detail: `RMC with ${n} fields` };
    const tod = timeOfDayMs(f[1]);
    const d = /^(\d{2})(\d{2})(\d{2})$/.exec(f[9] ?? '');
    const day = d ? dateMs(Number(d[1]), Number(d[2]), rmcYear(Number(d[3]))) : null;
    return {
      ok: true,
      value: {
        type: 'RMC', talker, utcMs: tod !== null && day !== null ? day + tod : null, valid: f[2] === 'A',
        mode: n >= 12 ? f[12] || null : null, lat: coordinate(f[3], f[4], 2), lon: coordinate(f[5], f[6], 3),
      },
    };
  }
  if (type === 'GGA') {
    if (f.length - 1 < 14) return { ok: false, reason: 'malformed', detail: `GGA with ${f.length - 1} fields` };
    const tod = timeOfDayMs(f[1]);
    const alt = f[9] && /^-?\d+(\.\d+)?$/.test(f[9]) ? Number(f[9]) : null;
    const sats = f[7] && /^\d+$/.test(f[7]) ? Number(f[7]) : null;
    return {
      ok: true,
      value: {
        type: 'GGA', talker, secondOfDay: tod === null ? null : tod / 1000, quality: /^\d$/.test(f[6] ?? '') ? Number(f[6]) : 0,
        satellites: sats, lat: coordinate(f[2], f[3], 2), lon: coordinate(f[4], f[5], 3), altM: alt,
      },
    };
  }
  if (type === 'ZDA') {
    const tod = timeOfDayMs(f[1]);
    const day = f[2] && f[3] && f[4] ? dateMs(Number(f[2]), Number(f[3]), Number(f[4])) : null;
    return { ok: true, value: { type: 'ZDA', talker, utcMs: tod !== null && day !== null ? day + tod : null } };
  }
  return { ok: true, value: { type: 'other', talker, sentence: type } };
}
