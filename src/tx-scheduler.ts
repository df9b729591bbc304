import type { Logger } from 'pino';
import { WarnLimiter } from '../hal/log-limit.js';
import type { BoardConfig, Concentrator, TxPacket } from '../hal/index.js';
import { guard, timeOnAirUs } from '../hal/index.js';
import { JitQueue, type JitClass } from './jit/index.js';
import type { TxRequest } from './protocol/index.js';
import type { TxAckError } from './protocol/tx-ack-error.js';
import type { Monitor } from './monitor/monitor.js';
import type { Regulation } from './regulation.js';
import type { ForwarderStats } from './stats.js';
import { choosePower } from './tx-power.js';
import { downlinkFields, PACKET_MSG, txPacketFields } from './packet-log.js';

/** Retry period after a failed counter read, ms. */
const COUNTER_RETRY_MS = 100;
/** How long after its target a handed-over frame's start may be reported before its line says it was not, ms. */
const START_REPORT_GRACE_MS = 1000;

/** What finally happened to an accepted downlink (told to the backend that asked, e.g. for the LNS `dntxed`). */
export type TxFate =
  | { outcome: 'sent'; /** Counter value the frame started at (the target where the radio emits in hardware). */ startUs: number }
  | { outcome: 'refused' | 'failed' | 'expired' | 'unconfirmed' };

/** Options of {@link TxScheduler}. */
export interface TxSchedulerOptions {
  concentrator: Concentrator;
  board: BoardConfig;
  stats: ForwarderStats;
  log: Logger;
  /** True once a valid GPS time reference exists (the GPS issue); until then tmms is GPS_UNLOCKED. */
  gpsLocked?: () => boolean;
  /** GPS time (ms) → counter value, or null without a precise time reference. */
  gpsToCount?: (gpsMs: number) => number | null;
  /** EIRP limits and duty cycles (regulation.ts); absent: no regional rules. */
  regulation?: Regulation;
  /** Wall clock for the duty-cycle hour, ms (default Date.now). */
  clockMs?: () => number;
  /** Keeps each request and its fate for the status API. */
  monitor?: Monitor;
}

/**
 * Turns accepted PULL_RESP requests into radio frames: checks them against
 * the board (TX_FREQ, TX_POWER, GPS_UNLOCKED), queues them in the JIT queue,
 * and hands each to the concentrator TX_JIT_DELAY ahead of its time. The
 * concentrator then emits at the exact counter value.
 *
 * The JIT queue itself is pure; this class owns its one timer.
 */
export class TxScheduler {
  readonly jit = new JitQueue<TxPacket>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Duty-cycle bookings of queued frames, given back if a frame never goes out. */
  private readonly bookings = new WeakMap<TxPacket, number>();
  /** Queued frames that are beacons (counted apart, as PF4 does). */
  private readonly beacons = new WeakSet<TxPacket>();
  /** The log fields of each queued downlink (token, radio settings, LoRaWAN header), for its outcome line. */
  private readonly described = new WeakMap<TxPacket, Record<string, unknown>>();
  /**
   * Downlinks handed to a radio that reports each start (onTxStart), by
   * target counter value: their `downlink sent` line waits for the start and
   * its error; `timer` says so if it never comes.
   */
  private readonly awaitingStart = new Map<number, { fields: Record<string, unknown>; timer: NodeJS.Timeout | null; fate?: (f: TxFate) => void }>();
  /** Who wants to know each queued downlink's fate (schedule()'s onFate). */
  private readonly fates = new WeakMap<TxPacket, (f: TxFate) => void>();
  private readonly log: Logger;
  /** Rejections (any server, or a spoofer, can send many): rate-limited per TX_ACK error. */
  private readonly warnLimit: WarnLimiter;
  private readonly serviceGuarded: () => void;

  constructor(private readonly o: TxSchedulerOptions) {
    this.log = o.log;
    this.warnLimit = new WarnLimiter(this.log);
    this.serviceGuarded = guard(this.log, (n) => o.stats.recordInternalError(n), 'TX hand-over timer', () => this.service());
    o.concentrator.onTxStart?.((e) => this.onTxStart(e));
  }

  /** A frame started on the air: the `downlink sent` line with its start error (start − target, µs). */
  private onTxStart(e: { targetUs: number | null; startUs: number }): void {
    if (e.targetUs === null) return;
    const w = this.awaitingStart.get(e.targetUs >>> 0);
    if (!w) return; // a beacon, or not ours
    if (w.timer) clearTimeout(w.timer);
    this.awaitingStart.delete(e.targetUs >>> 0);
    this.log.info({ ...w.fields, outcome: 'sent', startErrorUs: (e.startUs - e.targetUs) | 0 }, PACKET_MSG.sent);
    w.fate?.({ outcome: 'sent', startUs: e.startUs >>> 0 });
  }

  /** Tells a downlink's backend its fate, once. */
  private tellFate(p: TxPacket, f: TxFate): void {
    const cb = this.fates.get(p);
    if (!cb) return;
    this.fates.delete(p);
    try {
      cb(f);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'downlink fate handler failed');
      this.o.stats.recordInternalError('downlink fate');
    }
  }

  /**
   * Validates and queues one request; resolves to its TX_ACK: `error` null
   * when it was accepted, else the error code; `powerWarnDbm` when it was
   * accepted at a lower power than asked (gain table or legal limit), in
   * `powe` terms (the power used plus the antenna gain).
   */
  async schedule(req: TxRequest, token: number, onFate?: (f: TxFate) => void): Promise<{ error: TxAckError | null; powerWarnDbm?: number }> {
    this.nextFate = onFate;
    const error = await this.scheduleInner(req, token);
    this.nextFate = undefined;
    if (error !== null) return { error };
    const w = this.powerWarn;
    this.powerWarn = undefined;
    return w === undefined ? { error: null } : { error: null, powerWarnDbm: w };
  }

  /** schedule()'s onFate, for the request being checked. */
  private nextFate: ((f: TxFate) => void) | undefined;

  /** The power used when the last accepted request was lowered (read by schedule()). */
  private powerWarn: number | undefined;

  private async scheduleInner(req: TxRequest, token: number): Promise<TxAckError | null> {
    this.powerWarn = undefined;
    const reject = (error: TxAckError, reason: string): TxAckError => {
      this.o.stats.recordRejection(error);
      this.o.monitor?.downlink(req, token, error, null);
      this.warnLimit.warn({ ...downlinkFields(req, token), outcome: 'rejected', error, reason }, PACKET_MSG.rejected, error);
      return error;
    };
    let tmmsCount: number | null = null;
    if (req.timing.kind === 'tmms') {
      tmmsCount = this.o.gpsLocked?.() ? (this.o.gpsToCount?.(req.timing.gpsMs) ?? null) : null;
      if (tmmsCount === null) return reject('GPS_UNLOCKED', 'tmms requested but no valid GPS time reference');
    }
    const radio = this.o.board.radios[req.rfChain];
    if (!radio || !radio.enable || !radio.txEnable) {
      return reject('TX_FREQ', `rfch ${req.rfChain} is not a TX-enabled RF chain`);
    }
    if (req.freqHz < radio.txFreqMinHz || req.freqHz > radio.txFreqMaxHz) {
      return reject('TX_FREQ', `${req.freqHz} Hz outside rfch ${req.rfChain} TX range [${radio.txFreqMinHz}, ${radio.txFreqMaxHz}]`);
    }
    const toa = timeOnAirUs({
      radio: req.radio,
      payloadSize: req.payload.length,
      preambleSymbols: req.preambleSymbols,
      noCrc: req.noCrc,
      noHeader: false,
    });
    const cls: JitClass = req.timing.kind === 'immediate' ? 'C' : req.timing.kind === 'tmms' ? 'B' : 'A';
    const now = await this.o.concentrator.counterUs();
    const target = req.timing.kind === 'tmst' ? req.timing.countUs : (tmmsCount ?? now);
    // PF4: powe absent means 0 dBm, and the antenna gain is only subtracted from a given powe.
    const gain = this.o.board.antennaGainDbi;
    let requested = req.powerDbm === undefined ? 0 : req.powerDbm - gain;
    // The law first: the EIRP limit of the band/region (lowered to it, logged) and the duty cycle (refused).
    let booking = 0;
    if (this.o.regulation) {
      const startMs = (this.o.clockMs?.() ?? Date.now()) + Math.max(0, (target - now) | 0) / 1000;
      const v = this.o.regulation.check({ freqHz: req.freqHz, eirpDbm: requested + gain, airtimeUs: toa, startMs });
      if (!v.ok) return reject(v.error, v.reason);
      booking = v.id;
      if (v.clamped) {
        this.log.warn({ token, requestedEirpDbm: requested + gain, maxEirpDbm: v.eirpDbm, band: v.band }, 'TX power above the legal EIRP: lowered to it');
        requested = v.eirpDbm - gain;
      }
    }
    const refuse = (error: TxAckError, reason: string): TxAckError => {
      if (booking) this.o.regulation?.release(booking);
      return reject(error, reason);
    };
    const power = choosePower(this.o.board.txLut, requested);
    if (!power.ok) return refuse('TX_POWER', power.reason);
    if (!power.exact) {
      this.log.warn({ token, requestedDbm: requested, usedDbm: power.powerDbm }, 'TX power not in gain table, using the closest lower');
    }
    const askedDbm = req.powerDbm === undefined ? 0 : req.powerDbm - gain;
    const lowered = power.powerDbm < askedDbm;
    const packet: TxPacket = {
      mode: 'timestamped',
      countUs: req.timing.kind === 'tmst' ? req.timing.countUs : (tmmsCount ?? 0),
      freqHz: req.freqHz,
      rfChain: req.rfChain,
      powerDbm: power.powerDbm,
      radio: req.radio,
      fdevHz: req.fdevHz,
      invertPolarity: req.invertPolarity,
      preambleSymbols: req.preambleSymbols,
      noCrc: req.noCrc,
      noHeader: false,
      payload: req.payload,
      ...(req.timing.kind === 'immediate' ? { immediate: true } : {}),
    };
    this.o.stats.counters.txRequested++;
    const r = this.jit.enqueue(now, { cls, countUs: packet.countUs, timeOnAirUs: toa, item: packet });
    if (!r.ok) return refuse(r.error, r.reason);
    if (booking) this.bookings.set(packet, booking);
    if (this.nextFate) this.fates.set(packet, this.nextFate);
    packet.countUs = r.countUs;
    this.o.monitor?.downlink(req, token, null, r.countUs);
    const fields = { ...downlinkFields(req, token), powerDbm: packet.powerDbm, countUs: r.countUs };
    this.described.set(packet, fields);
    // Its outcome (sent, refused, expired) gets the info line; this one is for tracing the queue.
    this.log.debug({ ...fields, inUs: (r.countUs - now) | 0, toaUs: toa }, 'downlink scheduled');
    this.arm(now);
    if (lowered && req.powerDbm !== undefined) this.powerWarn = packet.powerDbm + gain;
    return null;
  }

  /**
   * Queues a Class B beacon (already at its counter value). Beacons keep
   * their slot: a downlink overlapping one gets COLLISION_BEACON.
   */
  async scheduleBeacon(p: TxPacket): Promise<{ ok: true } | { ok: false; error: string; reason: string }> {
    const toa = timeOnAirUs({ radio: p.radio, payloadSize: p.payload.length, preambleSymbols: p.preambleSymbols, noCrc: p.noCrc, noHeader: p.noHeader });
    const now = await this.o.concentrator.counterUs();
    const c = this.o.stats.counters;
    let booking = 0;
    if (this.o.regulation) {
      const v = this.o.regulation.check({ freqHz: p.freqHz, eirpDbm: p.powerDbm + this.o.board.antennaGainDbi, airtimeUs: toa, startMs: (this.o.clockMs?.() ?? Date.now()) + Math.max(0, (p.countUs - now) | 0) / 1000 });
      if (!v.ok) {
        c.beaconRejected++;
        return v;
      }
      booking = v.id;
    }
    const r = this.jit.enqueue(now, { cls: 'beacon', countUs: p.countUs, timeOnAirUs: toa, item: p });
    if (!r.ok) {
      if (booking) this.o.regulation?.release(booking);
      c.beaconRejected++;
      return r;
    }
    if (booking) this.bookings.set(p, booking);
    c.beaconQueued++;
    this.beacons.add(p);
    this.arm(now);
    return { ok: true };
  }

  /**
   * The radio's counter restarted (SX1301 re-initialised): every queued
   * target is a value of the old counter, which would fire at a random time
   * on the new one. Each is dropped, counted as failed (beacons as rejected),
   * its duty-cycle booking given back and its backend told. Returns how many.
   */
  counterRestarted(): number {
    const c = this.o.stats.counters;
    const dropped = this.jit.clear();
    for (const e of dropped) {
      this.release(e.item);
      if (this.beacons.has(e.item)) {
        c.beaconRejected++;
        continue;
      }
      c.txFailed++;
      this.o.monitor?.handOver(e.countUs, 'failed');
      this.log.warn({ ...this.fieldsOf(e.item), outcome: 'dropped' }, PACKET_MSG.lostToRestart);
      this.tellFate(e.item, { outcome: 'failed' });
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return dropped.length;
  }

  /** Cancels the timer; queued frames are dropped. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.awaitingStart.values()) if (w.timer) clearTimeout(w.timer);
    this.awaitingStart.clear();
  }

  /** (Re)arms the single timer for the queue's next hand-over time. */
  private arm(nowUs: number): void {
    if (this.stopped) return;
    const inUs = this.jit.nextWakeInUs(nowUs);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (inUs === null) return;
    this.timer = setTimeout(this.serviceGuarded, Math.max(0, Math.ceil(inUs / 1000)));
  }

  private async service(): Promise<void> {
    this.timer = null;
    let now: number;
    try {
      now = await this.o.concentrator.counterUs();
    } catch (err) {
      // A radio that stopped answering: retry at a pace that does not flood the log.
      this.log.error({ err: (err as Error).message, retryInMs: COUNTER_RETRY_MS }, 'counter read failed; retrying');
      this.timer = setTimeout(this.serviceGuarded, COUNTER_RETRY_MS);
      return;
    }
    const { due, expired } = this.jit.takeDue(now);
    const c = this.o.stats.counters;
    for (const e of expired) {
      this.release(e.item);
      if (this.beacons.has(e.item)) {
        c.beaconRejected++;
        this.log.warn({ countUs: e.countUs }, 'beacon dropped: its time passed before hand-over');
        continue;
      }
      c.txExpired++;
      this.o.monitor?.handOver(e.countUs, 'expired');
      this.log.warn({ ...this.fieldsOf(e.item), outcome: 'expired', lateUs: (now - e.countUs) | 0 }, PACKET_MSG.expired);
      this.tellFate(e.item, { outcome: 'expired' });
    }
    for (const e of due) await this.handOver(e.item, now);
    this.arm(await this.o.concentrator.counterUs().catch(() => now));
  }

  /** A frame that will not go out gives its duty-cycle booking back. */
  private release(p: TxPacket): void {
    const id = this.bookings.get(p);
    if (id) this.o.regulation?.release(id);
    this.bookings.delete(p);
  }

  private fieldsOf(p: TxPacket): Record<string, unknown> {
    return this.described.get(p) ?? txPacketFields(p);
  }

  private async handOver(p: TxPacket, now: number): Promise<void> {
    const c = this.o.stats.counters;
    if (this.beacons.has(p)) {
      const r = await this.o.concentrator.send(p).catch((err: Error) => ({ ok: false as const, error: 'INVALID', detail: err.message }));
      if (r.ok) c.beaconSent++;
      else {
        this.release(p);
        c.beaconRejected++;
        this.log.warn({ countUs: p.countUs, detail: r.detail }, 'beacon refused by the radio');
      }
      return;
    }
    const fields = this.fieldsOf(p);
    const key = p.countUs >>> 0;
    // Watched from before the hand-over: a radio may report the start before send() resolves.
    const watched = this.o.concentrator.onTxStart !== undefined;
    const fate = this.fates.get(p);
    if (watched) this.awaitingStart.set(key, { fields, timer: null, fate: fate ? (f) => this.tellFate(p, f) : undefined });
    try {
      const r = await this.o.concentrator.send(p);
      if (r.ok) {
        c.txSent++;
        c.txBytes += p.payload.length;
        this.o.monitor?.handOver(p.countUs, 'sent');
        this.log.debug({ countUs: p.countUs, freqHz: p.freqHz }, 'downlink handed to concentrator');
        if (!watched) {
          this.log.info({ ...fields, outcome: 'sent' }, PACKET_MSG.sent);
          this.tellFate(p, { outcome: 'sent', startUs: p.countUs >>> 0 });
        } else this.awaitStart(key, fields, p.countUs, now);
      } else {
        this.awaitingStart.delete(key);
        c.txFailed++;
        this.release(p);
        this.o.monitor?.handOver(p.countUs, 'refused');
        this.log.warn({ ...fields, outcome: 'refused', error: r.error, detail: r.detail }, PACKET_MSG.refused);
        this.tellFate(p, { outcome: 'refused' });
      }
    } catch (err) {
      this.awaitingStart.delete(key);
      c.txFailed++;
      this.release(p);
      this.o.monitor?.handOver(p.countUs, 'failed');
      this.log.error({ ...fields, outcome: 'failed', err: (err as Error).message, code: (err as { code?: string }).code }, PACKET_MSG.failed);
      this.tellFate(p, { outcome: 'failed' });
    }
  }

  /**
   * A radio that reports starts took the frame: its `downlink sent` line
   * comes with the start (onTxStart), with the start error. If no start is
   * reported within START_REPORT_GRACE_MS after the target, that is said
   * instead. (A radio without the hook, the SX1301 which emits in hardware,
   * gets the line at hand-over.)
   */
  private awaitStart(key: number, fields: Record<string, unknown>, countUs: number, now: number): void {
    const w = this.awaitingStart.get(key);
    if (!w || w.fields !== fields) return; // already started and logged
    const inMs = Math.max(0, (countUs - now) | 0) / 1000;
    w.timer = setTimeout(() => {
      this.awaitingStart.delete(key);
      this.log.warn({ ...fields, outcome: 'unconfirmed' }, PACKET_MSG.startNotReported);
      w.fate?.({ outcome: 'unconfirmed' });
    }, inMs + START_REPORT_GRACE_MS);
    w.timer.unref();
  }
}
