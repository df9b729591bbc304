import { counterDiffUs, u32 } from '../../hal/index.js';
import { JitArgumentError, resolveJitTimings, type JitTimings, type ResolvedJitTimings } from './constants.js';
import { postDelayUs, preDelayUs, slotsCollide, type JitClass, type JitSlot } from './slot.js';

/** A frame offered to the queue. */
export interface JitRequest<T> {
  cls: JitClass;
  /** Target counter value, u32 µs; ignored for class 'C' (the queue picks the slot). */
  countUs: number;
  /** Exact time on air of the frame, µs (hal `timeOnAirUs`). */
  timeOnAirUs: number;
  /** Whatever the caller wants back when the frame is due. */
  item: T;
}

/** A queued frame. */
export interface JitEntry<T> extends Readonly<JitSlot> {
  /** Time on air the request declared, µs. */
  readonly timeOnAirUs: number;
  readonly item: T;
}

/** A queued frame as seen from a given "now", for stats dumps. */
export interface JitEntryView<T> extends JitEntry<T> {
  /** Signed µs from now to the target (negative: already past). */
  readonly inUs: number;
}

/** Refusals of {@link JitQueue.enqueue}, in the TX_ACK vocabulary. */
export type JitError = 'TOO_LATE' | 'TOO_EARLY' | 'COLLISION_PACKET' | 'COLLISION_BEACON';

/** Outcome of {@link JitQueue.enqueue}. */
export type JitEnqueueResult =
  | {
      ok: true;
      /** Scheduled target, u32 µs: the request's for A/B/beacon, the chosen ASAP slot for C. */
      countUs: number;
    }
  | {
      ok: false;
      error: JitError;
      /** Human-readable cause for the log, e.g. 'queue full (32)'. */
      reason: string;
    };

/** Result of {@link JitQueue.takeDue}; both lists are removed from the queue, oldest target first. */
export interface JitTakeResult<T> {
  /** Frames to hand to the concentrator now (0 <= target − now < TX_JIT_DELAY). */
  due: JitEntry<T>[];
  /** Frames whose target already passed; the caller logs and counts them. */
  expired: JitEntry<T>[];
}

/**
 * Just-in-time downlink queue after PF4 `jitqueue.c` (constants.md §5):
 * frames wait here until TX_JIT_DELAY before their target, then are handed
 * to the concentrator, whose single TX buffer can hold only one frame.
 *
 * Pure: no clock, no timer. Every method takes `nowUs`, the concentrator's
 * u32 µs counter, and the caller owns the timer (see {@link nextWakeInUs}).
 *
 * Counter wrap: every distance is the signed 32-bit difference
 * (`counterDiffUs`), so "behind now" is anything up to 2^31 µs (35.8 min)
 * back and "ahead" anything up to 2^31 µs forward. Entries are kept sorted
 * by that signed distance, which is right across the wrap (PF4 sorts on a
 * signed int of the raw counts, wrong across it). This holds while all
 * entries sit within half a wrap of now, i.e. as long as `takeDue` runs at
 * least every 35 min while the queue is non-empty. The wake time it returns
 * is at most ~512 s away (beyond only for a Class C slot pushed past very
 * long frames), so a caller that follows it always does.
 */
export class JitQueue<T> {
  /** The resolved timings this queue runs with. */
  readonly timings: Readonly<ResolvedJitTimings>;
  /** Sorted by target, earliest first. */
  private list: JitEntry<T>[] = [];
  /**
   * Frames already handed to the radio whose airtime has not ended. They still
   * block their slot: without this a frame slotted while another is on air is
   * refused by the radio (PF4 "concentrator is currently emitting" and loses it;
   * CSD blocks until the end of the running TX, constants.md §10).
   */
  private inFlight: JitEntry<T>[] = [];

  /** Throws a JitArgumentError (code ERR_JIT_ARGUMENT) for invalid timings. */
  constructor(opts?: Partial<JitTimings>) {
    this.timings = Object.freeze(resolveJitTimings(opts));
  }

  /** Number of queued frames (expired ones not yet taken included). */
  get size(): number {
    return this.list.length;
  }

  /**
   * Offers a frame. Checks, in PF4's order: queue full (COLLISION_PACKET),
   * Class C slotting, TOO_LATE (target at most 32.5 ms ahead or anywhere
   * behind now, across the wrap), TOO_EARLY (A/B more than 512 s ahead),
   * then collisions with every queued frame (COLLISION_BEACON when the
   * frame hit is a beacon, COLLISION_PACKET otherwise).
   */
  enqueue(nowUs: number, req: JitRequest<T>): JitEnqueueResult {
    checkCounter('nowUs', nowUs);
    checkRequest(req);
    const t = this.timings;
    if (this.list.length >= t.capacity) {
      return { ok: false, error: 'COLLISION_PACKET', reason: `queue full (${t.capacity})` };
    }
    const preUs = preDelayUs(req.cls, t);
    const postUs = postDelayUs(req.cls, req.timeOnAirUs, t);
    const countUs = req.cls === 'C' ? this.asapSlot(nowUs, preUs, postUs) : u32(req.countUs);
    const aheadUs = counterDiffUs(countUs, nowUs);
    if (aheadUs <= t.minLeadUs) {
      const reason =
        aheadUs < 0
          ? `target ${countUs} is ${-aheadUs} us behind now ${nowUs}`
          : `target ${countUs} is ${aheadUs} us ahead of now ${nowUs}, needs more than ${t.minLeadUs} us`;
      return { ok: false, error: 'TOO_LATE', reason };
    }
    if ((req.cls === 'A' || req.cls === 'B') && aheadUs > t.txMaxAdvanceUs) {
      return { ok: false, error: 'TOO_EARLY', reason: `target ${countUs} is ${aheadUs} us ahead of now ${nowUs}, limit ${t.txMaxAdvanceUs} us` };
    }
    // Room kept for frames due soon (Class A answers): far-future frames cannot take the last slots.
    const reserved = Math.min(t.nearReserved, Math.floor(t.capacity / 4));
    if (reserved > 0 && aheadUs > t.nearHorizonUs) {
      let far = 0;
      for (const q of this.list) if (counterDiffUs(q.countUs, nowUs) > t.nearHorizonUs) far++;
      if (far >= t.capacity - reserved) {
        return {
          ok: false,
          error: 'COLLISION_PACKET',
          reason: `far-future frames already fill ${far} of ${t.capacity} slots; ${reserved} are kept for frames due within ${t.nearHorizonUs / 1e6} s`,
        };
      }
    }
    const entry: JitEntry<T> = { cls: req.cls, countUs, preDelayUs: preUs, postDelayUs: postUs, timeOnAirUs: req.timeOnAirUs, item: req.item };
    for (const q of this.obstacles()) {
      if (slotsCollide(entry, q, t)) {
        const beacon = q.cls === 'beacon';
        return {
          ok: false,
          error: beacon ? 'COLLISION_BEACON' : 'COLLISION_PACKET',
          reason: `overlaps ${beacon ? 'beacon' : 'downlink'} at ${q.countUs}`,
        };
      }
    }
    this.insertSorted(entry);
    return { ok: true, countUs };
  }

  /**
   * Removes and returns the frames whose hand-over time has come
   * (0 <= target − now < TX_JIT_DELAY) and those already past their target.
   */
  takeDue(nowUs: number): JitTakeResult<T> {
    checkCounter('nowUs', nowUs);
    const due: JitEntry<T>[] = [];
    const expired: JitEntry<T>[] = [];
    const keep: JitEntry<T>[] = [];
    for (const e of this.list) {
      const inUs = counterDiffUs(e.countUs, nowUs);
      if (inUs < 0) expired.push(e);
      else if (inUs < this.timings.txJitDelayUs) due.push(e);
      else keep.push(e);
    }
    this.list = keep;
    this.inFlight = this.inFlight.filter((e) => counterDiffUs(u32(e.countUs + e.postDelayUs), nowUs) >= 0).concat(due);
    return { due, expired };
  }

  /**
   * µs from `nowUs` until {@link takeDue} has something to return: 0 when a
   * frame is due or expired now, null when the queue is empty. Waking exactly
   * this much later makes the earliest frame due (target − now = TX_JIT_DELAY − 1).
   */
  nextWakeInUs(nowUs: number): number | null {
    checkCounter('nowUs', nowUs);
    let soonestUs: number | null = null;
    for (const e of this.list) {
      const inUs = counterDiffUs(e.countUs, nowUs);
      if (soonestUs === null || inUs < soonestUs) soonestUs = inUs;
    }
    if (soonestUs === null) return null;
    return Math.max(0, soonestUs - this.timings.txJitDelayUs + 1);
  }

  /** Empties the queue (the counter its targets were on restarted); returns what it held, earliest first. */
  clear(): JitEntry<T>[] {
    const all = this.list;
    this.list = [];
    this.inFlight = [];
    return all;
  }

  /** Snapshot of the queue, earliest target first, with each target's distance from `nowUs`. */
  entries(nowUs: number): readonly JitEntryView<T>[] {
    checkCounter('nowUs', nowUs);
    return this.list.map((e) => ({ ...e, inUs: counterDiffUs(e.countUs, nowUs) }));
  }

  /**
   * First slot at or after now + ASAP delay that collides with no queued
   * frame, walking the queue in target order as PF4 does: a slot that hits
   * frame q moves to q.target + q.post + pre + TX_JIT_DELAY + TX_MARGIN_DELAY
   * [PF4 jitqueue.c]. Unlike PF4 the slot never moves backwards, and every
   * frame is tested with the same collision rule enqueue applies.
   */
  private asapSlot(nowUs: number, preUs: number, postUs: number): number {
    const t = this.timings;
    const slot: JitSlot = { cls: 'C', countUs: u32(nowUs + t.classCAsapDelayUs), preDelayUs: preUs, postDelayUs: postUs };
    // One pass suffices: queued frames do not overlap, so every frame before
    // q ends before q ends, and a slot moved past q's end clears them too.
    for (const q of this.obstacles()) {
      if (slotsCollide(slot, q, t)) {
        slot.countUs = u32(q.countUs + q.postDelayUs + preUs + t.txJitDelayUs + t.txMarginDelayUs);
      }
    }
    return slot.countUs;
  }

  /** Everything a new frame must not overlap: frames on air (earliest), then queued ones. */
  private obstacles(): JitEntry<T>[] {
    return this.inFlight.length ? this.inFlight.concat(this.list) : this.list;
  }

  /** Inserts after every frame whose target is not later (signed distance, wrap-safe). */
  private insertSorted(entry: JitEntry<T>): void {
    let i = this.list.length;
    while (i > 0 && counterDiffUs(entry.countUs, this.list[i - 1]!.countUs) < 0) i--;
    this.list.splice(i, 0, entry);
  }
}

function checkCounter(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new JitArgumentError(`${name} must be a u32 counter value, got ${String(value)}`);
  }
}

const CLASSES: ReadonlySet<string> = new Set<JitClass>(['A', 'B', 'C', 'beacon']);

function checkRequest(req: JitRequest<unknown>): void {
  if (!CLASSES.has(req.cls)) throw new JitArgumentError(`unknown JIT class ${String(req.cls)}`);
  if (req.cls !== 'C') checkCounter('countUs', req.countUs);
  if (!Number.isSafeInteger(req.timeOnAirUs) || req.timeOnAirUs < 0) {
    throw new JitArgumentError(`timeOnAirUs must be a non-negative integer, got ${String(req.timeOnAirUs)}`);
  }
}
