/**
 * The SX1276 emulator as real-time hardware for the driver: the chip behind
 * SPI, its NRESET line and its DIO0 line, on the host's monotonic clock.
 *
 * - TxDone happens at TX start + time on air: a timer wakes 4 ms before and
 *   spins to the exact microsecond, so the edge the driver sees is as late as
 *   an edge on real hardware would be (no timer lateness added).
 * - DIO0 edges reach the driver from the event loop (setImmediate), as an
 *   `onoff` watch callback does.
 * - Driving NRESET low resets the register file (the chip reboots when released).
 */
import type { EdgeLine, OutputLine } from '../gpio/lines.js';
import { waitUntil } from '../precise-wait.js';
import { Sx1276Emulator } from './sx1276-emulator.js';
import type { Sx127xHardware } from './sx127x-concentrator.js';

/** Options of {@link EmulatedSx127x}. */
export interface EmulatedSx127xOptions {
  /** Monotonic clock, µs (the driver's). */
  clockUs: () => number;
  /** RegVersion to present (default 0x12). */
  version?: number;
  /** Bound on the emulator's records (default 10,000). */
  maxRecords?: number;
  /** Present a DIO0 line (default true); false makes the driver poll. */
  dio0?: boolean;
  /** Present a reset line (default true). */
  reset?: boolean;
}

const SPIN_BEFORE_US = 4000;

/** An emulated SX1276 board. */
export class EmulatedSx127x {
  readonly chip: Sx1276Emulator;
  /** NRESET pulses seen. */
  resets = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerFor: number | undefined;
  private readonly dio0Watchers: Array<() => void> = [];

  constructor(private readonly o: EmulatedSx127xOptions) {
    this.chip = new Sx1276Emulator({ now: o.clockUs, version: o.version, maxRecords: o.maxRecords ?? 10_000 });
    this.chip.afterTransfer = () => this.arm();
    this.chip.onDio0(() => {
      for (const cb of this.dio0Watchers) setImmediate(cb);
    });
  }

  /** The hardware links for `Sx127xConcentratorOptions.open`. */
  hardware(): Sx127xHardware {
    const reset: OutputLine = {
      write: (v) => {
        if (v === 0) {
          this.resets++;
          this.chip.reset();
        }
      },
      release: () => undefined,
      close: () => undefined,
    };
    const dio0: EdgeLine = {
      watch: (cb) => this.dio0Watchers.push(cb),
      read: () => 0,
      close: () => {
        this.dio0Watchers.length = 0;
      },
    };
    return {
      spi: this.chip,
      reset: this.o.reset === false ? null : reset,
      dio0: this.o.dio0 === false ? null : dio0,
      close: async () => {
        this.dio0Watchers.length = 0;
        this.disarm();
      },
    };
  }

  /** Stops the TxDone timer (end of a test). */
  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerFor = undefined;
  }

  /** Keeps one timer on the chip's next timed event (TxDone). */
  private arm(): void {
    const next = this.chip.nextEventUs();
    if (next === this.timerFor) return;
    this.disarm();
    if (next === undefined) return;
    this.timerFor = next;
    const inMs = (next - SPIN_BEFORE_US - this.o.clockUs()) / 1000;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerFor = undefined;
      const clock = this.o.clockUs;
      // spin to the exact end of the frame
      waitUntil(clock, next);
      this.chip.poll();
      this.arm();
    }, Math.max(0, Math.floor(inMs)));
  }
}
