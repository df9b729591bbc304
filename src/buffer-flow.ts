/**
 * How a server's store-and-forward buffer is offered to it (server-uplink.ts
 * sends; this decides how much, and what a missing ack means):
 *
 * Window. While the server answers, up to `window` buffer datagrams are in
 * flight: 1 at first, one more per acknowledgement up to FLUSH_WINDOW (one
 * per round trip could not keep up with live traffic behind a slow server:
 * 18 uplinks per 20 ms is 900/s). Any datagram resent or left unacknowledged
 * closes it to 1 until a full-size datagram gets through again, so only a
 * datagram lost with others in flight behind it can arrive after them.
 *
 * Poison isolation (issue 18). A buffered datagram the server never
 * acknowledges (it cannot decode it, say) must not hold the queue forever.
 * Each unacknowledged offer of the buffer's head halves the next one, down to
 * the head alone. The head alone unacknowledged makes it a suspect; it is
 * dropped only when the server is seen answering on both sides of a second
 * unacknowledged offer: a PUSH_ACK for another datagram (the stat report,
 * which goes every stat_interval even while uplinks wait) sent after the
 * first failure, then the suspect offered alone again and unacknowledged,
 * then another such PUSH_ACK. Nothing extra is sent and the delivery order
 * never changes; a server that is simply down acknowledges nothing, so
 * nothing is dropped (after 3 minutes without that evidence the suspicion is
 * forgotten and offers start again at full size).
 */
import type { BufferedUplink } from './uplink-buffer.js';

/** Buffer datagrams in flight at once while the server answers. */
export const FLUSH_WINDOW = 8;

/** How long a suspect waits for evidence that the server answers before the suspicion is dropped, ms. */
const SUSPECT_MAX_WAIT_MS = 180_000;

/** What the flow needs to know of a datagram it let go. */
export interface FlowDatagram {
  rxpks: readonly BufferedUplink[];
  /** performance.now() when it was (last) sent. */
  sentAt: number;
  /** Cut short by the isolation (a part of the head, or the suspect alone). */
  narrowed?: boolean;
}

export class BufferFlow {
  private window = 1;
  /** A buffer datagram failed and no full-size one has been acknowledged since: the window stays at 1. */
  private recovering = false;
  /** Most uplinks the next offer of the head may carry. */
  private limit = Number.MAX_SAFE_INTEGER;
  /** The head's seq once an offer of it alone went unacknowledged. */
  private suspect: number | null = null;
  /**
   * wait-1: the suspect failed alone at `sinceMs`; waiting for a PUSH_ACK of another datagram sent after it.
   * retry: that came; the suspect's next failure (at `sinceMs` then) leads to wait-2. wait-2: the next such
   * PUSH_ACK drops it. The suspect is offered alone all along.
   */
  private stage: 'wait-1' | 'retry' | 'wait-2' = 'wait-1';
  private sinceMs = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** How many buffer datagrams may be in flight now. */
  capacity(outage: boolean): number {
    const narrowed = outage || this.recovering || this.suspect !== null || this.limit !== Number.MAX_SAFE_INTEGER;
    return narrowed ? 1 : this.window;
  }

  /** The part of the next offer (the oldest uplinks not in flight) that may go, and whether it was cut. */
  shape(rxpks: BufferedUplink[]): { rxpks: BufferedUplink[]; narrowed: boolean } {
    // The head changed (delivered, expired), or no evidence came: nothing to isolate. Otherwise the
    // suspect keeps being offered alone at the usual pace: acknowledged, it was the server, not the uplink.
    if (this.suspect !== null && (rxpks[0]?.seq !== this.suspect || this.now() - this.sinceMs > SUSPECT_MAX_WAIT_MS)) this.reset();
    const narrowed = this.suspect !== null || this.limit !== Number.MAX_SAFE_INTEGER;
    let out = rxpks.length > this.limit ? rxpks.slice(0, this.limit) : rxpks;
    if (this.suspect !== null) out = out.slice(0, 1);
    return { rxpks: out, narrowed };
  }

  /** A buffer datagram went unanswered once and is resent: no more than one in flight until a full one gets through. */
  resent(): void {
    this.window = 1;
    this.recovering = true;
  }

  /** A buffer datagram was given up: close the window and narrow the offers down. */
  unacked(p: FlowDatagram): void {
    this.window = 1;
    this.recovering = true;
    const alone = p.rxpks.length === 1 ? p.rxpks[0]!.seq : null;
    if (this.suspect !== null && alone === this.suspect) {
      // Only an offer sent after the evidence counts as the second failure.
      if (this.stage === 'retry' && p.sentAt >= this.sinceMs) [this.stage, this.sinceMs] = ['wait-2', this.now()];
    } else if (p.rxpks.length > 1) {
      this.limit = Math.ceil(p.rxpks.length / 2);
    } else if (alone !== null) {
      [this.suspect, this.stage, this.sinceMs] = [alone, 'wait-1', this.now()];
    }
  }

  /**
   * A PUSH_ACK for `p` (a buffer datagram or not): grows the window, and is evidence that the server
   * answers. Returns the seq of an uplink to drop as poison, or null.
   */
  acked(p: FlowDatagram, fromBuffer: boolean): number | null {
    let poison: number | null = null;
    if (this.suspect !== null) {
      if (p.rxpks.some((r) => r.seq === this.suspect)) this.reset(); // the suspect itself: it was the server
      else if (p.sentAt >= this.sinceMs) {
        if (this.stage === 'wait-1') [this.stage, this.sinceMs] = ['retry', this.now()];
        else if (this.stage === 'wait-2') {
          poison = this.suspect;
          this.reset();
        }
      }
    }
    if (!fromBuffer) return poison;
    if (this.suspect === null) this.limit = Number.MAX_SAFE_INTEGER;
    if (!p.narrowed) {
      // A full-size datagram got through: the path is clean again, the window may grow.
      this.recovering = false;
      this.window = Math.min(FLUSH_WINDOW, this.window + 1);
    } else if (!this.recovering) {
      this.window = Math.min(FLUSH_WINDOW, this.window + 1);
    }
    return poison;
  }

  private reset(): void {
    [this.limit, this.suspect, this.stage, this.sinceMs] = [Number.MAX_SAFE_INTEGER, null, 'wait-1', 0];
  }
}
