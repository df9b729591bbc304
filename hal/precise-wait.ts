/**
 * Blocking waits to a point on the monotonic clock, precise to about a
 * microsecond, for the few places where a timer's millisecond granularity is
 * not enough (starting a downlink).
 *
 * Measured on the 2-vCPU development VM (Node 20):
 * - `performance.now()` allocates on every call; a tight loop on it made the
 *   young generation collect every ~7 ms, and a collection inside the last
 *   stretch of a spin delayed the TX start by 0.3-2 ms in a fresh process.
 *   So the spin reads the clock only every ~1,000 cheap integer operations.
 * - `Atomics.wait` with a fractional timeout blocks without allocating and
 *   overshoots by 80-270 µs, so it covers everything but the last
 *   `spinUs` (default 600 µs).
 */
const cell = new Int32Array(new SharedArrayBuffer(4));
/** Written by the spin so the busy work cannot be optimised away. */
let sink = 0;

/** Busy-waits until `clock()` ≥ `t`, reading the clock sparingly; returns the reading that ended it. */
export function spinUntil(clock: () => number, t: number): number {
  let now = clock();
  while (now < t) {
    let x = sink;
    for (let i = 0; i < 1000; i++) x = (x * 31 + i) | 0;
    sink = x;
    now = clock();
  }
  return now;
}

/** Blocks (without spinning) until about `spinUs` before `t`, then spins to `t`; returns the final clock reading. */
export function waitUntil(clock: () => number, t: number, spinUs = 600): number {
  for (;;) {
    const left = t - clock() - spinUs;
    if (left <= 0) break;
    Atomics.wait(cell, 0, 0, left / 1000);
  }
  return spinUntil(clock, t);
}
