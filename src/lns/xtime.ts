/**
 * `xtime`, the LNS protocol's radio time: a 64-bit value whose low 48 bits
 * are a linear microsecond counter, bits 48-55 a session id and bits 56-62
 * the radio unit (rctx/txunit), bit 63 zero [Basics Station docs "The LNS
 * Protocol", upinfo.xtime; src/rt.h]. The session id changes whenever the
 * counter's origin does (a restart of the radio or the forwarder), so a
 * server never mixes times of two sessions: a `dnmsg` with a time of another
 * session is refused.
 *
 * The radio's own counter is 32 bits and wraps every ~71.6 min; this makes
 * it linear by adding the signed distance from the last value seen (any two
 * readings less than 2^31 µs ≈ 35.8 min apart, which the forwarder's polls
 * guarantee). Pure: every counter value comes in as an argument.
 */
import { counterDiffUs } from '../../hal/index.js';

/** Bits of the linear counter in an xtime. */
const COUNTER_BITS = 48n;
const COUNTER_MASK = (1n << COUNTER_BITS) - 1n;
const SESSION_SHIFT = 48n;
const UNIT_SHIFT = 56n;

/** Result of turning a server's xtime back into the radio counter. */
export type XtimeToCount = { ok: true; countUs: number; linearUs: bigint } | { ok: false; reason: string };

/** One session's xtime clock. */
export class XtimeClock {
  private lastCount: number | null = null;
  private linear = 0n;

  /** `session` 1..255 (0 is avoided so a zero xtime is never valid); `unit` the radio unit, 0 for one radio. */
  constructor(readonly session: number, readonly unit = 0) {
    if (!Number.isInteger(session) || session < 1 || session > 255) throw new RangeError(`xtime session ${session} is not 1..255`);
  }

  /** A random session id, 1..255. */
  static randomSession(): number {
    return 1 + Math.floor(Math.random() * 255);
  }

  /** A clock for a new session (another id, counting from the next reading): after the radio restarted. */
  nextSession(): XtimeClock {
    let id = XtimeClock.randomSession();
    while (id === this.session) id = XtimeClock.randomSession();
    return new XtimeClock(id, this.unit);
  }

  /**
   * The linear counter value of the u32 counter reading `countUs`, extending
   * over wraps. A reading a little older than the last (an uplink stamped
   * before the last poll's counter read) maps behind it without moving the
   * clock back.
   */
  linearOf(countUs: number): bigint {
    const c = countUs >>> 0;
    if (this.lastCount === null) {
      this.lastCount = c;
      this.linear = BigInt(c);
      return this.linear;
    }
    const d = counterDiffUs(c, this.lastCount);
    const at = this.linear + BigInt(d);
    if (d > 0) {
      this.lastCount = c;
      this.linear = at;
    }
    return at;
  }

  /** The xtime of the u32 counter reading `countUs`. */
  xtimeOf(countUs: number): bigint {
    return (BigInt(this.unit) << UNIT_SHIFT) | (BigInt(this.session) << SESSION_SHIFT) | (this.linearOf(countUs) & COUNTER_MASK);
  }

  /** The u32 counter value an xtime of this session stands for (plus `offsetUs`, e.g. RX1's delay). */
  toCount(xtime: bigint, offsetUs = 0): XtimeToCount {
    if (xtime < 0n || xtime >> 63n !== 0n) return { ok: false, reason: `xtime ${xtime} is not a 63-bit value` };
    const session = Number((xtime >> SESSION_SHIFT) & 0xffn);
    if (session !== this.session) return { ok: false, reason: `xtime of session ${session}, this radio session is ${this.session} (the radio or forwarder restarted)` };
    const linearUs = (xtime & COUNTER_MASK) + BigInt(offsetUs);
    return { ok: true, countUs: Number(linearUs & 0xffffffffn), linearUs };
  }
}
