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
import { DEFAULT_LEAP_SECONDS, gpsToUtcMs, TimeReference, utcToGpsMs, type TimeReferenceOptions, type TimeReferenceStatus } from '../hal/gps/time-reference.js';
import { parseNavTimegps } from '../hal/gps/ubx.js';
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
}

const FIX_MAX_AGE_MS = 5000;
const PPS_MAX_LAG_MS = 1000;

/** The GPS state the forwarder uses. */
export class GpsService {
  readonly reference: TimeReference;
  readonly counters = {
    lines: 0, rmc: 0, gga: 0, zda: 0, navTimegps: 0, other: 0,
    rejected: { 'no-start': 0, 'no-checksum': 0, 'bad-checksum': 0, 'too-long': 0, malformed: 0 } as Record<NmeaReject, number>,
    ppsPairs: 0, coarsePairs: 0, unpaired: 0,
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
  private leapS = DEFAULT_LEAP_SECONDS;
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
    this.lastUtcMs = v.utcMs;
    this.lastFixAtMs = atMs;
    if (v.lat !== null && v.lon !== null) {
      this.lat = v.lat;
      this.lon = v.lon;
    }
    // A u-blox sending NAV-TIMEGPS syncs from that; RMC only when no UBX came lately.
    if (atMs - this.lastNavTimeAtMs < 3000) return;
    if (v.utcMs! % 1000 !== 0) return; // only whole seconds mark a PPS edge
    this.pair(v.utcMs!, utcToGpsMs(v.utcMs!, this.leapS), atMs);
  }

  /** A UBX frame from the receiver. */
  ubx(cls: number, id: number, payload: Buffer, atMs: number): void {
    if (cls !== 0x01 || id !== 0x20) return;
    const t = parseNavTimegps(payload);
    if (!t) return;
    this.counters.navTimegps++;
    if (!t.towValid || !t.weekValid) return; // both (the reference accepts either)
    this.lastNavTimeAtMs = atMs;
    if (t.leapSValid) this.leapS = t.leapS;
    const gpsMs = Math.round(t.gpsMs);
    if (gpsMs % 1000 !== 0) return;
    this.pair(gpsToUtcMs(gpsMs, this.leapS), gpsMs, atMs);
  }

  /** Pairs a whole second with the last PPS latch (or the arrival time, coarse); serialised. */
  private pair(utcMs: number, gpsMs: number, atMs: number): void {
    if (this.lastSyncedSecond === utcMs) return;
    this.lastSyncedSecond = utcMs;
    this.chain = this.chain.then(async () => {
      try {
        const pps = await this.o.pps.last();
        const lag = pps ? atMs - pps.atMs : Infinity;
        if (pps && lag >= 0 && lag < PPS_MAX_LAG_MS) {
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

  /** Position for the stat report, when the receiver has one. */
  location(): { lati: number; long: number; alti: number } | undefined {
    if (this.lat === null || this.lon === null || this.lastFixAtMs === null) return undefined;
    return { lati: this.lat, long: this.lon, alti: this.alt ?? 0 };
  }

  fix(): GpsFix {
    const fresh = this.lastFixAtMs !== null && this.now() - this.lastFixAtMs <= FIX_MAX_AGE_MS;
    return {
      fix: fresh, satellites: this.sats, quality: this.quality, lat: this.lat, lon: this.lon, altM: this.alt,
      lastUtc: this.lastUtcMs === null ? null : new Date(this.lastUtcMs).toISOString(),
    };
  }

  status(): { fix: GpsFix; reference: TimeReferenceStatus; lastPpsAgeS: number | null; leapSeconds: number; counters: GpsService['counters']; serial: GpsService['source'] } {
    const now = this.now();
    return {
      serial: this.source ? { state: this.source.state, lastError: this.source.lastError, counters: { ...this.source.counters } } : null,
      fix: this.fix(), reference: this.reference.status(now), lastPpsAgeS: this.lastPpsAtMs === null ? null : (now - this.lastPpsAtMs) / 1000,
      leapSeconds: this.leapS, counters: this.counters,
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
