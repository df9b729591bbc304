/**
 * The SX1301 concentrator as a {@link Concentrator}: start-up, a receive
 * poll (the SX1301 has no interrupt line; libloragw's users poll too),
 * timestamped / immediate / PPS transmission by the chip itself, status and
 * counters. Register work is in registers.ts, start.ts, receive.ts, send.ts.
 */
import type { Logger } from 'pino';
import { guard } from '../guard.js';
import { PollBackoff } from '../poll-backoff.js';
import { Reinitializer } from '../reinit.js';
import type { Concentrator } from '../concentrator.js';
import type { OutputLine } from '../gpio/lines.js';
import type { SpiTransport } from '../sx127x/spi-transport.js';
import type { BoardConfig, RxPacket, SendResult, TxPacket, TxStatus } from '../types.js';
import { receiveSx1301, RX_FIFO_DEPTH } from './receive.js';
import { Sx1301Registers } from './registers.js';
import { abortSx1301, readTimestamp, sendSx1301, stopSx1301, txStatusSx1301 } from './send.js';
import { startSx1301, type Sx1301Firmware, type Sx1301StartResult } from './start.js';

/** The links, opened at start. */
export interface Sx1301Hardware {
  spi: SpiTransport;
  /** The board's reset line (active high on RAK831/RAK2245/iC880A), or null. */
  reset: OutputLine | null;
  close(): Promise<void>;
}

/** Options of {@link Sx1301Concentrator}. */
export interface Sx1301ConcentratorOptions {
  board: BoardConfig;
  open: () => Promise<Sx1301Hardware>;
  /** Loads the three firmware images (throws with how to import them). */
  firmware: () => Sx1301Firmware;
  log: Logger;
  /** Longest wait between two receive polls (a quiet chip), ms (default 10); 1 ms after a poll that found frames (see PollBackoff). */
  pollIntervalMs?: number;
  /** Millisecond waits of start-up (default real timers). */
  sleep?: (ms: number) => Promise<void>;
  /** Health check period, ms (default 1000). */
  healthIntervalMs?: number;
  /** A frame "emitting" longer than this is a stuck transmitter, ms (default 15 000: beyond the longest LoRa frame). */
  txStuckMs?: number;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The chip's counter is read (GPS_EN toggled) at most this often; the host clock fills in between. */
export const COUNTER_RESYNC_MS = 1000;

/** SX1301 + SX1257/SX1255 concentrator board. */
export class Sx1301Concentrator implements Concentrator {
  /** The driver polls the chip itself and calls onReceive for what it found. */
  readonly signalsReceive = true;
  /** internalErrors: exceptions caught by the guards of the poll and health timers (each logged). */
  readonly counters = { polls: 0, received: 0, fifoOverflow: 0, pollErrors: 0, sent: 0, refused: 0, aborted: 0, faults: 0, reinits: 0, internalErrors: 0 };
  private readonly countFault = (): void => {
    this.counters.internalErrors++;
  };
  /** running, or recovering from a fault (re-initialising with back-off). */
  state: 'off' | 'running' | 'recovering' = 'off';
  private healthTimer: NodeJS.Timeout | null = null;
  private readonly reinit = new Reinitializer({
    minMs: 100,
    maxMs: 10_000,
    attempt: () => this.startChip(),
    wanted: () => this.state === 'recovering',
    onSuccess: () => {
      this.counters.reinits++;
      this.o.log.warn({ reinits: this.counters.reinits }, 'SX1301 re-initialised after a fault');
    },
    onFailure: (err, retryInMs) => this.o.log.error({ err: err.message, retryInMs }, 'SX1301 re-initialisation failed'),
  });
  /** When the transmitter was first seen emitting, and the frame's longest possible air time. */
  private emittingSince: number | null = null;
  private hw: Sx1301Hardware | null = null;
  private regs: Sx1301Registers | null = null;
  private cal: Sx1301StartResult | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoff = new PollBackoff(1, 10);
  private readonly pollTick: () => void;
  private readonly fifo: RxPacket[] = [];
  private readonly callbacks: (() => void)[] = [];
  private readonly restartCallbacks: (() => void)[] = [];
  /** The chip was started once already: a later start restarts its counter. */
  private startedOnce = false;
  /** Last chip counter read and when (performance.now ms). */
  private sync: { count: number; atMs: number } | null = null;

  constructor(private readonly o: Sx1301ConcentratorOptions) {
    this.pollTick = guard(o.log, this.countFault, 'receive poll timer', () => {
      this.timer = null;
      let found = 0;
      try {
        found = this.poll();
      } finally {
        this.armPoll(this.backoff.next(found > 0));
      }
    });
  }

  async start(): Promise<void> {
    if (this.regs || this.state === 'recovering') return;
    await this.startChip();
  }

  /** Opens the links, resets and starts the chip, starts polling. */
  private async startChip(): Promise<void> {
    const sleep = this.o.sleep ?? realSleep;
    const fw = this.o.firmware();
    const hw = await this.o.open();
    try {
      if (hw.reset) {
        // Active-high pulse, 100 ms each way [sx127x.md §14: ttn-zh start.sh, Semtech reset_lgw.sh].
        hw.reset.write(1);
        await sleep(100);
        hw.reset.write(0);
        await sleep(100);
      }
      const regs = new Sx1301Registers(hw.spi);
      this.cal = await startSx1301(regs, this.o.board, fw, sleep);
      this.regs = regs;
      this.hw = hw;
    } catch (err) {
      await hw.close().catch(() => undefined);
      throw err;
    }
    if (this.cal.calibrationWarnings.length) this.o.log.warn({ warnings: this.cal.calibrationWarnings, status: this.cal.calibrationStatus }, 'SX1301 calibration warnings');
    const idleMs = this.o.pollIntervalMs ?? 10;
    this.backoff = new PollBackoff(Math.min(1, idleMs), idleMs);
    this.state = 'running';
    this.armPoll(idleMs);
    this.healthTimer = setInterval(guard(this.o.log, this.countFault, 'health check timer', () => this.healthCheck()), this.o.healthIntervalMs ?? 1000);
    this.o.log.info({ calibrationStatus: `0x${this.cal.calibrationStatus.toString(16)}` }, 'SX1301 concentrator started');
    // A reset chip counts from its reset: everything timed on the old counter must hear of it.
    if (this.startedOnce) {
      for (const cb of this.restartCallbacks) {
        try {
          cb();
        } catch (err) {
          this.countFault();
          this.o.log.error({ err: (err as Error).message }, 'counter restart handler failed');
        }
      }
    }
    this.startedOnce = true;
  }

  onCounterRestart(callback: () => void): void {
    this.restartCallbacks.push(callback);
  }

  /**
   * Every second: VERSION must still read 103 (a chip that stopped
   * answering reads 0x00 or 0xFF), the counter must not have gone back
   * (a chip that reset itself restarts it from 0), and a frame may not stay
   * "emitting" longer than the longest LoRa frame (about 12 s at SF12/125 kHz,
   * 255 bytes). Any of these: the fault is logged and counted and the
   * concentrator is re-initialised with back-off (0.1 s doubling to 10 s).
   */
  private healthCheck(): void {
    const regs = this.regs;
    if (!regs || this.state !== 'running') return;
    let why: string | null = null;
    try {
      const v = regs.read('VERSION');
      if (v !== 103) why = `VERSION reads ${v} (chip not answering)`;
      else if (!this.sync) {
        regs.write('GPS_EN', 0);
        this.sync = { count: readTimestamp(regs), atMs: performance.now() };
        regs.write('GPS_EN', 1);
      } else {
        const expected = (this.sync.count + Math.floor((performance.now() - this.sync.atMs) * 1000)) >>> 0;
        regs.write('GPS_EN', 0);
        const now = readTimestamp(regs);
        regs.write('GPS_EN', 1);
        // Re-read each second anyway: this is also the counter resync.
        this.sync = { count: now, atMs: performance.now() };
        const behind = (expected - now) | 0;
        if (behind > 1_000_000) why = `counter went back by ${behind} µs (the chip reset itself)`;
      }
      if (!why) {
        const st = txStatusSx1301(regs);
        if (st === 'emitting') {
          this.emittingSince ??= performance.now();
          const limit = this.o.txStuckMs ?? 15_000;
          if (performance.now() - this.emittingSince > limit) why = `a frame has been emitting for more than ${limit / 1000} s (TX never completes)`;
        } else this.emittingSince = null;
      }
    } catch (err) {
      why = `SPI error: ${(err as Error).message}`;
    }
    if (why) this.fault(why);
  }

  private fault(why: string): void {
    this.counters.faults++;
    this.state = 'recovering';
    this.o.log.error({ reason: why, retryInMs: this.reinit.delayMs }, 'SX1301 fault: re-initialising');
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.healthTimer = null;
    const hw = this.hw;
    this.regs = null;
    this.hw = null;
    this.sync = null;
    this.emittingSince = null;
    void hw?.close().catch(() => undefined);
    this.reinit.schedule();
  }

  /**
   * Loads a new channel plan: the chip is stopped and started again with it
   * (lgw_stop/lgw_start, as Basics Station does for a router_config), so its
   * counter restarts from 0.
   */
  async reconfigure(board: BoardConfig): Promise<void> {
    this.o.board = board;
    if (!this.regs) return;
    await this.stop();
    try {
      await this.start();
    } catch (err) {
      // Not left off: re-initialised with back-off like after a fault (with the new plan).
      this.counters.faults++;
      this.state = 'recovering';
      this.o.log.error({ err: (err as Error).message, retryInMs: this.reinit.delayMs }, 'SX1301 could not be restarted with the new plan: re-initialising');
      this.reinit.schedule();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.reinit.cancel();
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.healthTimer = null;
    if (this.state === 'recovering') this.state = 'off';
    if (!this.regs) return;
    this.state = 'off';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Let a frame on the air finish (up to 1.5 s, so that a service stop stays within 2 s); a scheduled one is dropped.
    const deadline = performance.now() + 1500;
    try {
      while (txStatusSx1301(this.regs) === 'emitting' && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    } catch {
      // the chip may be gone
    }
    try {
      stopSx1301(this.regs);
    } catch {
      // the chip may be gone; closing matters more
    }
    this.regs = null;
    this.sync = null;
    await this.hw?.close().catch(() => undefined);
    this.hw = null;
    this.o.log.info('SX1301 concentrator stopped');
  }

  async receive(max: number): Promise<RxPacket[]> {
    return this.fifo.splice(0, Math.max(0, max));
  }

  onReceive(callback: () => void): void {
    this.callbacks.push(callback);
  }

  async send(p: TxPacket): Promise<SendResult> {
    const refuse = (error: 'TX_FREQ' | 'TX_POWER' | 'BUSY' | 'NOT_STARTED' | 'INVALID', detail: string): SendResult => {
      this.counters.refused++;
      return { ok: false, error, detail };
    };
    if (!this.regs || !this.cal) return refuse('NOT_STARTED', 'concentrator not started');
    const radio = this.o.board.radios[p.rfChain];
    if (radio && (p.freqHz < radio.txFreqMinHz || p.freqHz > radio.txFreqMaxHz)) {
      return refuse('TX_FREQ', `${p.freqHz} Hz outside [${radio.txFreqMinHz}, ${radio.txFreqMaxHz}]`);
    }
    if (!this.o.board.txLut.some((e) => e.rfPowerDbm === p.powerDbm)) return refuse('TX_POWER', `${p.powerDbm} dBm not in the TX gain table`);
    const status = txStatusSx1301(this.regs);
    if (status !== 'free') return refuse('BUSY', `transmitter ${status}`);
    const r = sendSx1301(this.regs, this.o.board, this.cal, p);
    if (r) return refuse(r.error, r.detail);
    this.counters.sent++;
    return { ok: true };
  }

  /** Cancels whatever the transmitter holds: TX_TRIG_ALL = 0, as libloragw's lgw_abort_tx. */
  async abortTx(): Promise<void> {
    if (!this.regs) return;
    abortSx1301(this.regs);
    this.counters.aborted++;
  }

  async txStatus(): Promise<TxStatus> {
    return this.regs ? txStatusSx1301(this.regs) : 'off';
  }

  /**
   * The live counter. Reading it means clearing GPS_EN, reading TIMESTAMP
   * and setting GPS_EN again (as PF4's time sync does), and a PPS edge in
   * that window would not be latched. So the chip is read at most once per
   * {@link COUNTER_RESYNC_MS} and the host's monotonic clock carries the value
   * in between (a 20 ppm crystal drifts 20 µs in that time).
   */
  async counterUs(): Promise<number> {
    if (!this.regs) throw Object.assign(new Error('concentrator not started'), { code: 'ENOTSTARTED' });
    const nowMs = performance.now();
    if (this.sync === null || nowMs - this.sync.atMs >= COUNTER_RESYNC_MS) {
      this.regs.write('GPS_EN', 0);
      const count = readTimestamp(this.regs);
      this.regs.write('GPS_EN', 1);
      this.sync = { count, atMs: performance.now() };
      return count;
    }
    return (this.sync.count + Math.floor((nowMs - this.sync.atMs) * 1000)) >>> 0;
  }

  /** The counter latched at the last PPS edge; null while none was seen (the latch reads 0). */
  async ppsCounterUs(): Promise<number | null> {
    if (!this.regs) return null;
    const v = readTimestamp(this.regs);
    return v === 0 ? null : v;
  }

  internalErrors(): number {
    return this.counters.internalErrors;
  }

  radioStats(): Record<string, unknown> {
    return { type: 'sx1301', state: this.state === 'running' ? 'listening' : this.state === 'recovering' ? 'down' : 'off', ...this.counters, calibrationStatus: this.cal?.calibrationStatus ?? null };
  }

  /** The next receive poll in `ms` (one timer; none once stopped or while recovering). */
  private armPoll(ms: number): void {
    if (this.state !== 'running' || !this.regs) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(this.pollTick, ms);
  }

  /** The wait before the next receive poll, ms. */
  get pollDelayMs(): number {
    return this.backoff.current;
  }

  /** Reads the chip's receive FIFO; returns how many frames it held. */
  private poll(): number {
    if (!this.regs) return 0;
    this.counters.polls++;
    let got;
    try {
      got = receiveSx1301(this.regs, this.o.board, RX_FIFO_DEPTH);
    } catch (err) {
      this.counters.pollErrors++;
      this.o.log.error({ err: (err as Error).message }, 'SX1301 receive poll failed');
      return 0;
    }
    if (got.length === 0) return 0;
    for (const p of got) {
      if (this.fifo.length >= 4096) {
        this.counters.fifoOverflow++;
        continue;
      }
      this.fifo.push(p);
      this.counters.received++;
    }
    for (const cb of this.callbacks) cb();
    return got.length;
  }
}
