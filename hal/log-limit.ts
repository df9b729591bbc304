/**
 * Rate limits for warnings that anyone who can send a datagram can cause
 * (foreign or malformed datagrams, rejected PULL_RESP, bad virtual-air
 * frames). Without a limit, a sender can fill the SD card through the
 * journal one line per datagram. Counters still count every event; only the
 * log lines are limited.
 *
 * Per key (the message, plus a reason where the call gives one): the first
 * `burst` lines of a window are written; the rest of that window are counted,
 * and when the window ends one line says how many were suppressed
 * ("suppressed N similar warnings in the last 60 s"), with the message and
 * the key, at warn. A key that stays quiet for a whole window starts afresh.
 */
import type { Logger } from 'pino';

/** Lines written per key per window before suppression starts. */
export const WARN_BURST = 10;
/** Window length, ms. */
export const WARN_WINDOW_MS = 60_000;

/** The message of the summary line, so tests and log readers can find it. */
export const SUPPRESSED_MSG = 'similar warnings suppressed';

interface Window {
  startMs: number;
  written: number;
  suppressed: number;
  msg: string;
  key: string;
}

export interface WarnLimiterOptions {
  burst?: number;
  windowMs?: number;
  /** Keys tracked at most; beyond it the oldest quiet key is forgotten (a sender cannot grow the map). */
  maxKeys?: number;
}

/** Every limiter alive, so the process can write the pending summaries when it stops. */
const live = new Set<WeakRef<WarnLimiter>>();

/** Writes every limiter's pending summary (called once as the process stops). */
export function flushWarnLimiters(): void {
  for (const ref of live) {
    const l = ref.deref();
    if (l) l.flush();
    else live.delete(ref);
  }
}

export class WarnLimiter {
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly windows = new Map<string, Window>();
  private timer: NodeJS.Timeout | null = null;
  /** Lines not written, since start (all keys). */
  suppressedTotal = 0;

  constructor(private readonly log: Logger, o: WarnLimiterOptions = {}) {
    this.burst = o.burst ?? WARN_BURST;
    this.windowMs = o.windowMs ?? WARN_WINDOW_MS;
    this.maxKeys = o.maxKeys ?? 256;
    live.add(new WeakRef(this));
  }

  /**
   * Writes `log.warn(fields, msg)` unless this key has had its burst in the
   * current window. `reason` (optional) splits one message into keys, e.g.
   * by TX_ACK error; keep it to a small vocabulary, never raw input.
   */
  warn(fields: Record<string, unknown>, msg: string, reason = ''): void {
    const key = reason ? `${msg}\u0000${reason}` : msg;
    const now = performance.now();
    let w = this.windows.get(key);
    if (w && now - w.startMs >= this.windowMs) {
      this.close(w, now);
      w = undefined;
    }
    if (!w) {
      if (this.windows.size >= this.maxKeys) this.evict(now);
      w = { startMs: now, written: 0, suppressed: 0, msg, key: reason };
      this.windows.set(key, w);
    }
    if (w.written < this.burst) {
      w.written++;
      this.log.warn(fields, msg);
      return;
    }
    w.suppressed++;
    this.suppressedTotal++;
    this.arm();
  }

  /** Writes the summaries still pending (at stop). */
  flush(): void {
    const now = performance.now();
    for (const w of this.windows.values()) this.close(w, now);
    this.windows.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private close(w: Window, now: number): void {
    if (w.suppressed === 0) return;
    const seconds = Math.max(1, Math.round((now - w.startMs) / 1000));
    this.log.warn(
      { suppressed: w.suppressed, windowS: seconds, message: w.msg, ...(w.key ? { reason: w.key } : {}) },
      `${SUPPRESSED_MSG}: ${w.suppressed} × "${w.msg}" in the last ${seconds} s`,
    );
    w.suppressed = 0;
  }

  /** Ends windows that are over, writing their summaries; re-arms while any window still holds suppressed lines. */
  private sweep(): void {
    this.timer = null;
    const now = performance.now();
    let pending = false;
    for (const [k, w] of this.windows) {
      if (now - w.startMs >= this.windowMs) {
        this.close(w, now);
        this.windows.delete(k);
      } else if (w.suppressed > 0) pending = true;
    }
    if (pending) this.arm();
  }

  private arm(): void {
    if (this.timer) return;
    let first = Infinity;
    for (const w of this.windows.values()) if (w.suppressed > 0) first = Math.min(first, w.startMs + this.windowMs);
    const inMs = Math.max(10, Math.ceil(first - performance.now()));
    this.timer = setTimeout(() => this.sweep(), inMs);
    this.timer.unref();
  }

  private evict(now: number): void {
    // The oldest window goes; its summary (if any) is written first.
    const [k, w] = this.windows.entries().next().value as [string, Window];
    this.close(w, now);
    this.windows.delete(k);
  }
}
