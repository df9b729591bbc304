import type dgram from 'node:dgram';
import { WarnLimiter } from '../log-limit.js';
import { randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Concentrator } from '../concentrator.js';
import { guard } from '../guard.js';
import { frameAirtimeUs } from '../lora/time-on-air.js';
import type { BoardConfig, RxPacket, SendResult, TxPacket, TxStatus } from '../types.js';
import { decodeAirMessage, encodeAirMessage } from './air-protocol.js';
import { AirListeners, bindAirSocket } from './air-socket.js';
import { matchChannel } from './channel-plan.js';
import { SimClock } from './sim-clock.js';
import type { TxWorkerReport, TxWorkerRequest } from './tx-worker.js';

export { MAX_LISTENERS } from './air-socket.js';

/** Options of {@link SimConcentrator}. */
export interface SimConcentratorOptions {
  /** Channel plan, radios, TX ranges and gain table (SX1301_conf). */
  board: BoardConfig;
  airAddress: string;
  /** UDP port of the virtual air; 0 picks a free one (see airPortBound). */
  airPort: number;
  /** Counter value at start; null/undefined = random. */
  counterStartUs?: number | null;
  log: Logger;
  /** Receive FIFO depth, frames; the oldest are kept, newer ones dropped when full. */
  fifoCapacity?: number;
}

/** Counters of the sim, cumulative since start. */
export interface SimCounters {
  airDatagrams: number;
  airMalformed: number;
  /** Uplinks not on an enabled channel of the plan: not heard, as on real hardware. */
  notOnPlan: number;
  received: number;
  fifoOverflow: number;
  emitted: number;
  /** `{"op":"pps"}` datagrams latched. */
  ppsEdges: number;
  txRefused: number;
  /** Exceptions caught by the guards of the air socket, TX thread and receive-signal callbacks (each logged). */
  internalErrors: number;
}

interface Scheduled {
  id: number;
  targetUs: number | null;
  startUs: number;
  airtimeUs: number;
}

/**
 * A simulated concentrator: a free-running u32 µs counter, reception of JSON
 * "uplinks" from a UDP socket (the virtual air) filtered by the channel plan,
 * and emission of downlinks at the exact counter value they were programmed
 * for, reported to every listener of the virtual air.
 *
 * Like the SX1301 it has one TX buffer: a frame handed over while another is
 * scheduled or on air is refused (BUSY).
 */
export class SimConcentrator implements Concentrator {
  /** Every burst from the virtual air calls onReceive. */
  readonly signalsReceive = true;
  readonly counters: SimCounters = {
    airDatagrams: 0, airMalformed: 0, notOnPlan: 0, received: 0, fifoOverflow: 0, emitted: 0, txRefused: 0, ppsEdges: 0, internalErrors: 0,
  };
  private clock: SimClock | null = null;
  private sock: dgram.Socket | null = null;
  private worker: Worker | null = null;
  private stopFlag: Int32Array | null = null;
  private readonly fifo: RxPacket[] = [];
  private fifoHead = 0;
  private readonly listeners = new AirListeners();
  private readonly txStartCallbacks: ((e: { targetUs: number | null; startUs: number }) => void)[] = [];
  private readonly callbacks: (() => void)[] = [];
  private signalPending = false;
  private tx: Scheduled | null = null;
  private ppsLatch: number | null = null;
  private nextId = 1;
  private txDead = false;
  /** Last time a FIFO-overflow warning was logged, ms (one per second at most). */
  private lastOverflowLogMs = -Infinity;
  private readonly log: Logger;
  /** Warnings any sender on the air port can cause, rate-limited per message. */
  private readonly warnLimit: WarnLimiter;
  private readonly countFault = () => {
    this.counters.internalErrors++;
  };
  /** Tells the onReceive callbacks of a burst of frames (the upstream loop fetches then). */
  private readonly signal: () => void;

  constructor(private readonly o: SimConcentratorOptions) {
    this.log = o.log;
    this.warnLimit = new WarnLimiter(this.log);
    this.signal = guard(this.log, this.countFault, 'receive signal', () => {
      this.signalPending = false;
      for (const cb of this.callbacks) cb();
    });
  }

  internalErrors(): number {
    return this.counters.internalErrors;
  }

  /** The bound UDP port of the virtual air (after start). */
  get airPortBound(): number {
    if (!this.sock) throw Object.assign(new Error('sim not started'), { code: 'ENOTSTARTED' });
    return (this.sock.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    if (this.clock) return;
    const sock = await bindAirSocket(this.o.airAddress, this.o.airPort, this.log, (m, r) => this.onAir(m, r), this.countFault);
    try {
      sock.setRecvBufferSize(4 << 20);
    } catch {
      // capped by net.core.rmem_max; a smaller buffer still works at demo rates
    }
    const startUs = this.o.counterStartUs ?? randomInt(0, 2 ** 32);
    const originNs = process.hrtime.bigint();
    this.clock = new SimClock(startUs >>> 0, originNs);
    const shared = new SharedArrayBuffer(4);
    this.stopFlag = new Int32Array(shared);
    this.worker = new Worker(new URL('./tx-worker.js', import.meta.url), {
      workerData: { originNs, startUs: startUs >>> 0, stopFlag: shared },
    });
    this.worker.on('message', guard(this.log, this.countFault, 'TX thread report', (r: TxWorkerReport) => this.onEmitted(r)));
    this.worker.on('error', (err) => this.log.error({ err: err.message }, 'sim TX thread failed'));
    this.worker.on('exit', (code) => {
      if (this.clock) {
        this.txDead = true;
        this.log.error({ exitCode: code }, 'sim TX thread exited: the concentrator can no longer transmit');
      }
    });
    this.worker.unref();
    this.sock = sock;
    this.log.info({ air: `${this.o.airAddress}:${this.airPortBound}`, counterStartUs: startUs >>> 0 }, 'simulated concentrator started');
  }

  /** Loads a new channel plan; the counter runs on (the simulated chip is not restarted). */
  async reconfigure(board: BoardConfig): Promise<void> {
    this.o.board = board;
    this.o.log.info({ channels: board.multiSfChannels.filter((c) => c.enable).length + (board.loraStdChannel.enable ? 1 : 0) }, 'simulated concentrator: channel plan replaced');
  }

  async stop(): Promise<void> {
    if (!this.clock) return;
    this.clock = null;
    if (this.stopFlag) {
      Atomics.store(this.stopFlag, 0, 1);
      Atomics.notify(this.stopFlag, 0);
    }
    await this.worker?.terminate();
    this.worker = null;
    this.sock?.close();
    this.sock = null;
    this.tx = null;
  }

  async receive(max: number): Promise<RxPacket[]> {
    const n = Math.min(max, this.fifo.length - this.fifoHead);
    const out = this.fifo.slice(this.fifoHead, this.fifoHead + n);
    this.fifoHead += n;
    // Compact now and then rather than shift() per frame.
    if (this.fifoHead > 1024 && this.fifoHead * 2 > this.fifo.length) {
      this.fifo.splice(0, this.fifoHead);
      this.fifoHead = 0;
    }
    return out;
  }

  onReceive(callback: () => void): void {
    this.callbacks.push(callback);
  }

  async send(p: TxPacket): Promise<SendResult> {
    const refuse = (error: 'TX_FREQ' | 'TX_POWER' | 'BUSY' | 'NOT_STARTED' | 'INVALID', detail: string): SendResult => {
      this.counters.txRefused++;
      return { ok: false, error, detail };
    };
    if (!this.clock) return refuse('NOT_STARTED', 'concentrator not started');
    if (this.txDead) throw Object.assign(new Error('sim TX thread is gone'), { code: 'ESIMTX' });
    const radio = this.o.board.radios[p.rfChain];
    if (!radio || !radio.enable || !radio.txEnable) return refuse('TX_FREQ', `RF chain ${p.rfChain} cannot transmit`);
    if (p.freqHz < radio.txFreqMinHz || p.freqHz > radio.txFreqMaxHz) {
      return refuse('TX_FREQ', `${p.freqHz} Hz outside [${radio.txFreqMinHz}, ${radio.txFreqMaxHz}]`);
    }
    if (!this.o.board.txLut.some((e) => e.rfPowerDbm === p.powerDbm)) return refuse('TX_POWER', `${p.powerDbm} dBm not in the TX gain table`);
    if (p.mode === 'on-pps') return refuse('INVALID', 'the simulated concentrator has no PPS');
    if (p.payload.length > 255) return refuse('INVALID', `payload of ${p.payload.length} bytes`);
    const status = this.statusNow();
    if (status === 'scheduled' || status === 'emitting') return refuse('BUSY', `transmitter ${status}`);
    const now = this.clock.nowUs();
    const targetUs = p.mode === 'timestamped' ? p.countUs >>> 0 : null;
    // A target behind the counter would only be reached after a full wrap (71.6 min) on the
    // real chip; refusing it makes the caller's lateness visible instead of emitting late.
    if (targetUs !== null && ((targetUs - now) | 0) < 0) {
      return refuse('INVALID', `target ${targetUs} is ${(now - targetUs) | 0} µs behind the counter`);
    }
    // Parameters no radio can transmit (bad SF/BW, preamble): the chip would refuse them too.
    const air = frameAirtimeUs(p);
    if (!air.ok) return refuse('INVALID', air.reason);
    const airtimeUs = air.us;
    const id = this.nextId++;
    this.tx = { id, targetUs, startUs: targetUs ?? now, airtimeUs };
    const req: TxWorkerRequest = {
      type: 'emit', id, targetUs,
      downlink: {
        op: 'downlink', freqHz: p.freqHz, radio: p.radio, powerDbm: p.powerDbm, invertPolarity: p.invertPolarity,
        preambleSymbols: p.preambleSymbols, noCrc: p.noCrc, payload: Buffer.from(p.payload),
        ...(p.noHeader ? { noHeader: true } : {}),
        ...(p.fdevHz !== undefined ? { fdevHz: p.fdevHz } : {}),
        ...(p.immediate === true || p.mode === 'immediate' ? { imme: true } : {}),
      },
    };
    this.worker!.postMessage(req);
    return { ok: true };
  }

  /** Test control: kills the TX thread, as a radio whose transmitter died. */
  async killTxThreadForTest(): Promise<void> {
    await this.worker?.terminate();
  }

  async txStatus(): Promise<TxStatus> {
    return this.statusNow();
  }

  async counterUs(): Promise<number> {
    if (!this.clock) throw Object.assign(new Error('concentrator not started'), { code: 'ENOTSTARTED' });
    return this.clock.nowUs();
  }

  /** The PPS latch of the last `{"op":"pps"}` of the virtual air (its whole counter second), or null before any. */
  async ppsCounterUs(): Promise<number | null> {
    return this.clock ? this.ppsLatch : null;
  }

  private statusNow(): TxStatus {
    if (!this.clock) return 'off';
    if (!this.tx) return 'free';
    const since = (this.clock.nowUs() - this.tx.startUs) | 0;
    if (since < 0) return 'scheduled';
    if (since < this.tx.airtimeUs) return 'emitting';
    return 'free';
  }

  onTxStart(callback: (e: { targetUs: number | null; startUs: number }) => void): void {
    this.txStartCallbacks.push(callback);
  }

  private onEmitted(r: TxWorkerReport): void {
    if (r.type === 'started') {
      if (!r.priorityRaised) this.log.info('sim TX thread runs at normal priority (no CAP_SYS_NICE): emission timing is less precise on a busy host');
      return;
    }
    this.counters.emitted++;
    const targetUs = this.tx && this.tx.id === r.id ? this.tx.targetUs : null;
    for (const cb of this.txStartCallbacks) cb({ targetUs, startUs: r.countUs });
    // Sent from the air socket to whoever listens now (a late subscriber hears it too).
    this.listeners.sendAll(this.sock, r.text);
    this.log.debug({ countUs: r.countUs, id: r.id }, 'emission started');
  }

  private onAir(m: Buffer, from: dgram.RemoteInfo): void {
    this.counters.airDatagrams++;
    // The end of reception is the arrival: stamp before anything else.
    const countUs = this.clock?.nowUs();
    if (countUs === undefined) return;
    const d = decodeAirMessage(m);
    if (!d.ok) {
      this.counters.airMalformed++;
      this.warnLimit.warn({ from: `${from.address}:${from.port}`, reason: d.reason }, 'malformed virtual-air datagram ignored');
      return;
    }
    const msg = d.msg;
    if (msg.op === 'listen') {
      this.listeners.add(from);
      this.sock?.send(encodeAirMessage({ op: 'listening', countUs: this.clock!.nowUs() }), from.port, from.address);
      return;
    }
    if (msg.op === 'pps') {
      // The edge a GPS-disciplined PPS would have marked: the counter's last whole second (a datagram's own
      // timing jitters by milliseconds, a PPS by nanoseconds). Send it within a second after the boundary.
      this.ppsLatch = Math.floor(countUs / 1_000_000) * 1_000_000;
      this.counters.ppsEdges++;
      return;
    }
    if (msg.op !== 'uplink') {
      this.counters.airMalformed++;
      this.warnLimit.warn({ op: msg.op }, 'virtual-air message not meant for the concentrator ignored');
      return;
    }
    const ch = matchChannel(this.o.board, msg.freqHz, msg.radio);
    if (!ch) {
      this.counters.notOnPlan++;
      this.log.debug({ freqHz: msg.freqHz, radio: msg.radio }, 'uplink not on the channel plan: not received');
      return;
    }
    const cap = this.o.fifoCapacity ?? 4096;
    if (this.fifo.length - this.fifoHead >= cap) {
      this.counters.fifoOverflow++;
      const nowMs = performance.now();
      if (nowMs - this.lastOverflowLogMs >= 1000) {
        this.lastOverflowLogMs = nowMs;
        this.log.warn({ capacity: cap, countUs, droppedSinceStart: this.counters.fifoOverflow }, 'receive FIFO full: uplink dropped');
      }
      return;
    }
    const pkt: RxPacket = {
      countUs, freqHz: ch.freqHz, ifChain: ch.ifChain, rfChain: ch.rfChain, crcStatus: msg.crc,
      radio: msg.radio, rssiDbm: msg.rssiDbm, payload: msg.payload,
    };
    if (msg.snrDb !== undefined) pkt.snrDb = msg.snrDb;
    this.fifo.push(pkt);
    this.counters.received++;
    if (!this.signalPending) {
      this.signalPending = true;
      // One signal per burst: frames arriving in the same turn are fetched together.
      setImmediate(this.signal);
    }
  }
}
