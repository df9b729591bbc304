import type { BoardConfig, RxPacket, SendResult, TxPacket, TxStatus } from './types.js';

/**
 * The one interface every radio implementation satisfies: the simulated
 * concentrator, the SX127x single-channel driver and the SX1301 driver.
 *
 * Modelled on the few calls a packet forwarder needs from libloragw
 * (lgw_start/stop/receive/send/status/get_instcnt/get_trigcnt).
 */
export interface Concentrator {
  /** Configure and start the radio; rejects with a coded Error on I/O failure. */
  start(): Promise<void>;
  /** Stop the radio and release its resources. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Fetch up to `max` received frames (oldest first); resolves to [] when none.
   * Frames not returned stay queued for the next call.
   */
  receive(max: number): Promise<RxPacket[]>;
  /**
   * Register a callback run whenever frames become available, so the
   * forwarder can fetch without polling. Implementations without an interrupt
   * may never call it; the forwarder then polls.
   */
  onReceive(callback: () => void): void;
  /**
   * True when onReceive is called for every frame the radio takes (the sim,
   * the SX127x driver, the SX1301 driver after its own poll of the chip): the
   * forwarder's own poll is then only a slow backup.
   */
  readonly signalsReceive?: boolean;
  /**
   * Hand a frame to the radio. 'timestamped' frames are emitted exactly when
   * the counter reaches `countUs`; the caller hands them over ahead of time.
   */
  send(packet: TxPacket): Promise<SendResult>;
  /** Current state of the transmitter. */
  txStatus(): Promise<TxStatus>;
  /** Cancels a scheduled frame or stops one being emitted (SX1301: lgw_abort_tx); optional. */
  abortTx?(): Promise<void>;
  /** Current value of the free-running u32 µs counter. */
  counterUs(): Promise<number>;
  /** Counter value latched at the last PPS edge, or null if no PPS was seen. */
  ppsCounterUs(): Promise<number | null>;
  /**
   * Optional: `callback` runs when a frame starts on the air, with the counter
   * value it was due at (null when immediate) and the one it started at, as
   * far as the driver can tell (the SX1301 emits in hardware and has no hook).
   */
  onTxStart?(callback: (e: { targetUs: number | null; startUs: number }) => void): void;
  /**
   * Optional: loads a new channel plan (radio centre frequencies, IF
   * channels; the TX ranges and gain table stay the board's). The SX1301 is
   * restarted for it, which restarts its counter; the simulator keeps its.
   */
  reconfigure?(board: BoardConfig): Promise<void>;
  /**
   * Optional: `callback` runs when the counter may have restarted (the
   * SX1301 re-initialised after a fault, or restarted for a new plan):
   * counter values read before mean nothing now: queued frames' targets, the
   * GPS time reference's pairs, an LNS xtime session. Radios whose counter
   * survives a re-initialisation (the SX127x's is the host clock, the sim's
   * runs on) never call it.
   */
  onCounterRestart?(callback: () => void): void;
  /** Optional driver figures (timing, faults) included in the forwarder's stats report. */
  radioStats?(): Record<string, unknown>;
  /** Exceptions its last-resort guards caught (socket, timer, worker callbacks) since start; each was logged. */
  internalErrors?(): number;
}
