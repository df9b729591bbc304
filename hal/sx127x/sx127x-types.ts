/**
 * Shapes and tunables of the SX127x concentrator driver: its hardware links,
 * options, counters, and the one table of its timings (house rule 9).
 */
import type { Logger } from 'pino';
import type { EdgeLine, OutputLine } from '../gpio/lines.js';
import type { PaOutput } from './modem-config.js';
import type { RxChannel } from './modem.js';
import type { SpiTransport } from './spi-transport.js';

/** The driver's timings and sizes, with their units; options may override the first five. */
export const SX127X_TIMINGS = Object.freeze({
  /** RegIrqFlags poll period when no DIO0 pin is wired, ms (stamp error at most half of it). */
  pollIntervalMs: 1,
  /** Health check period (RegVersion, RegOpMode, a stuck RxDone), ms. */
  healthIntervalMs: 1000,
  /** Leave RX, load the frame and pre-arm (FSTX) this long before the target, µs. */
  prepareLeadUs: 10_000,
  /** Wake from the event-loop timer this long before the target, µs (then blocking wait and spin). */
  spinLeadUs: 3000,
  /** Receive queue depth, frames (newer frames are dropped and counted when full). */
  fifoCapacity: 256,
  /** The throw-away register read that warms the SPI path happens this long before the target, µs. */
  warmupBeforeUs: 1000,
  /** A start later than this after the target is counted and logged as late, µs. */
  txLateUs: 1000,
  /** Re-initialisation back-off after a fault: first and longest delay, ms. */
  reinitMinMs: 100,
  reinitMaxMs: 10_000,
  /** Spin length of the start-up warm-up of the TX path, µs (long enough for the spin loop to be optimised). */
  warmupSpinUs: 5000,
  /** The TxDone watchdog polls every this many ms after the expected end, this many times, then declares a fault. */
  txDoneCheckMs: 20,
  txDoneChecks: 10,
  /** Ceiling of the 'auto' DIO0 latency correction, µs. */
  dio0CorrectionMaxUs: 2000,
});

/** The radio's hardware links, opened by {@link Sx127xConcentratorOptions.open} at start. */
export interface Sx127xHardware {
  spi: SpiTransport;
  /** NRESET line, or null when not wired. */
  reset: OutputLine | null;
  /** DIO0 line, or null to poll RegIrqFlags. */
  dio0: EdgeLine | null;
  /** Releases the SPI device and the GPIO lines. */
  close(): Promise<void>;
}

/** Options of {@link Sx127xConcentrator}. */
export interface Sx127xConcentratorOptions {
  /** Opens the hardware (called by start(); its errors are start()'s errors). */
  open: () => Promise<Sx127xHardware>;
  /** The receive channel. */
  rx: RxChannel;
  paOutput: PaOutput;
  /** Highest conducted power allowed, dBm (integer). */
  txPowerMaxDbm: number;
  txFreqMinHz: number;
  txFreqMaxHz: number;
  log: Logger;
  /** Monotonic clock, µs. Default `performance.now() × 1000`. */
  clockUs?: () => number;
  /** Counter value at start; null/undefined = random. */
  counterStartUs?: number | null;
  /**
   * Constant subtracted from the DIO0 callback time to stamp a frame, µs, or
   * 'auto' (default): the smallest of the recent measured TxDone latencies
   * (callback time − (TX start + time on air)), which travel the same GPIO
   * path as RxDone. Before the first TX, 'auto' subtracts nothing.
   */
  dio0LatencyUs?: number | 'auto';
  /** Overrides of {@link SX127X_TIMINGS} (tests shorten the health check). */
  pollIntervalMs?: number;
  healthIntervalMs?: number;
  prepareLeadUs?: number;
  spinLeadUs?: number;
  fifoCapacity?: number;
}

/** Counters of the driver since start. */
export interface Sx127xCounters {
  rxFrames: number;
  rxCrcBad: number;
  rxNoCrc: number;
  rxFifoOverflow: number;
  /** DIO0 edges (or polls) that found no RxDone. */
  rxSpurious: number;
  txStarted: number;
  txDone: number;
  /** TX started more than 1 ms after its target (the timer woke too late). */
  txLate: number;
  txRefused: number;
  /** Frames lost because a fault interrupted them. */
  txAborted: number;
  faults: number;
  reinits: number;
  /** DIO0 edges whose value read failed (onoff). */
  dio0Errors: number;
  /** Frames found by the health check because their DIO0 edge was missed (tmst late). */
  rxMissedEdge: number;
  /** Valid frames overwritten in the radio's FIFO by a later one before they could be read (lost). */
  rxOverrun: number;
  /** Resets or brown-outs of the radio found while a downlink was scheduled (the downlink is aborted, the radio re-initialised). */
  resetBeforeTx: number;
  /** Exceptions caught by the guards of the driver's timer, DIO0 and virtual-air callbacks (each logged). */
  internalErrors: number;
}
