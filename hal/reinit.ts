/**
 * Re-initialising a radio after a fault, with back-off: the first attempt
 * after `minMs`, each failure doubling the wait up to `maxMs`, the delay
 * back to `minMs` after a success. Shared by the SX127x and SX1301 drivers.
 */
export class Reinitializer {
  private timer: NodeJS.Timeout | null = null;
  private delay: number;

  constructor(
    private readonly o: {
      minMs: number;
      maxMs: number;
      /** One attempt; throws when the radio is not back. */
      attempt: () => Promise<void>;
      /** False once the radio was stopped (or recovered otherwise): no more attempts. */
      wanted: () => boolean;
      onSuccess: () => void;
      onFailure: (err: Error, retryInMs: number) => void;
    },
  ) {
    this.delay = o.minMs;
  }

  /** The wait before the next attempt, ms. */
  get delayMs(): number {
    return this.delay;
  }

  /** Schedules the next attempt. */
  schedule(): void {
    this.cancel();
    this.timer = setTimeout(() => void this.run(), this.delay);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async run(): Promise<void> {
    this.timer = null;
    if (!this.o.wanted()) return;
    try {
      await this.o.attempt();
      this.delay = this.o.minMs;
      this.o.onSuccess();
    } catch (err) {
      if (!this.o.wanted()) return;
      this.delay = Math.min(this.o.maxMs, this.delay * 2);
      this.o.onFailure(err as Error, this.delay);
      this.schedule();
    }
  }
}
