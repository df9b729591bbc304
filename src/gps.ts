/**
 * The gateway's GPS: the receiver's sentences (hal/gps/nmea.ts, ubx.ts),
 * PPS edges paired with the second they mark, the time reference
 * (hal/gps/time-reference.ts), and the position for the stat report.
 *
 * Pairing (gps.md §5, product rule): a fix message for a whole second (RMC
 * with status A and a fix mode, or a valid NAV-TIMEGPS) is paired with the
 * last PPS latch when that latch happened less than 1 s before the message
 * arrived; each second is synced once (NAV-TIMEGPS wins over RMC: it carries
 * GPS time and the leap seconds). No PPS latch within 2 s: the point is
 * taken from the message's arrival (coarse, see TimeReference).
 *
 * Nothing here throws at the forwarder: bad lines are counted by reason, a
 * missing receiver is retried by the source, and every state change is
 * logged once.
 */
import type { Logger } from 'pino';
import type { Concentrator } from '../hal/index.js';
import type { GpioProvider } from '../hal/gpio/lines.js';
import { guard } from '../hal/index.js';
import { parseNmea, type NmeaReject } from '../hal/gps/nmea.js';
import { gpsToUtcMs, leapSecondsAt, TimeReference, utcToGpsMs, type TimeReferenceOptions, type TimeReferenceStatus } from '../hal/gps/time-reference.js';
import { parseNavPvt, parseNavTimegps } from '../hal/gps/ubx.js';
import type { RxTime } from './protocol/rxpk.js';

/** A PPS latch: the counter at the edge and the host time of the edge (performance.now ms). */
export interface PpsLatch {
  countUs: number;
  atMs: number;
}

/** Where PPS latches come from. */
export interface PpsSource {
  /** The last latch, or null when none was seen. */
  last(): Promise<PpsLatch | null>;
  close?(): void;
}

/** PPS latched by the concentrator itself (SX1301 trigger counter, the sim's `{"op":"pps"}`). */
export function concentratorPps(c: Concentrator): PpsSource {
  return {
    async last() {
      const pps = await c.ppsCounterUs();
      if (pps === null) return null;
      const now = await c.counterUs();
      const atMs = performance.now();
      const ageUs = (now - pps) >>> 0;
      return { countUs: pps, atMs: atMs - ageUs / 1000 };
    },
  };
}

/** Fix and position as last reported. */
export interface GpsFix {
  /** RMC status A with a fix mode, or GGA quality > 0, within the last 5 s. */
  fix: boolean;
  satellites: number | null;
  quality: number | null;
  lat: number | null;
  lon: number | null;
  altM: number | null;
  lastUtc: string | null;
  /** Seconds since the last fix (lat/lon/altM are the last known position: current only while `fix`). */
  lastFixAgeS: number | null;
}

const FIX_MAX_AGE_MS = 5000;
const PPS_MAX_LAG_MS = 1000;
/** RMC times within this of a whole second are paired with it (see nmea()). */
const FRACTION_WINDOW_MS = 100;
const WEEKS_1024_MS = 1024 * 7 * 86_400_000;

/** The GPS state the forwarder uses. */
export class GpsService {
  readonly reference: TimeReference;
  readonly counters = {
    lines: 0, rmc: 0, gga: 0, zda: 0, navTimegps: 0, navPvt: 0, other: 0,
    rejected: { 'no-start': 0, 'no-checksum': 0, 'bad-checksum': 0, 'too-long': 0, malformed: 0 } as Record<NmeaReject, number>,
    ppsPairs: 0, coarsePairs: 0, unpaired: 0,
    /** Bytes before a sentence on its line (binary frames interleaved with NMEA, noise). */
    bytesSkipped: 0,
    /** RMC fixes whose time is not within 100 ms of a whole second (5 Hz epochs, say): never paired with a PPS edge. */
    fractionalNotPaired: 0,
    /** RMC dates 1024 weeks behind the host clock (a GPS week-number rollover), corrected. */
    rolloverCorrected: 0,
    /** Exceptions caught by the guard of the validity timer (each logged). */
    internalErrors: 0,
  };
  private lat: number | null = null;
  private lon: number | null = null;
  private alt: number | null = null;
  private sats: number | null = null;
  private quality: number | null = null;
  private lastFixAtMs: number | null = null;
  private lastUtcMs: number | null = null;
  private lastNavTimeAtMs = -Infinity;
  /** GPS − UTC as the receiver gave it (UBX NAV-TIMEGPS), or null: then the table by date. */
  private leapFromReceiver: number | null = null;
  private rolloverWarned = false;
  private lastSyncedSecond: number | null = null;
  private lastPpsAtMs: number | null = null;
  private wasValid = false;
  private hadFix = false;
  /** The serial source, for the status (set by the app). */
  source: { state: string; lastError: string | null; counters: Record<string, number> } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: {
      concentrator: Concentrator;
      pps: PpsSource;
      log: Logger;
      now?: () => number;
      /** Time-reference tunables (tests shorten the crystal averaging). */
      reference?: TimeReferenceOptions;
      /** The host's wall clock, Unix ms (the week-rollover check; tests set it). */
      wallMs?: () => number;
    },
  ) {
    this.reference = new TimeReference(o.reference);
  }

  private now(): number {
    return this.o.now?.() ?? performance.now();
  }

  /** Starts the 1 s validity check (logs when the reference becomes valid or is lost). */
  start(): void {
    this.timer = setInterval(guard(this.o.log, () => this.counters.internalErrors++, 'GPS validity timer', () => this.checkValidity()), 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.o.pps.close?.();
  }

  private checkValidity(): void {
    const fix = this.fix();
    if (fix.fix !== this.hadFix) {
      this.hadFix = fix.fix;
      if (fix.fix) this.o.log.info({ satellites: fix.satellites, lat: fix.lat === null ? null : +fix.lat.toFixed(5), lon: fix.lon === null ? null : +fix.lon.toFixed(5) }, 'GPS fix');
      else this.o.log.warn({ lastUtc: fix.lastUtc }, 'GPS fix lost');
    }
    const st = this.reference.status(this.now());
    if (st.valid !== this.wasValid) {
      this.wasValid = st.valid;
      if (st.valid) this.o.log.info({ coarse: st.coarse, xtalErrPpm: +st.xtalErrPpm.toFixed(3) }, st.coarse ? 'GPS time reference valid (coarse: no PPS)' : 'GPS time reference valid');
      else this.o.log.warn({ ageS: st.ageS === null ? null : +st.ageS.toFixed(1) }, 'GPS time reference lost');
    }
  }

  /** A line from the receiver, with the host time it arrived. */
  nmea(line: string, atMs: number): void {
    this.counters.lines++;
    const r = parseNmea(line);
    if (!r.ok) {
      this.counters.rejected[r.reason]++;
      if (r.reason !== 'no-start') this.o.log.debug({ reason: r.reason, detail: r.detail }, 'GPS line ignored');
      return;
    }
    if (r.skipped) this.counters.bytesSkipped += r.skipped;
    const v = r.value;
    if (v.type === 'GGA') {
      this.counters.gga++;
      this.quality = v.quality;
      this.sats = v.satellites;
      if (v.quality > 0 && v.lat !== null && v.lon !== null) {
        this.lat = v.lat;
        this.lon = v.lon;
        if (v.altM !== null) this.alt = v.altM;
        this.lastFixAtMs = atMs;
      }
      return;
    }
    if (v.type === 'ZDA') {
      this.counters.zda++;
      return;
    }
    if (v.type !== 'RMC') {
      this.counters.other++;
      return;
    }
    this.counters.rmc++;
    const fix = v.valid && v.mode !== 'N' && v.utcMs !== null;
    if (!fix) return;
    const utcMs = this.rollover(v.utcMs!);
    this.lastUtcMs = utcMs;
    this.lastFixAtMs = atMs;
    if (v.lat !== null && v.lon !== null) {
      this.lat = v.lat;
      this.lon = v.lon;
    }
    // A u-blox sending NAV-TIMEGPS syncs from that; RMC only when no UBX came lately.
    if (atMs - this.lastNavTimeAtMs < 3000) return;
    // The second an RMC marks: its time when whole; the nearest second when within 100 ms of one (receivers
    // stamping .949, .99, .01: GlobalSat, Telit, Quectel EG25-G); otherwise none (5 Hz .2/.4/.6/.8 epochs).
    const frac = ((utcMs % 1000) + 1000) % 1000;
    if (frac > FRACTION_WINDOW_MS && frac < 1000 - FRACTION_WINDOW_MS) {
      this.counters.fractionalNotPaired++;
      return;
    }
    const second = frac <= FRACTION_WINDOW_MS ? utcMs - frac : utcMs - frac + 1000;
    this.pair(second, utcToGpsMs(second, this.leapSeconds(second)), atMs, utcMs - second);
  }

  /** GPS − UTC at `utcMs`: the receiver's count when it gave one, else the table by date. */
  private leapSeconds(utcMs: number): number {
    return this.leapFromReceiver ?? leapSecondsAt(utcMs);
  }

  /**
   * A receiver whose GPS week number rolled over (10-bit weeks, firmware past its epoch) reports dates
   * 1024 weeks (19.6 years) in the past. When the host clock is set (after the 2019-04-06 rollover) and the date is that far
   * behind it (±2 weeks), the date is corrected by 1024 weeks, counted and logged once.
   */
  private rollover(utcMs: number): number {
    const wall = this.o.wallMs?.() ?? Date.now();
    if (wall < Date.UTC(2019, 3, 7)) return utcMs;
    const behind = wall - utcMs;
    if (Math.abs(behind - WEEKS_1024_MS) > 14 * 86_400_000) return utcMs;
    this.counters.rolloverCorrected++;
    if (!this.rolloverWarned) {
      this.rolloverWarned = true;
      this.o.log.warn({ reported: new Date(utcMs).toISOString(), corrected: new Date(utcMs + WEEKS_1024_MS).toISOString() }, 'GPS receiver reports a date 1024 weeks in the past (week-number rollover): corrected');
    }
    return utcMs + WEEKS_1024_MS;
  }

  /** A UBX frame from the receiver. */
  ubx(cls: number, id: number, payload: Buffer, atMs: number): void {
    if (cls === 0x01 && id === 0x07) {
      // NAV-PVT: the fix and position, for receivers configured for UBX only (no RMC/GGA).
      const v = parseNavPvt(payload);
      if (!v) return;
      this.counters.navPvt++;
      this.sats = v.satellites;
      if (v.fixOk && v.fixType >= 2 && v.fixType <= 4) {
        this.lat = v.lat;
        this.lon = v.lon;
        if (v.fixType !== 2) this.alt = v.altM;
        this.lastFixAtMs = atMs;
      }
      return;
    }
    if (cls !== 0x01 || id !== 0x20) return;
    const t = parseNavTimegps(payload);
    if (!t) return;
    this.counters.navTimegps++;
    if (!t.towValid || !t.weekValid) return; // both (the reference accepts either)
    this.lastNavTimeAtMs = atMs;
    if (t.leapSValid) this.leapFromReceiver = t.leapS;
    const gpsMs = Math.round(t.gpsMs);
    if (gpsMs % 1000 !== 0) return;
    this.pair(gpsToUtcMs(gpsMs, this.leapSeconds(gpsToUtcMs(gpsMs, 18))), gpsMs, atMs);
  }

  /**
   * Pairs a whole second with the last PPS latch (or the arrival time, coarse); serialised.
   * `stampMs`: how far the message's own time was from that second (−100..100 ms). A message stamped
   * before its second (.949) can arrive before that second's edge: the last latch would then be the
   * previous second's, at least 1000 + stampMs ms before the arrival; such a lag is refused.
   */
  private pair(utcMs: number, gpsMs: number, atMs: number, stampMs = 0): void {
    if (this.lastSyncedSecond === utcMs) return;
    this.lastSyncedSecond = utcMs;
    const maxLag = stampMs < 0 ? PPS_MAX_LAG_MS + stampMs - 50 : PPS_MAX_LAG_MS;
    this.chain = this.chain.then(async () => {
      try {
        const pps = await this.o.pps.last();
        const lag = pps ? atMs - pps.atMs : Infinity;
        if (pps && lag >= 0 && lag < maxLag) {
          this.lastPpsAtMs = pps.atMs;
          this.counters.ppsPairs++;
          const r = this.reference.sync({ countUs: pps.countUs, utcMs, gpsMs, hostMs: pps.atMs });
          if (r === 'reset') this.o.log.warn({ utc: new Date(utcMs).toISOString() }, 'GPS time reference reset after 3 aberrant PPS pairs');
          return;
        }
        if (pps && lag < 2000) {
          // PPS is wired but this message came late or early: skip the second rather than mispair it.
          this.counters.unpaired++;
          return;
        }
        // No PPS: the message's arrival, read on the counter now (serial latency included: coarse).
        const count = await this.o.concentrator.counterUs();
        const arrivalAgoMs = this.now() - atMs;
        this.counters.coarsePairs++;
        this.reference.sync({ countUs: (count - Math.round(arrivalAgoMs * 1000)) >>> 0, utcMs, gpsMs, hostMs: atMs, coarse: true });
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'GPS pairing failed (counter read)');
      }
    });
  }

  /** Resolves once the pairings queued so far are done (tests). */
  settled(): Promise<void> {
    return this.chain;
  }

  /** `time` (UTC, µs) and `tmms` (GPS ms) of a reception, as far as the reference allows. */
  rxTime(countUs: number): RxTime | undefined {
    const now = this.now();
    const utc = this.reference.countToUtcMs(countUs, now);
    if (utc === null) return undefined;
    const gps = this.reference.countToGpsMs(countUs, now);
    return { utcUs: Math.round(utc * 1000), ...(gps !== null ? { gpsMs: gps } : {}) };
  }

  /** The counter value at a GPS time, or null when there is no precise reference (GPS_UNLOCKED). */
  gpsToCount(gpsMs: number): number | null {
    return this.reference.gpsToCount(gpsMs, this.now());
  }

  /** A precise (PPS) reference exists: tmms downlinks and beacons may go. */
  locked(): boolean {
    return this.reference.precise(this.now());
  }

  /**
   * Position for the stat report: only while the fix is current (the last fix at most 5 s old). After the
   * fix is lost the stat carries no position (servers keep the last one they were sent); a gateway that
   * must always report one sets fake_gps with ref_latitude/ref_longitude/ref_altitude.
   */
  location(): { lati: number; long: number; alti: number } | undefined {
    if (this.lat === null || this.lon === null || this.lastFixAtMs === null) return undefined;
    if (this.now() - this.lastFixAtMs > FIX_MAX_AGE_MS) return undefined;
    return { lati: this.lat, long: this.lon, alti: this.alt ?? 0 };
  }

  fix(): GpsFix {
    const fresh = this.lastFixAtMs !== null && this.now() - this.lastFixAtMs <= FIX_MAX_AGE_MS;
    return {
      fix: fresh, satellites: this.sats, quality: this.quality, lat: this.lat, lon: this.lon, altM: this.alt,
      lastUtc: this.lastUtcMs === null ? null : new Date(this.lastUtcMs).toISOString(),
      lastFixAgeS: this.lastFixAtMs === null ? null : Math.round((this.now() - this.lastFixAtMs) / 100) / 10,
    };
  }

  status(): { fix: GpsFix; reference: TimeReferenceStatus; lastPpsAgeS: number | null; leapSeconds: number; counters: GpsService['counters']; serial: GpsService['source'] } {
    const now = this.now();
    return {
      serial: this.source ? { state: this.source.state, lastError: this.source.lastError, counters: { ...this.source.counters } } : null,
      fix: this.fix(), reference: this.reference.status(now), lastPpsAgeS: this.lastPpsAtMs === null ? null : (now - this.lastPpsAtMs) / 1000,
      leapSeconds: this.leapSeconds(this.lastUtcMs ?? (this.o.wallMs?.() ?? Date.now())), counters: this.counters,
    };
  }
}

/**
 * PPS on a GPIO (boards whose radio has no PPS input, e.g. an SX127x HAT with
 * a GPS): each rising edge, seen in the `onoff` callback, is stamped with
 * the host clock there and converted to the counter by reading it right
 * after (the read's own delay taken off). The kernel-to-callback latency
 * (tens to hundreds of µs, as for DIO0) is not removed.
 */
export async function gpioPps(c: Concentrator, bcm: number, log: Logger, gpio?: GpioProvider): Promise<PpsSource> {
  const provider = gpio ?? (await (await import('../hal/gpio/lines.js')).openOnoffGpio());
  const line = provider.risingEdge(bcm, 'pps');
  let latch: PpsLatch | null = null;
  line.watch(
    () => {
      const at = performance.now();
      c.counterUs()
        .then((count) => {
          const readMs = performance.now() - at;
          latch = { countUs: (count - Math.round(readMs * 1000)) >>> 0, atMs: at };
        })
        .catch((err: Error) => log.warn({ err: err.message }, 'PPS: counter read failed'));
    },
    (err) => log.warn({ err: err.message }, 'PPS edge read failed'),
  );
  return { last: async () => latch, close: () => line.close() };
}
