import type { Logger } from 'pino';
import type { Concentrator, RxPacket } from '../hal/index.js';
import { u32 } from '../hal/index.js';
import { decodePacket, encodePacket, encodeRxpk, planPushDataBodies, rxPacketToRxpk, type RxTime } from './protocol/index.js';
import type { ServerLink } from './net/server-link.js';
import { TokenSource } from './net/tokens.js';
import type { Monitor } from './monitor/monitor.js';
import type { ForwarderStats } from './stats.js';

/** Packets fetched from the concentrator per poll [PF4 NB_PKT_MAX]. */
export const NB_PKT_MAX = 8;
/** Idle poll period when the concentrator gives no receive signal, ms [PF4 FETCH_SLEEP_MS]. */
export const FETCH_SLEEP_MS = 10;
/** Largest PUSH_DATA datagram, bytes [PF4 TX_BUFF_SIZE = 540·8 + 30 + 200]. */
export const PUSH_DATA_MAX_BYTES = 4550;

/** Which CRC statuses are forwarded (gateway_conf forward_crc_*). */
export interface CrcForwarding {
  valid: boolean;
  error: boolean;
  disabled: boolean;
}

/** Options of {@link Upstream}. */
export interface UpstreamOptions {
  concentrator: Concentrator;
  link: ServerLink;
  gatewayEui: Buffer;
  forward: CrcForwarding;
  /** How long a PUSH_DATA waits for its PUSH_ACK before it counts as unacknowledged, ms. */
  pushTimeoutMs: number;
  stats: ForwarderStats;
  log: Logger;
  tokens?: TokenSource;
  /** Keeps each uplink for the status API. */
  monitor?: Monitor;
  /** `time`/`tmms` of a reception from the GPS time reference (undefined without one). */
  rxTime?: (countUs: number) => RxTime | undefined;
}

/**
 * The upstream loop: fetches received frames, filters them by CRC status,
 * batches each fetch into PUSH_DATA (split when larger than one datagram),
 * attaches the pending stat object, and matches PUSH_ACKs by token.
 *
 * Acks are matched asynchronously: unlike the reference, which blocks up to
 * 2 × push_timeout/2 after every datagram, fetching never waits for the server.
 */
export class Upstream {
  private readonly tokens: TokenSource;
  private readonly log: Logger;
  /** token → time sent (ms, monotonic). */
  private readonly pending = new Map<number, number>();
  private pendingStat: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private draining = false;
  private again = false;
  private running = false;

  constructor(private readonly o: UpstreamOptions) {
    this.tokens = o.tokens ?? new TokenSource();
    this.log = o.log;
    o.link.on('up-datagram', (buf: Buffer) => this.onDatagram(buf));
    o.concentrator.onReceive(() => this.kick());
  }

  /** Starts polling the concentrator. */
  start(): void {
    this.running = true;
    this.timer = setInterval(() => this.kick(), FETCH_SLEEP_MS);
  }

  /** Stops polling; a fetch under way completes. */
  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Queues a stat object (JSON text); the next datagram carries it, alone if no frame comes. */
  queueStat(statJson: string): void {
    this.pendingStat = statJson;
    this.kick();
  }

  /** Number of PUSH_DATA datagrams still waiting for their ack. */
  get pendingAcks(): number {
    return this.pending.size;
  }

  private kick(): void {
    if (!this.running) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    void this.drain()
      .catch((err: Error & { code?: string }) => {
        // A radio fault must not stop the loop: log it and try again at the next poll.
        this.log.error({ err: err.message, code: err.code }, 'receive from concentrator failed');
      })
      .finally(() => {
        this.draining = false;
        if (this.again) {
          this.again = false;
          setImmediate(() => this.kick());
        }
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const packets = await this.o.concentrator.receive(NB_PKT_MAX);
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
        this.log.debug({ tmst: p.countUs, crc: p.crcStatus }, 'uplink not forwarded (forward_crc rule)');
      }
    }
    return out;
  }

  private async forward(fetched: RxPacket[]): Promise<void> {
    const packets = this.filter(fetched);
    const stat = this.pendingStat;
    if (packets.length === 0 && stat === null) return;
    const rxpks = packets.map((p) => encodeRxpk(rxPacketToRxpk(p, this.o.rxTime?.(p.countUs))));
    const bodies = planPushDataBodies(rxpks, stat, PUSH_DATA_MAX_BYTES - 12);
    this.pendingStat = null;
    const c = this.o.stats.counters;
    // Latency is read on the concentrator's own counter, the clock the receive stamp came from.
    const now = await this.o.concentrator.counterUs();
    this.expireAcks();
    let sentPackets = 0;
    let at = 0;
    const monitor = this.o.monitor;
    for (const { body, rxpkCount, hasStat } of bodies) {
      const token = this.freshToken();
      const dgram = encodePacket({ type: 'PUSH_DATA', token, gatewayEui: this.o.gatewayEui, body: Buffer.from(body) });
      const these = packets.slice(at, at + rxpkCount);
      at += rxpkCount;
      if (!this.o.link.sendUp(dgram)) {
        c.rxLost += rxpkCount;
        for (const p of these) monitor?.uplink(p, 'lost');
        this.log.warn({ packets: rxpkCount, stat: hasStat }, 'PUSH_DATA dropped: server address not resolved');
        continue;
      }
      for (const p of these) monitor?.uplink(p, 'forwarded');
      this.pending.set(token, performance.now());
      c.pushDataSent++;
      c.pushDataBytes += dgram.length;
      sentPackets += rxpkCount;
      if (hasStat) c.statSent++;
    }
    if (sentPackets > 0) {
      c.rxfw += sentPackets;
      for (const p of packets) {
        c.rxPayloadBytes += p.payload.length;
        this.o.stats.recordUplinkLatency(u32(now - p.countUs));
        monitor?.uplinkLatencyUs(u32(now - p.countUs));
      }
      this.log.debug({ packets: sentPackets, datagrams: bodies.length }, 'PUSH_DATA sent');
    }
  }

  private freshToken(): number {
    let t = this.tokens.next();
    while (this.pending.has(t)) t = this.tokens.next();
    return t;
  }

  private expireAcks(): void {
    const limit = performance.now() - this.o.pushTimeoutMs;
    for (const [token, at] of this.pending) {
      if (at >= limit) break; // Map keeps insertion order, so the rest are younger.
      this.pending.delete(token);
    }
  }

  private onDatagram(buf: Buffer): void {
    const r = decodePacket(buf);
    const c = this.o.stats.counters;
    if (!r.ok || r.packet.type !== 'PUSH_ACK') {
      c.upGarbage++;
      this.log.warn({ reason: r.ok ? `unexpected ${r.packet.type}` : r.reason, bytes: buf.length }, 'upstream datagram ignored');
      return;
    }
    this.expireAcks();
    const sent = this.pending.get(r.packet.token);
    if (sent === undefined) {
      c.pushAckIgnored++;
      this.log.debug({ token: r.packet.token }, 'PUSH_ACK with unknown or expired token ignored');
      return;
    }
    this.pending.delete(r.packet.token);
    c.pushAckReceived++;
    const rttMs = performance.now() - sent;
    this.o.monitor?.pushAck(rttMs);
    this.log.debug({ token: r.packet.token, rttMs: +rttMs.toFixed(2) }, 'PUSH_ACK received');
  }
}
