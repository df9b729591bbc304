/**
 * The wait between two polls of a radio that gives no receive signal (the
 * SX1301 has none; the forwarder also polls as a backup for radios that
 * do). A poll that found frames is followed by another after `fastMs`, as
 * the reference with FETCH_SLEEP_MS 1 does, so a busy gateway forwards each
 * frame within about a millisecond; every empty poll doubles the wait, up to
 * `idleMs`, so a quiet gateway wakes no more often than the stock reference
 * (FETCH_SLEEP_MS 10). The first frames after a quiet spell wait at most
 * `idleMs`.
 */
export class PollBackoff {
  private delay: number;

  constructor(readonly fastMs: number, readonly idleMs: number) {
    if (!(fastMs > 0) || !(idleMs >= fastMs)) throw new RangeError(`poll periods: fast ${fastMs} ms, idle ${idleMs} ms`);
    this.delay = idleMs;
  }

  /** The wait before the next poll, ms, given whether this one found anything. */
  next(found: boolean): number {
    this.delay = found ? this.fastMs : Math.min(this.idleMs, this.delay * 2);
    return this.delay;
  }

  /** The current wait, ms. */
  get current(): number {
    return this.delay;
  }
}
