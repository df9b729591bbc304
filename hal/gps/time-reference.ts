/**
 * The time reference: concentrator counter ↔ UTC and ↔ GPS time, from pairs
 * (counter latched at a PPS edge, the whole second the receiver reported for
 * that edge). Pure: the caller passes the host time. Facts: constants.md §8
 * and gps.md §4-5 (the reference's ±10 ppm slope window, 3 aberrant points
 * force a reset, 30 s validity, crystal-error averaging then 1/256
 * filtering, the GPS epoch and leap seconds); our own code, with the
 * improvements gps.md names: signed 32-bit counter differences (a count just
 * before the reference is in the past, not 71 minutes ahead), and a slope
 * that is computed across the counter wrap.
 *
 * Coarse mode: without PPS, points come from the moment a message arrived
 * (serial latency, tens of ms of jitter). They carry `coarse: true`; no slope
 * test is possible at that jitter, the crystal error stays 1.0, and the
 * reference says it is coarse: the forwarder then puts `time` on uplinks but
 * never `tmms`, never converts GPS-timed downlinks, and never sends beacons.
 */
import { counterDiffUs } from '../types.js';

/** GPS epoch, 1980-01-06T00:00:00Z, in Unix ms. */
export const GPS_EPOCH_UNIX_MS = 315_964_800_000;
/** GPS − UTC since 2017-01-01 [gps.md §4]. */
export const DEFAULT_LEAP_SECONDS = 18;

/**
 * GPS − UTC from each leap second on (UTC dates the offset took effect), for
 * receivers that give no leap-second count (NMEA): IERS Bulletin C / the
 * IETF leap-seconds.list; GPS time began equal to UTC on 1980-01-06. No leap
 * second was announced after 2017-01-01 up to Bulletin C 70 (July 2025).
 */
export const LEAP_SECONDS_TABLE: readonly (readonly [string, number])[] = [
  ['1981-07-01', 1], ['1982-07-01', 2], ['1983-07-01', 3], ['1985-07-01', 4], ['1988-01-01', 5], ['1990-01-01', 6],
  ['1991-01-01', 7], ['1992-07-01', 8], ['1993-07-01', 9], ['1994-07-01', 10], ['1996-01-01', 11], ['1997-07-01', 12],
  ['1999-01-01', 13], ['2006-01-01', 14], ['2009-01-01', 15], ['2012-07-01', 16], ['2015-07-01', 17], ['2017-01-01', 18],
];
const LEAP_STARTS = LEAP_SECONDS_TABLE.map(([d, n]) => [Date.parse(`${d}T00:00:00Z`), n] as const);

/** GPS − UTC at a UTC instant, from the table (0 before 1981-07-01). */
export function leapSecondsAt(utcMs: number): number {
  let n = 0;
  for (const [t, k] of LEAP_STARTS) if (utcMs >= t) n = k;
  return n;
}

/** UTC (Unix ms) → GPS ms since the GPS epoch. */
export function utcToGpsMs(utcMs: number, leapS = DEFAULT_LEAP_SECONDS): number {
  return utcMs - GPS_EPOCH_UNIX_MS + leapS * 1000;
}

/** GPS ms → UTC (Unix ms). */
export function gpsToUtcMs(gpsMs: number, leapS = DEFAULT_LEAP_SECONDS): number {
  return gpsMs + GPS_EPOCH_UNIX_MS - leapS * 1000;
}

/** One pairing of the counter with a second. */
export interface SyncPoint {
  /** Counter value at the edge (u32 µs). */
  countUs: number;
  /** UTC of that edge, Unix ms. */
  utcMs: number;
  /** GPS time of that edge, ms since the GPS epoch. */
  gpsMs: number;
  /** Host monotonic time when the point was taken, ms (for the age). */
  hostMs: number;
  /** From message arrival, not PPS. */
  coarse?: boolean;
}

/** What {@link TimeReference.sync} did with a point. */
export type SyncResult = 'first' | 'accepted' | 'aberrant' | 'reset' | 'coarse';

/** Tunables; the defaults are the reference's. */
export interface TimeReferenceOptions {
  /** Validity of the last good sync, ms (GPS_REF_MAX_AGE 30 s). */
  maxAgeMs?: number;
  /** Slope window, ppm (±10). */
  windowPpm?: number;
  /** Consecutive aberrant points that force a reset (3). */
  aberrantReset?: number;
  /** Samples averaged before the crystal correction is usable (PF4 128; S1302 and ChirpStack 16). */
  xtalAvgSamples?: number;
  /** IIR coefficient afterwards (XERR_FILT_COEF 256). */
  xtalFilterCoef?: number;
}


/** Counter ↔ UTC/GPS. */
export class TimeReference {
  private ref: SyncPoint | null = null;
  /** A good slope has been measured against `ref` (or the point is coarse). */
  private sloped = false;
  private aberrantRun = 0;
  /** Counter µs per true µs (1 + error). */
  xtalErr = 1;
  /** Frequency correction factor for TX (1/xtalErr, averaged then filtered), and whether it is settled. */
  xtalCorrect = 1;
  xtalCorrectOk = false;
  private xtalSum = 0;
  private xtalN = 0;
  /** counterRestarts: references dropped because the radio's counter restarted. */
  readonly counters = { syncs: 0, accepted: 0, aberrant: 0, resets: 0, coarsePoints: 0, counterRestarts: 0 };
  private readonly o: Required<TimeReferenceOptions>;

  constructor(o: TimeReferenceOptions = {}) {
    this.o = { maxAgeMs: 30_000, windowPpm: 10, aberrantReset: 3, xtalAvgSamples: 16, xtalFilterCoef: 256, ...o };
  }

  /** Feeds one point; see {@link SyncResult}. */
  sync(p: SyncPoint): SyncResult {
    this.counters.syncs++;
    if (p.coarse) {
      this.counters.coarsePoints++;
      this.ref = p;
      this.sloped = true;
      this.xtalErr = 1;
      // The crystal correction is averaged anew from the next PPS pairs (it would otherwise never be usable again).
      this.xtalCorrectOk = false;
      this.xtalSum = 0;
      this.xtalN = 0;
      return 'coarse';
    }
    const ref = this.ref;
    if (ref === null || ref.coarse) {
      this.take(p, false);
      return 'first';
    }
    const dUtcMs = p.utcMs - ref.utcMs;
    const dCount = (p.countUs - ref.countUs) >>> 0; // forward across the wrap
    // The counter wraps every 4295 s: beyond that, a difference means nothing.
    const slope = dUtcMs > 0 && dUtcMs < 4_000_000 ? dCount / (dUtcMs * 1000) : NaN;
    const w = this.o.windowPpm * 1e-6;
    if (Number.isFinite(slope) && slope >= 1 - w && slope <= 1 + w) {
      this.aberrantRun = 0;
      this.counters.accepted++;
      this.xtalErr = slope;
      this.filterXtal(slope);
      this.take(p, true);
      return 'accepted';
    }
    this.counters.aberrant++;
    if (++this.aberrantRun >= this.o.aberrantReset) {
      this.counters.resets++;
      this.aberrantRun = 0;
      if (Math.abs(this.xtalErr - 1) > w) this.xtalErr = 1;
      this.take(p, false);
      return 'reset';
    }
    return 'aberrant';
  }

  /**
   * The radio's counter restarted (SX1301 re-initialised): the last pair's
   * counter value means nothing now, so the reference is invalid until the
   * next two PPS pairs, instead of converting wrongly until 3 aberrant
   * pairs force a reset. The crystal's measured error stays: same crystal.
   */
  counterRestarted(): void {
    this.counters.counterRestarts++;
    this.ref = null;
    this.sloped = false;
    this.aberrantRun = 0;
  }

  private take(p: SyncPoint, sloped: boolean): void {
    this.ref = p;
    this.sloped = sloped;
  }

  private filterXtal(slope: number): void {
    if (this.xtalN < this.o.xtalAvgSamples) {
      this.xtalSum += slope;
      this.xtalN++;
      if (this.xtalN === this.o.xtalAvgSamples) {
        this.xtalCorrect = this.o.xtalAvgSamples / this.xtalSum;
        this.xtalCorrectOk = true;
      }
      return;
    }
    const k = this.o.xtalFilterCoef;
    this.xtalCorrect = this.xtalCorrect - this.xtalCorrect / k + 1 / slope / k;
  }

  /** True while the last good sync is at most maxAgeMs old (coarse or not). */
  valid(hostMs: number): boolean {
    const r = this.ref;
    if (!r || !this.sloped) return false;
    const age = hostMs - r.hostMs;
    const ok = age >= 0 && age <= this.o.maxAgeMs;
    if (!ok && this.xtalCorrectOk) {
      // The reference's thread_valid: an expired reference also resets the crystal correction.
      this.xtalCorrectOk = false;
      this.xtalCorrect = 1;
      this.xtalSum = 0;
      this.xtalN = 0;
    }
    return ok;
  }

  /** Valid and from PPS: good for tmms, GPS-timed downlinks and beacons. */
  precise(hostMs: number): boolean {
    return this.valid(hostMs) && !this.ref!.coarse;
  }

  /** µs of true time between the reference edge and `countUs` (signed: up to ±35 min). */
  private sinceRefUs(countUs: number): number {
    return counterDiffUs(countUs, this.ref!.countUs) / this.xtalErr;
  }

  /** UTC (Unix ms, fractional) of a counter value, or null without a valid reference. */
  countToUtcMs(countUs: number, hostMs: number): number | null {
    if (!this.valid(hostMs)) return null;
    return this.ref!.utcMs + this.sinceRefUs(countUs) / 1000;
  }

  /** GPS ms of a counter value, or null without a precise (PPS) reference. */
  countToGpsMs(countUs: number, hostMs: number): number | null {
    if (!this.precise(hostMs)) return null;
    return this.ref!.gpsMs + this.sinceRefUs(countUs) / 1000;
  }

  /** Counter value (u32) at GPS time `gpsMs`, or null without a precise reference or beyond ±35 min of it. */
  gpsToCount(gpsMs: number, hostMs: number): number | null {
    if (!this.precise(hostMs)) return null;
    const us = (gpsMs - this.ref!.gpsMs) * 1000 * this.xtalErr;
    if (Math.abs(us) >= 2 ** 31) return null;
    return (this.ref!.countUs + Math.round(us)) >>> 0;
  }

  /** For the status: validity, age, crystal error, counts. */
  status(hostMs: number): TimeReferenceStatus {
    const r = this.ref;
    return {
      valid: this.valid(hostMs), precise: this.precise(hostMs), coarse: r?.coarse ?? false, ageS: r ? (hostMs - r.hostMs) / 1000 : null,
      xtalErrPpm: (this.xtalErr - 1) * 1e6, xtalCorrectOk: this.xtalCorrectOk, lastSync: r, ...this.counters,
    };
  }
}

/** {@link TimeReference.status}. */
export interface TimeReferenceStatus {
  valid: boolean;
  precise: boolean;
  coarse: boolean;
  ageS: number | null;
  xtalErrPpm: number;
  xtalCorrectOk: boolean;
  lastSync: SyncPoint | null;
  syncs: number;
  accepted: number;
  aberrant: number;
  resets: number;
  coarsePoints: number;
  counterRestarts: number;
}
