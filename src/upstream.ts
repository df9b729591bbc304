import type { Logger } from 'pino';
import { guard, type Concentrator, type RxPacket } from '../hal/index.js';
import { PollBackoff } from '../hal/poll-backoff.js';
import { encodeRxpk, rxPacketToRxpk, type RxTime } from './protocol/index.js';
import type { Monitor } from './monitor/monitor.js';
import type { ForwarderStats } from './stats.js';
import type { UplinkBackend } from './backend.js';
import { PACKET_MSG, uplinkFields, type UplinkOutcome } from './packet-log.js';

/** Packets fetched from the concentrator per poll [PF4 NB_PKT_MAX]. */
export const NB_PKT_MAX = 8;
/** Longest wait between two polls (a quiet gateway), ms [PF4 FETCH_SLEEP_MS, stock]. */
export const FETCH_SLEEP_MS = 10;
/** Wait after a poll that found frames, ms (PF4 built with FETCH_SLEEP_MS 1; see PollBackoff). */
export const FETCH_FAST_MS = 1;
/** The backup poll of a radio that signals every frame (signalsReceive), ms: it only guards against a lost signal. */
export const FETCH_BACKUP_MS = 100;
export { PUSH_DATA_MAX_BYTES } from './server-uplink.js';

/** Which CRC statuses are forwarded (gateway_conf forward_crc_*). */
export interface CrcForwarding {
  valid: boolean;
  error: boolean;
  disabled: boolean;
}

/** Options of {@link Upstream}: the receive side, shared by every server. */
export interface UpstreamOptions {
  concentrator: Concentrator;
  /** One per enabled server with uplinks on; the first is the primary (its figures make the stat). */
  servers: UplinkBackend[];
  forward: CrcForwarding;
  stats: ForwarderStats;
  log: Logger;
  /** Keeps each uplink for the status API. */
  monitor?: Monitor;
  /** `time`/`tmms` of a reception from the GPS time reference (undefined without one). */
  rxTime?: (countUs: number) => RxTime | undefined;
}

/**
 * The upstream loop: fetches received frames, filters them by CRC status,
 * and hands each fetch (with the pending stat object) to every server's
 * backend ({@link UplinkBackend}: Semtech UDP's ServerUplink batches it into PUSH_DATA and matches the
 * acks. Acks are matched asynchronously: unlike the reference, which blocks
 * up to 2 × push_timeout/2 after every datagram, fetching never waits for a
 * server.
 */
export class Upstream {
  private readonly log: Logger;
  private pendingStat: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private draining = false;
  private again = false;
  private running = false;
  /** Order of reception of each uplink, so a buffer keeps it whatever comes back when. */
  private seq = 0;
  private readonly kickGuarded: () => void;
  private readonly pollGuarded: () => void;
  private readonly backoff: PollBackoff;
  /** Frames fetched by the drain under way (what sets the next poll's wait). */
  private fetchedInDrain = 0;
  /**
   * The radio says when frames are there (signalsReceive, or it has called
   * onReceive: the SX127x on DIO0, the SX1301 driver after its own poll of
   * the chip), so this loop's poll is only a backup and does not go fast.
   */
  private signalled = false;

  constructor(private readonly o: UpstreamOptions) {
    this.log = o.log;
    // A radio that signals every frame needs no fast polling: its signal fetches at once (issue 16: idle wake-ups).
    this.signalled = o.concentrator.signalsReceive === true;
    this.backoff = this.signalled ? new PollBackoff(FETCH_BACKUP_MS, FETCH_BACKUP_MS) : new PollBackoff(FETCH_FAST_MS, FETCH_SLEEP_MS);
    this.kickGuarded = guard(this.log, (n) => o.stats.recordInternalError(n), 'uplink fetch', () => this.kick());
    this.pollGuarded = guard(this.log, (n) => o.stats.recordInternalError(n), 'uplink poll timer', () => {
      this.timer = null;
      this.kick();
    });
    o.concentrator.onReceive(() => {
      this.signalled = true;
      this.kickGuarded();
    });
  }

  get servers(): readonly UplinkBackend[] {
    return this.o.servers;
  }

  /** Starts polling the concentrator (and each server's retry/flush timer). */
  start(): void {
    this.running = true;
    for (const s of this.o.servers) this.seq = Math.max(this.seq, s.start());
    this.schedulePoll(this.backoff.current);
  }

  /** The wait before the next poll now, ms (for tests and the status view). */
  get pollDelayMs(): number {
    return this.backoff.current;
  }

  private schedulePoll(ms: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(this.pollGuarded, ms);
  }

  /** Stops polling; a fetch under way completes; buffers are saved. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const s of this.o.servers) s.stop();
  }

  /** Some server is not acknowledging. */
  get outage(): boolean {
    return this.o.servers.some((s) => s.outage);
  }

  /** Uplinks waiting in the buffers. */
  get buffered(): number {
    return this.o.servers.reduce((n, s) => n + s.buffered, 0);
  }

  /** PUSH_DATA datagrams still waiting for their ack, all servers. */
  get pendingAcks(): number {
    return this.o.servers.reduce((n, s) => n + s.pendingAcks, 0);
  }

  /** Queues a stat object (JSON text); the next datagram carries it, alone if no frame comes. */
  queueStat(statJson: string): void {
    this.pendingStat = statJson;
    this.kick();
  }

  private kick(): void {
    if (!this.running) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    this.fetchedInDrain = 0;
    void this.drain()
      .catch((err: Error & { code?: string }) => {
        // A radio fault must not stop the loop: log it and try again at the next poll.
        this.log.error({ err: err.message, code: err.code }, 'receive from concentrator failed');
      })
      .finally(() => {
        this.draining = false;
        if (this.again) {
          this.again = false;
          setImmediate(this.kickGuarded);
        }
        // One poll timer, re-armed after every drain (whatever started it):
        // soon after frames, later and later while the radio stays quiet.
        this.schedulePoll(this.backoff.next(this.fetchedInDrain > 0 && !this.signalled));
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const packets = await this.o.concentrator.receive(NB_PKT_MAX);
      this.fetchedInDrain += packets.length;
      if (packets.length === 0 && this.pendingStat === null) return;
      await this.forward(packets);
      if (packets.length < NB_PKT_MAX) return;
    }
  }

  private filter(packets: RxPacket[]): RxPacket[] {
    const c = this.o.stats.counters;
    const out: RxPacket[] = [];
    for (const p of packets) {
      c.rxnb++;
      let ok: boolean;
      if (p.crcStatus === 'ok') {
        c.rxok++;
        ok = this.o.forward.valid;
      } else if (p.crcStatus === 'bad') {
        c.rxBad++;
        ok = this.o.forward.error;
      } else {
        c.rxNoCrc++;
        ok = this.o.forward.disabled;
      }
      if (ok) out.push(p);
      else {
        c.rxFiltered++;
        this.o.monitor?.uplink(p, 'filtered');
      }
    }
    return out;
  }

  private async forward(fetched: RxPacket[]): Promise<void> {
    const packets = this.filter(fetched);
    const stat = this.pendingStat;
    if (packets.length === 0 && stat === null) {
      if (fetched.length > 0 && this.log.isLevelEnabled('info')) this.logUplinks(fetched, packets, []);
      return;
    }
    // One packet whose values cannot be written (a radio driver reporting a non-finite RSSI) is dropped
    // alone: the others of the fetch still go out.
    const rxpks: { rxpk: string; seq: number }[] = [];
    const encoded: RxPacket[] = [];
    for (const p of packets) {
      try {
        rxpks.push({ rxpk: encodeRxpk(rxPacketToRxpk(p, this.o.rxTime?.(p.countUs))), seq: ++this.seq });
        encoded.push(p);
      } catch (err) {
        this.o.stats.counters.rxUnencodable++;
        this.log.warn({ tmst: p.countUs, err: (err as Error).message }, 'uplink dropped: the radio reported a value an rxpk cannot carry');
      }
    }
    if (encoded.length === 0 && stat === null) return;
    this.pendingStat = null;
    // Latency is read on the concentrator's own counter, the clock the receive stamp came from.
    const now = await this.o.concentrator.counterUs();
    const outcomes = this.o.servers.map((s) => s.deliver(rxpks, stat, encoded, now));
    if (fetched.length > 0 && this.log.isLevelEnabled('info')) this.logUplinks(fetched, encoded, outcomes);
  }

  /** One line per uplink, in order of reception, after they went out: what the radio heard and what each server's side did with it. */
  private logUplinks(fetched: RxPacket[], sent: RxPacket[], outcomes: UplinkOutcome[][]): void {
    let k = 0;
    for (const p of fetched) {
      if (sent[k] !== p) {
        this.log.info(uplinkFields(p, [{ server: '', outcome: 'filtered' }]), PACKET_MSG.uplink);
        continue;
      }
      const at = k++;
      this.log.info(uplinkFields(p, this.o.servers.map((s, i) => ({ server: s.name, outcome: outcomes[i]![at] ?? 'lost' }))), PACKET_MSG.uplink);
    }
  }

}
