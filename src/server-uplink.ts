/**
 * One server's uplink side (used by Upstream): PUSH_DATA batching, PUSH_ACK
 * matching, resends, and store and forward while the server does not
 * acknowledge.
 */
import type { Logger } from 'pino';
import { WarnLimiter } from '../hal/log-limit.js';
import type { RxPacket } from '../hal/index.js';
import { guard, u32 } from '../hal/index.js';
import type { Monitor } from './monitor/monitor.js';
import type { ServerLink } from './net/server-link.js';
import { TokenSource } from './net/tokens.js';
import { decodePacket, encodePacket, planPushDataBodies } from './protocol/index.js';
import type { ForwarderStats } from './stats.js';
import type { BufferedUplink, UplinkBuffer } from './uplink-buffer.js';
import { BufferFile, type BufferFileStatus } from './buffer-file.js';
import { BufferFlow } from './buffer-flow.js';

export { FLUSH_WINDOW } from './buffer-flow.js';
import type { UplinkOutcome } from './packet-log.js';
import type { UplinkBackend } from './backend.js';

/** Largest PUSH_DATA datagram, bytes [PF4 TX_BUFF_SIZE = 540·8 + 30 + 200]. */
export const PUSH_DATA_MAX_BYTES = 4550;
/** The retry tick's period when nothing is pending, buffered or in outage, ms (the journal's state is reported at this pace). */
const QUIET_TICK_MS = 1000;

/** Options of {@link ServerUplink}: one server's PUSH_DATA side. */
export interface ServerUplinkOptions {
  /** host:port, for logs, status and metrics. */
  name: string;
  link: ServerLink;
  gatewayEui: Buffer;
  /** How long a PUSH_DATA waits for its PUSH_ACK before it counts as unacknowledged, ms. */
  pushTimeoutMs: number;
  /** Global counters; push-level ones always add up, uplink-level ones (rxfw, ...) only from the primary server. */
  stats: ForwarderStats;
  primary: boolean;
  log: Logger;
  tokens?: TokenSource;
  monitor?: Monitor;
  /** Store and forward while the server does not acknowledge; absent: uplinks are sent once, as PF4 does. */
  buffer?: StoreAndForward;
}

/** What one server's uplink side counted. */
export interface ServerUplinkCounters {
  pushDataSent: number;
  pushDataBytes: number;
  pushAckReceived: number;
  pushAckIgnored: number;
  pushRetries: number;
  pushUnacked: number;
  /** ackr's terms (see CounterSet): datagrams sent for PUSH_DATA whose fate is known, and those acknowledged. */
  pushResolved: number;
  pushResolvedAcked: number;
  statSent: number;
  rxfw: number;
  rxLost: number;
  rxBuffered: number;
  rxBufferDelivered: number;
  upGarbage: number;
}

const UPLINK_LEVEL = new Set(['rxfw', 'rxLost', 'rxBuffered', 'rxBufferDelivered', 'statSent']);

/** Store-and-forward settings (`buffer_conf`). */
export interface StoreAndForward {
  buffer: UplinkBuffer;
  /** Resends of a PUSH_DATA that got no PUSH_ACK within push_timeout_ms. */
  retries: number;
  /** Consecutive unacknowledged PUSH_DATA (after their retries) that mean the server is not answering. */
  outageAfterUnacked: number;
  /** While not answered: how often the oldest buffered uplinks are offered again, ms. */
  probeIntervalMs: number;
  /** The buffer's journal file (uplink-journal.ts), or null. */
  file: string | null;
}

interface Pending {
  sentAt: number;
  dgram: Buffer;
  /** The uplinks it carries (to buffer them if it is never acknowledged). */
  rxpks: BufferedUplink[];
  /** Taken from the head of the buffer (removed only on the ack), or sent live. */
  fromBuffer: boolean;
  tries: number;
  /** A buffer datagram cut short by the isolation (see buffer-flow.ts). */
  narrowed?: boolean;
}


/**
 * One server's uplink side: PUSH_DATA batching, PUSH_ACK matching, resends,
 * and store and forward while it does not acknowledge.
 */
export class ServerUplink implements UplinkBackend {
  readonly counters: ServerUplinkCounters = {
    pushDataSent: 0, pushDataBytes: 0, pushAckReceived: 0, pushAckIgnored: 0, pushRetries: 0, pushUnacked: 0,
    pushResolved: 0, pushResolvedAcked: 0, statSent: 0, rxfw: 0, rxLost: 0, rxBuffered: 0, rxBufferDelivered: 0, upGarbage: 0,
  };
  private readonly tokens: TokenSource;
  private readonly log: Logger;
  /** Warnings any sender can cause, rate-limited per message. */
  private readonly warnLimit: WarnLimiter;
  /** token → what was sent and when (ms, monotonic). */
  private readonly pending = new Map<number, Pending>();
  /** The server has stopped acknowledging: uplinks go to the buffer. */
  outage = false;
  private unackedRun = 0;
  /** Buffer datagrams sent and not yet acknowledged or given up. */
  private flushInFlight = 0;
  /** The uplinks they carry (the next one is taken after them). */
  private readonly inFlightSeqs = new Set<number>();
  /** How much of the buffer goes at once, and poison isolation (buffer-flow.ts). */
  private readonly flow = new BufferFlow();
  private lastProbeMs = 0;
  private tick: NodeJS.Timeout | null = null;
  /** The tick runs at the retry period (something pending, buffered or an outage) or, quiet, once a second. */
  private tickFast = false;
  private tickGuarded: (() => void) | null = null;
  private file: BufferFile | null = null;

  constructor(private readonly o: ServerUplinkOptions) {
    this.tokens = o.tokens ?? new TokenSource();
    this.log = o.log;
    this.warnLimit = new WarnLimiter(this.log);
    o.link.on('up-datagram', (buf: Buffer) => this.onDatagram(buf));
  }

  get name(): string {
    return this.o.name;
  }

  /** The store-and-forward buffer, or null. */
  get buffer(): UplinkBuffer | null {
    return this.o.buffer?.buffer ?? null;
  }

  /** Adds to this server's counters and to the global ones (uplink-level ones only from the primary server). */
  private count(key: keyof ServerUplinkCounters, n = 1): void {
    this.counters[key] += n;
    const global = this.o.stats.counters as unknown as Record<string, number>;
    if (this.o.primary || !UPLINK_LEVEL.has(key)) global[key] = (global[key] ?? 0) + n;
  }

  /** Opens the buffer's journal (restoring what it holds) and starts the retry timer; returns the highest sequence number loaded. */
  start(): number {
    const b = this.o.buffer;
    if (!b) return 0;
    if (b.file) this.openJournal(b.file, b.buffer);
    this.tickGuarded = guard(this.log, (n) => this.o.stats.recordInternalError(n), 'uplink retry timer', () => {
      this.tick = null;
      try {
        this.onTick();
      } finally {
        this.armTick();
      }
    });
    this.armTick();
    return b.buffer.maxSeq;
  }

  private openJournal(file: string, buffer: UplinkBuffer): void {
    this.file = new BufferFile(file, buffer, this.log);
    this.file.open();
  }

  /** The journal's state for the status (null without a file). */
  get journalStatus(): BufferFileStatus | null {
    return this.file?.status ?? null;
  }

  /**
   * (Re)arms the retry tick: every pushTimeoutMs/2 while an ack is awaited,
   * the buffer holds uplinks or the server is in outage; otherwise once a
   * second (the journal's state), so a quiet gateway does not wake 20 times
   * a second for nothing (issue 16: idle CPU). Sending a datagram calls it.
   */
  private armTick(): void {
    const b = this.o.buffer;
    if (!b || !this.tickGuarded) return;
    const fast = this.pending.size > 0 || b.buffer.length > 0 || this.outage;
    if (this.tick && fast === this.tickFast) return;
    if (this.tick) clearTimeout(this.tick);
    this.tickFast = fast;
    this.tick = setTimeout(this.tickGuarded, fast ? Math.max(10, Math.floor(this.o.pushTimeoutMs / 2)) : QUIET_TICK_MS);
  }

  stop(): void {
    this.tickGuarded = null;
    if (this.tick) clearTimeout(this.tick);
    this.tick = null;
    const b = this.o.buffer;
    if (!b || !this.file) return;
    // Unacknowledged live datagrams are kept too: their uplinks are not delivered yet.
    const inFlight = [...this.pending.values()].filter((p) => !p.fromBuffer).flatMap((p) => p.rxpks);
    for (const [token, p] of this.pending) if (!p.fromBuffer) this.pending.delete(token);
    if (inFlight.length) b.buffer.push(inFlight);
    this.file.close();
  }

  /** Uplinks waiting in the buffer. */
  get buffered(): number {
    return this.o.buffer?.buffer.length ?? 0;
  }

  /** PUSH_DATA datagrams still waiting for their ack. */
  get pendingAcks(): number {
    return this.pending.size;
  }

  /** Retries and expiry of PUSH_DATA, probes while not answered, the buffer's flush and save. */
  private onTick(): void {
    this.expireAcks();
    const b = this.o.buffer;
    if (!b) return;
    if (this.outage && performance.now() - this.lastProbeMs >= b.probeIntervalMs) this.flush(true);
    else if (!this.outage) this.flush(false);
    // Writes happen as the buffer changes; the state change is reported here, once.
    this.file?.tick();
  }

  /** One fetch of uplinks (and the stat, if any) for this server: sent, or buffered behind older ones. Returns what became of each packet. */
  deliver(rxpks: BufferedUplink[], stat: string | null, packets: RxPacket[], now: number): UplinkOutcome[] {
    if (rxpks.length === 0 && stat === null) return [];
    this.expireAcks();
    const buf = this.o.buffer;
    const monitor = this.o.monitor;
    // Behind older uplinks or during an outage, new ones wait their turn: order is kept.
    if (buf && rxpks.length > 0 && (this.outage || buf.buffer.length > 0 || this.flushInFlight > 0)) {
      buf.buffer.push(rxpks);
      this.count('rxBuffered', rxpks.length);
      for (const p of packets) monitor?.uplink(p, 'buffered');
      if (stat !== null) this.sendBodies([], stat, [], now); // the stat alone
      this.flush(false);
      return packets.map(() => 'buffered');
    }
    return this.sendBodies(rxpks, stat, packets, now);
  }

  /** Sends live uplinks (and the stat) as PUSH_DATA bodies. */
  private sendBodies(rxpks: BufferedUplink[], stat: string | null, packets: RxPacket[], now: number): UplinkOutcome[] {
    const monitor = this.o.monitor;
    const outcomes: UplinkOutcome[] = [];
    const bodies = planPushDataBodies(rxpks.map((r) => r.rxpk), stat, PUSH_DATA_MAX_BYTES - 12);
    let sentPackets = 0;
    const sentList: RxPacket[] = [];
    let at = 0;
    for (const { body, rxpkCount, hasStat } of bodies) {
      const token = this.freshToken();
      const dgram = encodePacket({ type: 'PUSH_DATA', token, gatewayEui: this.o.gatewayEui, body: Buffer.from(body) });
      const these = packets.slice(at, at + rxpkCount);
      const texts = rxpks.slice(at, at + rxpkCount);
      at += rxpkCount;
      if (!this.o.link.sendUp(dgram)) {
        if (this.o.buffer && texts.length) {
          // No server address yet (DNS at boot): kept for when it resolves.
          this.o.buffer.buffer.push(texts);
          this.count('rxBuffered', texts.length);
          for (const p of these) monitor?.uplink(p, 'buffered');
          outcomes.push(...these.map(() => 'buffered' as const));
          continue;
        }
        this.count('rxLost', rxpkCount);
        for (const p of these) monitor?.uplink(p, 'lost');
        outcomes.push(...these.map(() => 'lost' as const));
        this.log.warn({ packets: rxpkCount, stat: hasStat }, 'PUSH_DATA dropped: server address not resolved');
        continue;
      }
      for (const p of these) monitor?.uplink(p, 'forwarded');
      outcomes.push(...these.map(() => 'forwarded' as const));
      sentList.push(...these);
      this.pending.set(token, { sentAt: performance.now(), dgram, rxpks: texts, fromBuffer: false, tries: 0 });
      if (!this.tickFast) this.armTick();
      this.count('pushDataSent');
      this.count('pushDataBytes', dgram.length);
      sentPackets += rxpkCount;
      if (hasStat) this.count('statSent');
    }
    if (sentPackets > 0) {
      this.count('rxfw', sentPackets);
      if (this.o.primary) {
        for (const p of sentList) {
          this.o.stats.counters.rxPayloadBytes += p.payload.length;
          this.o.stats.recordUplinkLatency(u32(now - p.countUs));
          monitor?.uplinkLatencyUs(u32(now - p.countUs));
        }
      }
      this.log.debug({ packets: sentPackets, datagrams: bodies.length }, 'PUSH_DATA sent');
    }
    return outcomes;
  }

  /**
   * Sends the oldest buffered uplinks, in order, as many datagrams as the
   * flow allows in flight (buffer-flow.ts: a window growing to 8 while the
   * server answers; one while probing an outage or isolating a poisoned
   * uplink). `probe`: during an outage, to find out whether the server
   * answers again.
   */
  private flush(probe: boolean): void {
    const b = this.o.buffer;
    if (!b || b.buffer.length === 0 || (this.outage && !probe)) return;
    while (this.flushInFlight < this.flow.capacity(this.outage)) {
      const next = b.buffer.peek(PUSH_DATA_MAX_BYTES - 12 - 20, this.inFlightSeqs);
      if (next.length === 0) return;
      const { rxpks, narrowed } = this.flow.shape(next);
      const [plan] = planPushDataBodies(rxpks.map((r) => r.rxpk), null, Number.MAX_SAFE_INTEGER);
      if (!plan) return;
      const token = this.freshToken();
      const dgram = encodePacket({ type: 'PUSH_DATA', token, gatewayEui: this.o.gatewayEui, body: Buffer.from(plan.body) });
      this.lastProbeMs = performance.now();
      if (!this.o.link.sendUp(dgram)) return;
      this.flushInFlight++;
      for (const r of rxpks) this.inFlightSeqs.add(r.seq);
      this.pending.set(token, { sentAt: performance.now(), dgram, rxpks, fromBuffer: true, tries: 0, narrowed });
      if (!this.tickFast) this.armTick();
      this.count('pushDataSent');
      this.count('pushDataBytes', dgram.length);
      if (this.outage) return; // a probe: one
    }
  }

  /** A buffer datagram is settled (acknowledged or given up): its uplinks may be taken again. */
  private settled(p: Pending): void {
    this.flushInFlight = Math.max(0, this.flushInFlight - 1);
    for (const r of p.rxpks) this.inFlightSeqs.delete(r.seq);
  }

  private freshToken(): number {
    let t = this.tokens.next();
    while (this.pending.has(t)) t = this.tokens.next();
    return t;
  }

  /**
   * PUSH_DATA past push_timeout_ms without their ack: resent up to the retry
   * limit (with store and forward), then given up: their uplinks go to the
   * buffer, and enough in a row mean the server is not answering (outage).
   */
  private expireAcks(): void {
    const now = performance.now();
    const limit = now - this.o.pushTimeoutMs;
    const b = this.o.buffer;
    const giveBack: BufferedUplink[] = [];
    for (const [token, p] of this.pending) {
      if (p.sentAt >= limit) continue;
      if (b && p.tries < b.retries && !(this.outage && p.fromBuffer)) {
        if (p.fromBuffer) this.flow.resent();
        p.tries++;
        p.sentAt = now;
        this.count('pushRetries');
        this.o.link.sendUp(p.dgram);
        continue;
      }
      this.pending.delete(token);
      this.count('pushUnacked');
      this.count('pushResolved', p.tries + 1);
      if (p.fromBuffer) {
        this.settled(p);
        this.flow.unacked(p);
      }
      else if (b && p.rxpks.length) {
        // Counted in rxfw when first sent; never subtracted (a stat counter must not go below 0), not counted again.
        giveBack.push(...p.rxpks.map((r) => ({ ...r, counted: true })));
      }
      if (!b || p.rxpks.length === 0) continue;
      this.unackedRun++;
      if (!this.outage && this.unackedRun >= b.outageAfterUnacked) {
        this.outage = true;
        this.log.warn({ unacked: this.unackedRun, buffered: b.buffer.length + giveBack.length }, 'server not acknowledging PUSH_DATA: buffering uplinks');
        this.o.link.refresh(); // it may have moved
      }
    }
    if (b && giveBack.length) {
      b.buffer.push(giveBack);
      this.count('rxBuffered', giveBack.length);
    }
  }

  /** The server answered around `seq` twice but never acknowledged `seq`: drop it. */
  private dropPoison(seq: number): void {
    const b = this.o.buffer;
    if (!b) return;
    const text = b.buffer.peek(Number.MAX_SAFE_INTEGER).find((e) => e.seq === seq)?.rxpk ?? '';
    if (!b.buffer.dropPoison(seq)) return;
    this.warnLimit.warn(
      { seq, rxpk: text.length > 80 ? `${text.slice(0, 80)}...` : text, bytes: text.length },
      'buffered uplink dropped: the server acknowledges other datagrams but never this one',
    );
  }

  private onDatagram(buf: Buffer): void {
    const r = decodePacket(buf);
    if (!r.ok || r.packet.type !== 'PUSH_ACK') {
      this.count('upGarbage');
      this.warnLimit.warn({ reason: r.ok ? `unexpected ${r.packet.type}` : r.reason, bytes: buf.length }, 'upstream datagram ignored');
      return;
    }
    const sent = this.pending.get(r.packet.token);
    if (sent === undefined) {
      this.count('pushAckIgnored');
      this.log.debug({ token: r.packet.token }, 'PUSH_ACK with unknown or expired token ignored');
      return;
    }
    this.pending.delete(r.packet.token);
    this.count('pushAckReceived');
    this.count('pushResolved', sent.tries + 1);
    this.count('pushResolvedAcked');
    this.unackedRun = 0;
    const rttMs = performance.now() - sent.sentAt;
    this.o.monitor?.pushAck(rttMs, this.o.name);
    this.log.debug({ token: r.packet.token, rttMs: +rttMs.toFixed(2) }, 'PUSH_ACK received');
    const b = this.o.buffer;
    if (!b) return;
    const poison = this.flow.acked(sent, sent.fromBuffer);
    if (sent.fromBuffer) {
      b.buffer.remove(sent.rxpks);
      this.count('rxBufferDelivered', sent.rxpks.length);
      this.count('rxfw', sent.rxpks.filter((r) => !r.counted).length);
      this.settled(sent);
    }
    if (poison !== null) this.dropPoison(poison);
    if (this.outage) {
      this.outage = false;
      this.log.info({ buffered: b.buffer.length }, 'server acknowledging again: sending the buffered uplinks');
    }
    this.flush(false);
  }
}
