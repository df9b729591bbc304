/**
 * The newest N samples of a measurement, with nearest-rank percentiles: the
 * drivers' timing figures (TX start error, return to RX, DIO0 latency) in a
 * fixed amount of memory.
 */
export class SampleRing {
  private readonly buf: Float64Array;
  private n = 0;
  private next = 0;
  /** Samples recorded since creation (not only those kept). */
  total = 0;
  /** Largest sample since creation. */
  max: number | null = null;

  constructor(capacity = 4096) {
    this.buf = new Float64Array(capacity);
  }

  add(x: number): void {
    this.buf[this.next] = x;
    this.next = (this.next + 1) % this.buf.length;
    if (this.n < this.buf.length) this.n++;
    this.total++;
    if (this.max === null || x > this.max) this.max = x;
  }

  /** Nearest-rank percentile of the kept samples, or null when empty. */
  percentile(p: number): number | null {
    if (this.n === 0) return null;
    const s = Array.from(this.buf.subarray(0, this.n)).sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  }

  /** count, p50, p99 (kept samples) and max (all samples), rounded to whole units. */
  summary(): { count: number; p50: number | null; p99: number | null; max: number | null } {
    const r = (x: number | null) => (x === null ? null : Math.round(x));
    return { count: this.total, p50: r(this.percentile(50)), p99: r(this.percentile(99)), max: r(this.max) };
  }
}
