/**
 * The simulated concentrator's free-running u32 µs counter, derived from the
 * monotonic clock (process.hrtime, shared by every thread of the process), so
 * the sim and its TX thread read the same counter.
 */
export class SimClock {
  /**
   * @param startUs counter value at `originNs`
   * @param originNs process.hrtime.bigint() at which the counter read `startUs`
   */
  constructor(
    readonly startUs: number,
    readonly originNs: bigint = process.hrtime.bigint(),
  ) {}

  /** Current counter value, u32 µs (wraps every 2^32 µs ≈ 71.6 min). */
  nowUs(): number {
    const elapsedUs = Number((process.hrtime.bigint() - this.originNs) / 1000n);
    return (this.startUs + elapsedUs) >>> 0;
  }
}
