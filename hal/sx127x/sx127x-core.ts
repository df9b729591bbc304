/**
 * The receiving half of the SX127x single-channel driver: hardware links,
 * the gateway counter, reset and configuration, RxDone (DIO0 or polled) with
 * the tmst stamp, the health check, faults and re-initialisation. The
 * transmit half and the public Concentrator API are in sx127x-concentrator.ts.
 */
import { guard } from '../guard.js';
import { Reinitializer } from '../reinit.js';
import type { Logger } from 'pino';
import { timeOnAirUs } from '../lora/time-on-air.js';
import { waitUntil } from '../precise-wait.js';
import { SampleRing } from '../sample-ring.js';
import { counterDiffUs, u32, type RxPacket } from '../types.js';
import { paSettings } from './modem-config.js';
import { ARM_FSTX, Sx127xModem } from './modem.js';
import { ChipVersion, IrqFlag, Mode, OpModeBit, Reg } from './registers.js';
import { SX127X_TIMINGS, type Sx127xConcentratorOptions, type Sx127xCounters, type Sx127xHardware } from './sx127x-types.js';

/** The driver's state: 'preparing' to 'restoring' belong to a downlink. */
export type RadioState = 'off' | 'starting' | 'listening' | 'preparing' | 'armed' | 'emitting' | 'restoring' | 'down';

const T = SX127X_TIMINGS;

const defaultClock = () => performance.now() * 1000;
const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** SX1276/RFM95 receive side; {@link Sx127xConcentrator} adds the transmitter. */
export abstract class Sx127xRadioCore {
  readonly counters: Sx127xCounters = {
    rxFrames: 0, rxCrcBad: 0, rxNoCrc: 0, rxFifoOverflow: 0, rxSpurious: 0, txStarted: 0, txDone: 0, txLate: 0,
    txRefused: 0, txAborted: 0, faults: 0, reinits: 0, dio0Errors: 0, rxMissedEdge: 0, rxOverrun: 0, resetBeforeTx: 0, internalErrors: 0,
  };
  /** Signed TX start error (start − target), µs. */
  readonly txStartErrorUs = new SampleRing();
  /** TxDone → back in continuous RX, µs. */
  readonly rxRestoreUs = new SampleRing();
  /** Leaving RX → back in RX around each TX, µs. */
  readonly rxGapUs = new SampleRing();
  /** DIO0 callback − (TX start + time on air), µs. */
  readonly dio0LatencyUs = new SampleRing(64);

  protected readonly clock: () => number;
  protected readonly log: Logger;
  protected hw: Sx127xHardware | null = null;
  protected modem: Sx127xModem | null = null;
  protected state: RadioState = 'off';
  protected epochMono = 0;
  protected startCount = 0;
  protected readonly fifo: RxPacket[] = [];
  protected readonly callbacks: (() => void)[] = [];
  protected pollTimer: NodeJS.Timeout | null = null;
  protected healthTimer: NodeJS.Timeout | null = null;
  protected readonly reinit = new Reinitializer({
    minMs: T.reinitMinMs,
    maxMs: T.reinitMaxMs,
    attempt: () => this.initRadio(),
    wanted: () => this.state === 'down',
    onSuccess: () => {
      this.counters.reinits++;
      this.log.info({ after: this.lastFault }, 'SX127x radio re-initialised and listening');
    },
    onFailure: (err, retryInMs) => this.log.error({ err: err.message, retryInMs }, 'SX127x re-initialisation failed'),
  });
  protected lastPollMono: number | null = null;
  protected lastFault: string | null = null;
  protected rxBackMono = 0;
  /** Multi-step register sequences run one at a time (the modem only serialises single transfers). */
  protected ops: Promise<unknown> = Promise.resolve();
  protected opsPending = 0;

  constructor(protected readonly o: Sx127xConcentratorOptions) {
    this.clock = o.clockUs ?? defaultClock;
    this.log = o.log;
  }

  // ---- counter ----

  /** The gateway counter at a monotonic time (µs). */
  counterAt(monoUs: number): number {
    return u32(Math.floor(monoUs - this.epochMono) + this.startCount);
  }

  /** The monotonic time at which the counter reads `countUs`, taking the nearer side of the wrap. */
  monoAt(countUs: number): number {
    const now = this.clock();
    return now + counterDiffUs(countUs, this.counterAt(now));
  }

  // ---- Concentrator (the parts that do not involve TX) ----

  /** Opens the hardware, resets and configures the radio, and starts listening. */
  async start(): Promise<void> {
    if (this.state !== 'off') return;
    this.state = 'starting';
    this.epochMono = this.clock();
    this.startCount = u32(this.o.counterStartUs ?? Math.floor(Math.random() * 2 ** 32));
    try {
      this.hw = await this.o.open();
      this.modem = new Sx127xModem(this.hw.spi);
      await this.initRadio();
    } catch (err) {
      this.state = 'off';
      await this.hw?.close().catch(() => undefined);
      this.hw = null;
      this.modem = null;
      throw err;
    }
    this.hw.dio0?.watch(
      this.guarded('DIO0 edge', () => this.onDio0(this.clock())),
      (err) => {
        // The edge was seen but its value could not be read: the health check and the TxDone watchdog cover it.
        this.counters.dio0Errors++;
        this.log.warn({ err: err.message }, 'DIO0 edge read failed');
      },
    );
    if (!this.hw.dio0) {
      this.pollTimer = setInterval(this.guarded('IRQ poll timer', () => this.poll()), this.o.pollIntervalMs ?? T.pollIntervalMs);
    }
    this.healthTimer = setInterval(this.guarded('health check timer', () => this.healthCheck()), this.o.healthIntervalMs ?? T.healthIntervalMs);
    this.log.info(
      {
        freqHz: this.o.rx.freqHz, sf: this.o.rx.sf, bwHz: this.o.rx.bwHz, cr: this.o.rx.codeRate,
        syncWord: `0x${this.o.rx.syncWord.toString(16)}`, dio0: this.hw.dio0 ? 'interrupt' : `polled every ${this.o.pollIntervalMs ?? T.pollIntervalMs} ms`,
        counterStartUs: this.startCount,
      },
      'SX127x radio listening',
    );
  }

  async receive(max: number): Promise<RxPacket[]> {
    return this.fifo.splice(0, Math.max(0, max));
  }

  internalErrors(): number {
    return this.counters.internalErrors;
  }

  /** Counts one exception caught by a last-resort guard (also the emulator's virtual air's). */
  readonly countInternalError = (): void => {
    this.counters.internalErrors++;
  };

  /** `fn` under a last-resort guard: an exception is logged and counted, and the driver carries on. */
  protected guarded<A extends unknown[]>(name: string, fn: (...args: A) => unknown): (...args: A) => void {
    return guard(this.log, this.countInternalError, name, fn);
  }

  onReceive(callback: () => void): void {
    this.callbacks.push(callback);
  }

  async counterUs(): Promise<number> {
    if (this.state === 'off') throw Object.assign(new Error('radio not started'), { code: 'ENOTSTARTED' });
    return this.counterAt(this.clock());
  }

  async ppsCounterUs(): Promise<number | null> {
    return null;
  }

  // ---- for the transmit side ----

  /** Runs `fn` after every sequence queued before it. */
  protected exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    this.opsPending++;
    const run = this.ops.then(fn, fn).finally(() => this.opsPending--);
    this.ops = run.catch(() => undefined);
    return run;
  }

  /** Reset pulse, identity check, a warm-up of the TX path and the §12 receive configuration. */
  protected async initRadio(): Promise<void> {
    const reset = this.hw!.reset;
    if (reset) {
      // NRESET low 1 ms, then released (high impedance) and 6 ms to boot [sx127x.md §1, LMN SX1276Reset].
      reset.write(0);
      await sleepMs(1);
      reset.release();
      await sleepMs(6);
    }
    await this.exclusive(() => this.modem!.checkVersion());
    await this.exclusive(() => this.warmUp());
    await this.startListening();
  }

  /**
   * Runs the downlink code once without transmitting: load a frame, pre-arm
   * (FSTX: synthesiser only, no RF out), a 5 ms precise wait (blocking,
   * then spinning), a read and a write of the mode register. The first
   * downlink after start (usually a join-accept) then does not pay for
   * compiling and optimising this code. Measured with test/sx127x-join.test.ts
   * on the emulator: without it the first TX started 0.06-5 ms late (most
   * likely the spin loop being optimised on stack in the middle of the wait),
   * with it 45-75 µs; later ones 5-35 µs.
   */
  protected async warmUp(): Promise<void> {
    const ch = this.o.rx;
    await this.modem!.prepareTx({
      freqHz: ch.freqHz, sf: ch.sf, bwHz: ch.bwHz, codeRate: ch.codeRate, crcOn: false, invertIq: true, preambleSymbols: 8,
      implicitHeader: false, pa: paSettings(this.o.paOutput === 'RFO' ? 0 : 2, this.o.paOutput), payload: new Uint8Array(1),
    });
    timeOnAirUs({ radio: { modulation: 'LORA', spreadingFactor: ch.sf, bandwidthHz: ch.bwHz, codeRate: ch.codeRate }, payloadSize: 1, preambleSymbols: 8, noCrc: true, noHeader: false });
    waitUntil(this.clock, this.clock() + T.warmupSpinUs);
    this.modem!.readNow(Reg.OpMode);
    this.modem!.writeNow(ARM_FSTX); // the fire path's write, without TX
    await this.modem!.write(Reg.OpMode, OpModeBit.LongRangeMode | Mode.STDBY);
  }

  protected async startListening(): Promise<void> {
    await this.exclusive(() => this.modem!.startRx(this.o.rx));
    this.rxBackMono = this.clock();
    this.lastPollMono = this.rxBackMono;
    // A downlink may already be preparing (it was queued behind this restore): leave its state alone.
    if (this.state === 'starting' || this.state === 'restoring' || this.state === 'down') this.state = 'listening';
  }

  /**
   * The constant part of the DIO0 latency: the configured value, or with
   * 'auto' the smallest TxDone latency among the last 64 (the floor, which
   * RxDone shares; the jitter above it cannot be corrected, and using the
   * floor never moves a stamp before the real edge), at most 2 ms.
   */
  protected dio0Correction(): number {
    const c = this.o.dio0LatencyUs ?? 'auto';
    if (c !== 'auto') return c;
    return Math.min(T.dio0CorrectionMaxUs, Math.max(0, this.dio0LatencyUs.percentile(0) ?? 0));
  }

  protected onDio0(atMono: number): void {
    if (this.state === 'emitting') {
      void this.onTxDone(atMono, true);
      return;
    }
    if (this.state !== 'listening' && this.state !== 'armed' && this.state !== 'preparing') return;
    void this.readFrame(atMono - this.dio0Correction());
  }

  protected async poll(): Promise<void> {
    if (!this.modem || this.opsPending > 0) return;
    if (this.state === 'emitting') {
      try {
        if (await this.exclusive(() => this.modem!.txDone())) await this.onTxDone(this.clock(), false);
      } catch (err) {
        this.fault(`SPI error while polling TxDone: ${(err as Error).message}`);
      }
      return;
    }
    if (this.state !== 'listening') return;
    const at = this.clock();
    const prev = this.lastPollMono ?? at;
    this.lastPollMono = at;
    await this.readFrame((prev + at) / 2, true);
  }

  protected async readFrame(stampMono: number, polled = false): Promise<void> {
    let frame;
    try {
      frame = await this.exclusive(() => (this.state === 'listening' ? this.modem!.readFrame(this.o.rx.freqHz) : null));
    } catch (err) {
      this.fault(`SPI error while reading a frame: ${(err as Error).message}`);
      return;
    }
    if (!frame) {
      if (!polled) this.counters.rxSpurious++;
      return;
    }
    if (frame.lostBefore > 0) {
      this.counters.rxOverrun += frame.lostBefore;
      this.log.warn({ lost: frame.lostBefore }, 'frames overwritten in the radio FIFO before they could be read (overrun): lost');
    }
    this.counters.rxFrames++;
    if (frame.crcStatus === 'bad') this.counters.rxCrcBad++;
    if (frame.crcStatus === 'none') this.counters.rxNoCrc++;
    if (this.fifo.length >= (this.o.fifoCapacity ?? T.fifoCapacity)) {
      this.counters.rxFifoOverflow++;
      return;
    }
    const ch = this.o.rx;
    const pkt: RxPacket = {
      countUs: this.counterAt(stampMono),
      freqHz: ch.freqHz,
      ifChain: 0,
      rfChain: 0,
      crcStatus: frame.crcStatus,
      radio: { modulation: 'LORA', spreadingFactor: ch.sf, bandwidthHz: ch.bwHz, codeRate: frame.codeRate ?? ch.codeRate },
      rssiDbm: frame.rssiDbm,
      snrDb: frame.snrDb,
      payload: frame.payload,
    };
    this.fifo.push(pkt);
    for (const cb of this.callbacks) cb();
  }

  protected async healthCheck(): Promise<void> {
    // Also while a downlink is only scheduled (the radio still listening): a reset then is found before the
    // downlink is loaded into a radio that lost its configuration.
    if (this.state !== 'listening' || !this.modem || this.opsPending > 0) return;
    try {
      const version = await this.exclusive(() => this.modem!.read(Reg.Version));
      if (version !== ChipVersion.SX1276) {
        this.fault(`radio stopped answering (RegVersion reads 0x${version.toString(16).padStart(2, '0')})`);
        return;
      }
      const op = await this.exclusive(() => this.modem!.read(Reg.OpMode));
      if (this.state === 'listening' && op !== (OpModeBit.LongRangeMode | Mode.RXCONTINUOUS)) {
        const scheduled = this.hasJob;
        if (scheduled) this.counters.resetBeforeTx++;
        this.fault(`radio left continuous RX by itself (RegOpMode 0x${op.toString(16).padStart(2, '0')}): reset or brown-out${scheduled ? ', with a downlink scheduled (aborted)' : ''}`);
        return;
      }
      // A missed DIO0 edge leaves RxDone set, DIO0 high, and no edge ever again: the radio would be deaf.
      if (this.hw?.dio0 && this.state === 'listening' && this.opsPending === 0) {
        const flags = await this.exclusive(() => this.modem!.read(Reg.IrqFlags));
        if ((flags & IrqFlag.RxDone) !== 0 && this.opsPending === 0 && this.state === 'listening') {
          this.counters.rxMissedEdge++;
          this.log.warn('RxDone found by the health check (DIO0 edge missed): frame forwarded with a late tmst');
          await this.readFrame(this.clock());
        }
      }
    } catch (err) {
      this.fault(`SPI error during the health check: ${(err as Error).message}`);
    }
  }

  /** Marks the radio down and schedules a re-initialisation. */
  protected fault(reason: string): void {
    if (this.state === 'off' || this.state === 'down') return;
    this.counters.faults++;
    this.lastFault = reason;
    this.state = 'down';
    this.abortJob('radio fault');
    this.log.error({ reason, retryInMs: this.reinit.delayMs }, 'SX127x radio fault: re-initialising');
    this.reinit.schedule();
  }
  /** Whether a downlink is held (scheduled, preparing, on air or restoring). */
  protected abstract get hasJob(): boolean;
  /** TxDone seen at `atMono` (on DIO0, or by a poll). */
  protected abstract onTxDone(atMono: number, fromDio0: boolean): Promise<void>;
  /** Drops the held downlink, counted and logged. */
  protected abstract abortJob(why: string): void;
}
