/**
 * The SX127x single-channel gateway as a {@link Concentrator}: one SX1276
 * listening continuously on one frequency and data rate, a microsecond counter
 * kept by the host, and downlinks started at their counter value.
 *
 * Time. The SX127x has no timestamp counter, so the gateway's u32 µs counter
 * is the host's monotonic clock (`clockUs`) offset to a start value.
 * - Receive: RxDone raises DIO0 at the end of the frame. `tmst` is the clock
 *   read in the DIO0 callback, minus the DIO0 latency (what is constant
 *   between the edge and the callback; see {@link Sx127xConcentratorOptions.dio0LatencyUs}).
 *   Without a DIO0 pin, RegIrqFlags is polled every `pollIntervalMs` and the
 *   frame is stamped at the midpoint between the read that saw RxDone and the
 *   one before it: unbiased, with an error of at most half the poll interval.
 * - Transmit: the JIT queue hands a frame over about 30 ms ahead. The driver
 *   leaves RX `prepareLeadUs` before the target, loads the frame and pre-arms
 *   the synthesiser (FSTX, sx127x.md §13), wakes `spinLeadUs` before the
 *   target, waits for the SPI queue to drain, blocks on `Atomics.wait` to
 *   1.6 ms before, warms the SPI path with one register read 1 ms before,
 *   spins (hal/precise-wait.ts) and writes RegOpMode = TX synchronously at
 *   the target (sx127x.md "Node.js timing notes"). It never fires early.
 * - On TxDone (DIO0 mapped to TxDone, or polled) the full §12 receive
 *   configuration is written again. The time from TxDone to RX and the whole
 *   receive gap (leaving RX → back in RX) are measured and counted.
 *
 * Faults. An SPI error, a version register that no longer reads 0x12, a radio
 * found outside continuous RX while it should be listening (it reset itself),
 * or a TxDone that never comes: logged, counted, and the radio is reset and
 * re-initialised with back-off (0.1 s doubling to 10 s). The process goes on.
 */
import type { Concentrator } from '../concentrator.js';
import { frameAirtimeUs } from '../lora/time-on-air.js';
import { spinUntil, waitUntil } from '../precise-wait.js';
import { counterDiffUs, u32, type SendResult, type TxPacket, type TxStatus } from '../types.js';
import { paSettings } from './modem-config.js';
import { Mode, OpModeBit, Reg } from './registers.js';
import { Sx127xRadioCore, type RadioState } from './sx127x-core.js';
import { SX127X_TIMINGS } from './sx127x-types.js';

export { SX127X_TIMINGS, type Sx127xConcentratorOptions, type Sx127xCounters, type Sx127xHardware } from './sx127x-types.js';

interface TxJob {
  packet: TxPacket;
  /** Target on the monotonic clock, µs. */
  targetMono: number;
  /** Target counter value, or null for an immediate frame. */
  targetCount: number | null;
  airtimeUs: number;
  firedMono?: number;
  rxLeftMono?: number;
  /** When the preparation finished and when the timer woke, for the late-start diagnosis. */
  preparedMono?: number;
  wokeMono?: number;
  /** When the spin ended (the queue and the blocking wait are behind). */
  spinFromMono?: number;
  timer?: NodeJS.Timeout;
}

const T = SX127X_TIMINGS;
const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** SX1276/RFM95 single-channel gateway radio. */
export class Sx127xConcentrator extends Sx127xRadioCore implements Concentrator {
  /** DIO0 (or the driver's own IRQ poll) calls onReceive for every frame. */
  readonly signalsReceive = true;
  private job: TxJob | null = null;
  private freeWaiters: Array<() => void> = [];
  private readonly txStartCallbacks: ((e: { targetUs: number | null; startUs: number }) => void)[] = [];

  onTxStart(callback: (e: { targetUs: number | null; startUs: number }) => void): void {
    this.txStartCallbacks.push(callback);
  }

  /** Target counter value of the frame being transmitted (null: immediate or none). For the emulated air. */
  get currentTxTarget(): number | null {
    return this.job?.targetCount ?? null;
  }

  // ---- Concentrator ----

  async stop(): Promise<void> {
    if (this.state === 'off') return;
    // Let an emission in progress finish (at most its time on air plus a margin).
    const job = this.job;
    if (job?.firedMono !== undefined && this.state === 'emitting') {
      const leftMs = (job.firedMono + job.airtimeUs - this.clock()) / 1000 + 5;
      if (leftMs > 0) await sleepMs(Math.min(leftMs, 5000));
    }
    this.state = 'off';
    for (const t of [this.pollTimer, this.healthTimer]) if (t) clearInterval(t);
    this.pollTimer = this.healthTimer = null;
    this.reinit.cancel();
    if (this.job?.timer) clearTimeout(this.job.timer);
    this.releaseJob();
    try {
      const modem = this.modem;
      if (modem) await this.exclusive(() => modem.write(Reg.OpMode, OpModeBit.LongRangeMode | Mode.STDBY));
    } catch {
      // the radio may be gone; closing matters more
    }
    await this.hw?.close().catch(() => undefined);
    this.hw = null;
    this.modem = null;
    this.log.info('SX127x radio stopped');
  }

  async send(p: TxPacket): Promise<SendResult> {
    const refuse = (error: 'TX_FREQ' | 'TX_POWER' | 'BUSY' | 'NOT_STARTED' | 'INVALID', detail: string): SendResult => {
      this.counters.txRefused++;
      return { ok: false, error, detail };
    };
    if (this.state === 'off' || this.state === 'starting') return refuse('NOT_STARTED', 'radio not started');
    if (this.state === 'down') return refuse('NOT_STARTED', `radio is being re-initialised after a fault (${this.lastFault ?? '?'})`);
    if (p.radio.modulation !== 'LORA') return refuse('INVALID', 'the SX127x driver transmits LoRa only');
    if (p.mode === 'on-pps') return refuse('INVALID', 'no PPS on the SX127x radio');
    if (p.freqHz < this.o.txFreqMinHz || p.freqHz > this.o.txFreqMaxHz) {
      return refuse('TX_FREQ', `${p.freqHz} Hz outside [${this.o.txFreqMinHz}, ${this.o.txFreqMaxHz}]`);
    }
    const minPower = this.o.paOutput === 'RFO' ? 0 : 2;
    if (!Number.isInteger(p.powerDbm) || p.powerDbm < minPower || p.powerDbm > this.o.txPowerMaxDbm) {
      return refuse('TX_POWER', `${p.powerDbm} dBm: the ${this.o.paOutput} output takes whole dBm from ${minPower} to ${this.o.txPowerMaxDbm}`);
    }
    if (p.payload.length < 1 || p.payload.length > 255) return refuse('INVALID', `payload of ${p.payload.length} bytes`);
    if (this.job) {
      // The JIT queue hands a frame over 30 ms ahead, which can be while the previous one is still on
      // air or the radio is returning to RX. A frame that starts after that one ends waits for it.
      const cur = this.job;
      const curEnd = cur.firedMono !== undefined ? cur.firedMono + cur.airtimeUs : null;
      const target = p.mode === 'timestamped' ? this.monoAt(u32(p.countUs)) : this.clock();
      const deadline = target - (this.o.prepareLeadUs ?? T.prepareLeadUs);
      if (curEnd === null || target < curEnd + 1000 || !(await this.whenFree(deadline))) {
        return refuse('BUSY', `transmitter ${this.statusNow()}`);
      }
      const st = this.state as RadioState; // it may have changed while waiting
      if (st === 'off' || st === 'down') return refuse('NOT_STARTED', 'radio stopped or failed while waiting');
    }
    const air = frameAirtimeUs(p);
    if (!air.ok) return refuse('INVALID', air.reason);
    const airtimeUs = air.us;
    const now = this.clock();
    let targetMono = now;
    let targetCount: number | null = null;
    if (p.mode === 'timestamped') {
      targetCount = u32(p.countUs);
      const ahead = counterDiffUs(targetCount, this.counterAt(now));
      // Behind the counter: only reachable after a full wrap; refusing makes the lateness visible.
      if (ahead < 0) return refuse('INVALID', `target ${targetCount} is ${-ahead} µs behind the counter`);
      targetMono = now + ahead;
    }
    const job: TxJob = { packet: p, targetMono, targetCount, airtimeUs };
    this.job = job;
    const prepareIn = (targetMono - (this.o.prepareLeadUs ?? T.prepareLeadUs) - now) / 1000;
    job.timer = setTimeout(this.guarded('TX timer', () => this.runTx(job)), Math.max(0, Math.floor(prepareIn)));
    return { ok: true };
  }

  async txStatus(): Promise<TxStatus> {
    return this.statusNow();
  }

  /** The driver's figures for the forwarder's stats report. */
  radioStats(): Record<string, unknown> {
    return {
      type: 'sx127x',
      state: this.state,
      ...this.counters,
      txStartErrorUs: this.txStartErrorUs.summary(),
      rxRestoreUs: this.rxRestoreUs.summary(),
      rxGapUs: this.rxGapUs.summary(),
      dio0LatencyUs: this.hw?.dio0 || this.dio0LatencyUs.total > 0 ? this.dio0LatencyUs.summary() : 'polled',
      dio0CorrectionUs: Math.round(this.dio0Correction()),
      lastFault: this.lastFault,
    };
  }


  /** Resolves true once no TX job is held, or false if that has not happened by `deadlineMono`. */
  private whenFree(deadlineMono: number): Promise<boolean> {
    if (!this.job) return Promise.resolve(true);
    const waitMs = (deadlineMono - this.clock()) / 1000;
    if (waitMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.freeWaiters = this.freeWaiters.filter((w) => w !== done);
        resolve(false);
      }, Math.ceil(waitMs));
      this.freeWaiters.push(done);
    });
  }

  /** Drops the current TX job and wakes whoever waits for the transmitter. */
  private releaseJob(): void {
    this.job = null;
    const waiters = this.freeWaiters;
    this.freeWaiters = [];
    for (const w of waiters) w();
  }

  private statusNow(): TxStatus {
    if (this.state === 'off' || this.state === 'starting') return 'off';
    if (this.state === 'emitting') return 'emitting';
    return this.job ? 'scheduled' : 'free';
  }

  /** Prepare, wait, fire: one downlink. */
  private async runTx(job: TxJob): Promise<void> {
    job.timer = undefined;
    if (this.job !== job || this.state === 'off') return;
    if (this.state === 'down') {
      this.abortJob('radio down');
      return;
    }
    // A restore from the previous TX may still be queued: prepareTx runs after it (serialised SPI).
    const p = job.packet;
    const radio = p.radio.modulation === 'LORA' ? p.radio : null;
    if (!radio) return this.abortJob('not LoRa');
    this.state = 'preparing';
    try {
      await this.exclusive(() => {
        job.rxLeftMono = this.clock();
        return this.modem!.prepareTx({
        freqHz: p.freqHz, sf: radio.spreadingFactor, bwHz: radio.bandwidthHz, codeRate: radio.codeRate, crcOn: !p.noCrc,
        invertIq: p.invertPolarity, preambleSymbols: p.preambleSymbols, implicitHeader: p.noHeader,
          pa: paSettings(p.powerDbm, this.o.paOutput), payload: p.payload,
        });
      });
    } catch (err) {
      this.fault(`SPI error while loading a downlink: ${(err as Error).message}`);
      return;
    }
    if (this.job !== job || this.state !== 'preparing') return;
    this.state = 'armed';
    job.preparedMono = this.clock();
    const wakeInMs = (job.targetMono - (this.o.spinLeadUs ?? T.spinLeadUs) - this.clock()) / 1000;
    if (wakeInMs > 0) {
      await new Promise<void>((r) => {
        job.timer = setTimeout(r, Math.floor(wakeInMs));
      });
      job.timer = undefined;
    }
    job.wokeMono = this.clock();
    if (this.job !== job || this.state !== 'armed') return;
    try {
      // Queued sequences (a frame read, a restore) finish first; then nothing else runs until the mode write.
      await this.exclusive(() => {
        if (this.job === job && this.state === 'armed') this.fire(job);
      });
    } catch (err) {
      this.fault(`SPI error while starting a downlink: ${(err as Error).message}`);
      return;
    }
    this.armTxWatchdog(job);
  }

  /** The time-critical part: no await from here to the mode write. */
  private fire(job: TxJob): void {
    const clock = this.clock;
    job.spinFromMono = clock();
    waitUntil(clock, job.targetMono - T.warmupBeforeUs);
    this.modem!.readNow(Reg.OpMode); // warms the SPI path
    const at = spinUntil(clock, job.targetMono);
    this.modem!.fireTxNow();
    // The write landed between `at` and now: count the TX start error conservatively, from after the write.
    const after = clock();
    this.state = 'emitting';
    job.firedMono = at;
    this.counters.txStarted++;
    const err = after - job.targetMono;
    this.txStartErrorUs.add(err);
    if (err > T.txLateUs) {
      this.counters.txLate++;
      // Where the time went: µs before the target at each step (negative = after it).
      const ahead = (t: number | undefined) => (t === undefined ? null : Math.round(job.targetMono - t));
      this.log.warn(
        { lateUs: Math.round(err), targetUs: job.targetCount, preparedAheadUs: ahead(job.preparedMono), wokeAheadUs: ahead(job.wokeMono), fireEnteredAheadUs: ahead(job.spinFromMono), spinEndedAheadUs: ahead(at) },
        'downlink started late',
      );
    }
    if (this.txStartCallbacks.length > 0) {
      const e = { targetUs: job.targetCount, startUs: u32(this.counterAt(after)) };
      setImmediate(this.guarded('TX start callbacks', () => {
        for (const cb of this.txStartCallbacks) cb(e);
      }));
    }
  }

  /** Polls TxDone after the time on air in case an edge is missed; declares a fault if it never comes. */
  private armTxWatchdog(job: TxJob): void {
    const check = async (attempt: number): Promise<void> => {
      if (this.job !== job || this.state !== 'emitting') return;
      try {
        if (await this.exclusive(() => this.modem!.txDone())) {
          await this.onTxDone(this.clock(), false);
          return;
        }
      } catch (err) {
        this.fault(`SPI error while waiting for TxDone: ${(err as Error).message}`);
        return;
      }
      if (attempt >= T.txDoneChecks) {
        this.fault(`TxDone never came (${Math.round(job.airtimeUs / 1000)} ms frame, waited ${Math.round((this.clock() - job.firedMono!) / 1000)} ms)`);
        return;
      }
      job.timer = setTimeout(this.guarded('TxDone check timer', () => check(attempt + 1)), T.txDoneCheckMs);
    };
    // With DIO0 the edge normally comes first; the check is a safety net 20 ms after the expected end.
    const inMs = (job.firedMono! + job.airtimeUs - this.clock()) / 1000 + (this.hw?.dio0 ? T.txDoneCheckMs : 0);
    job.timer = setTimeout(this.guarded('TxDone check timer', () => check(0)), Math.max(0, Math.ceil(inMs)));
  }

  protected async onTxDone(atMono: number, fromDio0: boolean): Promise<void> {
    const job = this.job;
    if (!job || this.state !== 'emitting' || job.firedMono === undefined) return;
    if (job.timer) clearTimeout(job.timer);
    this.state = 'restoring';
    this.counters.txDone++;
    const expectedEnd = job.firedMono + job.airtimeUs;
    if (fromDio0) this.dio0LatencyUs.add(atMono - expectedEnd);
    try {
      await this.startListening();
    } catch (err) {
      this.releaseJob();
      this.fault(`SPI error while returning to RX: ${(err as Error).message}`);
      return;
    }
    // From the chip's TxDone (TX start + time on air) to RX.
    this.rxRestoreUs.add(this.rxBackMono - expectedEnd);
    this.rxGapUs.add(this.rxBackMono - (job.rxLeftMono ?? job.firedMono));
    if (this.job === job) this.releaseJob();
  }

  protected abortJob(why: string): void {
    const job = this.job;
    if (!job) return;
    if (job.timer) clearTimeout(job.timer);
    this.releaseJob();
    this.counters.txAborted++;
    this.log.warn({ targetUs: job.targetCount, why }, 'downlink aborted');
  }

  protected get hasJob(): boolean {
    return this.job !== null;
  }
}
