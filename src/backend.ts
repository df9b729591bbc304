/**
 * The seam between the shared receive side (Upstream: fetch, CRC filter,
 * order of reception) and the protocols that carry uplinks to a network
 * server. Semtech UDP (ServerUplink) and the LoRa Basics Station LNS protocol
 * (lns/lns-backend.ts) implement it; several of either kind may run at once.
 * Downlinks come back through the shared TxScheduler (JIT queue, regulation),
 * which each backend calls with its own requests.
 */
import type { RxPacket } from '../hal/index.js';
import type { UplinkOutcome } from './packet-log.js';
import type { BufferedUplink } from './uplink-buffer.js';

/** One backend's uplink side, as Upstream drives it. */
export interface UplinkBackend {
  /** For logs, status and metrics (host:port, or the LNS URI). */
  readonly name: string;
  /** Starts its timers; returns the highest reception order number it already holds (a journal), 0 if none. */
  start(): number;
  /** Stops its timers; keeps what it holds. */
  stop(): void;
  /** Its server is not taking uplinks: they are being kept. */
  readonly outage: boolean;
  /** Uplinks kept for later. */
  readonly buffered: number;
  /** Messages sent and not yet acknowledged. */
  readonly pendingAcks: number;
  /**
   * One fetch: `rxpks` the Semtech rxpk JSON of each of `packets` (same
   * order), `stat` the pending stat object or null, `nowUs` the counter when
   * they were handed over. Returns each packet's outcome.
   */
  deliver(rxpks: BufferedUplink[], stat: string | null, packets: RxPacket[], nowUs: number): UplinkOutcome[];
}
