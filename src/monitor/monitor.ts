/**
 * What the gateway did, kept for its owner: the last uplinks and downlinks
 * (a ring buffer), packets per minute per channel for the last hour, the
 * time of the last PUSH_ACK / PULL_ACK, and Prometheus metrics (prom-client,
 * on a registry of its own). The loops call the record methods; the HTTP
 * endpoint (http-server.ts) reads them.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RxPacket } from '../../hal/index.js';
import { datrOf } from '../protocol/index.js';
import type { TxRequest } from '../protocol/txpk.js';
import type { TxAckError } from '../protocol/tx-ack-error.js';
import { TX_ACK_ERRORS } from '../protocol/tx-ack-error.js';
import type { CounterSet, ForwarderStats } from '../stats.js';
import { decodeLorawanHeader, type LorawanHeader } from './lorawan.js';

/** Fields both directions share. */
interface RecordBase extends Partial<LorawanHeader> {
  /** Sequence number, from 1; `?since=` pages on it. */
  id: number;
  /** Revision: from one sequence with the ids, renewed whenever the record changes (a downlink's outcome); `?updatedSince=` pages on it. */
  rev: number;
  /** Wall-clock time, ms since the epoch, and as ISO 8601. */
  timeMs: number;
  time: string;
  /** MHz, as on the wire. */
  freq: number;
  /** "SF7BW125" or FSK bit rate. */
  datr: string | number;
  size: number;
}

/** An uplink as fetched from the radio. */
export interface UplinkRecord extends RecordBase {
  dir: 'up';
  tmst: number;
  chan: number;
  rfch: number;
  rssi: number;
  lsnr: number | null;
  crc: 'ok' | 'bad' | 'none';
  /** forwarded: in a PUSH_DATA; buffered: kept for a server that does not answer; filtered: a forward_crc_* rule; lost: not sent and not kept. */
  outcome: 'forwarded' | 'buffered' | 'filtered' | 'lost';
}

/** A downlink request and what became of it. */
export interface DownlinkRecord extends RecordBase {
  dir: 'down';
  token: number;
  class: 'A' | 'B' | 'C';
  powe: number | null;
  /** The TX_ACK sent: "OK" or the error code. */
  txAck: 'OK' | TxAckError;
  /** Counter value it was scheduled at (null when rejected before scheduling). */
  countUs: number | null;
  /** rejected (TX_ACK error), queued, sent (handed to the radio), refused/failed at hand-over, expired in the queue. */
  outcome: 'rejected' | 'queued' | 'sent' | 'refused' | 'failed' | 'expired';
  /** Start − target as the driver measured it, µs (null: not known for this radio, or not yet emitted). */
  timingErrorUs: number | null;
}

export type PacketRecord = UplinkRecord | DownlinkRecord;

/** Minutes of per-channel counts kept. */
export const CHANNEL_MINUTES = 60;

/** One decimal: what the radios measure of SNR. */
const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

const freqLabel = (mhz: number) => mhz.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');

/** Records and metrics of one forwarder. */
export class Monitor {
  readonly registry = new Registry();
  private readonly ring: PacketRecord[];
  private next = 0;
  private seq = 0;
  private revSeq = 0;
  /** minute index (ms / 60000) → channel label → [up, down]. */
  private readonly minutes = new Map<number, Map<string, [number, number]>>();
  private readonly pending = new Map<number, DownlinkRecord>();
  private readonly freqs = new Map<number, { mhz: number; label: string }>();
  /** The frame of the record at the same ring position, decoded only when served. */
  private readonly frames: Uint8Array[];
  private readonly rssiBy = new Map<string, { observe(v: number): void }>();
  private readonly snrBy = new Map<string, { observe(v: number): void }>();
  /** Per server (host:port): last PUSH_ACK / PULL_ACK times and round trips. */
  readonly acks = new Map<string, { pushMs: number | null; pullMs: number | null; pushRttMs: number | null; pullRttMs: number | null }>();
  private readonly rssi: Histogram<'freq_mhz'>;
  private readonly snr: Histogram<'freq_mhz'>;
  private readonly uplinkLatency: Histogram;
  private readonly timingError: Histogram;
  private readonly ackRtt: Histogram<'server' | 'kind'>;

  constructor(
    private readonly o: {
      capacity: number;
      stats: ForwarderStats;
      queueDepth: () => number;
      wallClockMs?: () => number;
    },
  ) {
    this.ring = new Array<PacketRecord>(Math.max(1, o.capacity));
    this.frames = new Array<Uint8Array>(this.ring.length);
    const registers = [this.registry];
    this.rssi = new Histogram({ name: 'pktfwd_uplink_rssi_dbm', help: 'RSSI of received frames, dBm, per channel', labelNames: ['freq_mhz'], buckets: [-130, -120, -115, -110, -105, -100, -95, -90, -80, -70, -60, -40, -20], registers });
    this.snr = new Histogram({ name: 'pktfwd_uplink_snr_db', help: 'LoRa SNR of received frames, dB, per channel', labelNames: ['freq_mhz'], buckets: [-20, -15, -10, -7.5, -5, -2.5, 0, 2.5, 5, 7.5, 10, 15], registers });
    this.uplinkLatency = new Histogram({ name: 'pktfwd_uplink_latency_seconds', help: 'Receive stamp to PUSH_DATA sent', buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1], registers });
    this.timingError = new Histogram({ name: 'pktfwd_downlink_timing_error_seconds', help: 'Downlink start minus its target, as the radio driver measured it', buckets: [-0.001, 0, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05], registers });
    this.ackRtt = new Histogram({ name: 'pktfwd_ack_rtt_seconds', help: 'PUSH_DATA→PUSH_ACK and PULL_DATA→PULL_ACK round trip, per server', labelNames: ['server', 'kind'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2], registers });
    const counters = o.stats.counters;
    for (const key of Object.keys(counters) as (keyof CounterSet)[]) {
      new Counter({
        name: `pktfwd_${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`,
        help: `Forwarder counter ${key} since start`,
        registers,
        collect() {
          this.reset();
          this.inc(counters[key]);
        },
      });
    }
    const rejected = o.stats.rejected;
    new Counter({
      name: 'pktfwd_tx_rejected_total', help: 'Downlinks answered with a TX_ACK error, per code', labelNames: ['reason'], registers,
      collect() {
        this.reset();
        for (const e of TX_ACK_ERRORS) this.inc({ reason: e }, rejected[e]);
      },
    });
    const self = this;
    new Gauge({
      name: 'pktfwd_server_last_ack_age_seconds', help: 'Seconds since the last PUSH_ACK / PULL_ACK from the server (absent: none yet)', labelNames: ['server', 'kind'], registers,
      collect() {
        this.reset();
        const now = self.now();
        for (const [server, a] of self.acks) {
          if (a.pushMs !== null) this.set({ server, kind: 'push' }, (now - a.pushMs) / 1000);
          if (a.pullMs !== null) this.set({ server, kind: 'pull' }, (now - a.pullMs) / 1000);
        }
      },
    });
    new Gauge({ name: 'pktfwd_jit_queue_depth', help: 'Downlinks waiting in the JIT queue', registers, collect() { this.set(o.queueDepth()); } });
  }

  private now(): number {
    return this.o.wallClockMs?.() ?? Date.now();
  }

  private push(r: PacketRecord, frame: Uint8Array, label: string): void {
    this.ring[this.next] = r;
    this.frames[this.next] = frame;
    this.next = (this.next + 1) % this.ring.length;
    const minute = Math.floor(r.timeMs / 60_000);
    let m = this.minutes.get(minute);
    if (!m) {
      m = new Map();
      this.minutes.set(minute, m);
      for (const k of this.minutes.keys()) if (k <= minute - CHANNEL_MINUTES) this.minutes.delete(k);
    }
    const c = m.get(label) ?? [0, 0];
    c[r.dir === 'up' ? 0 : 1]++;
    m.set(label, c);
  }

  /** A histogram child per channel label, made once (prom-client hashes the labels on every labelled call). */
  private child(h: Histogram<'freq_mhz'>, cache: Map<string, { observe(v: number): void }>, label: string): { observe(v: number): void } {
    let c = cache.get(label);
    if (!c) {
      c = h.labels({ freq_mhz: label });
      cache.set(label, c);
    }
    return c;
  }

  /** Freq (MHz) of a frequency in Hz, and its label, cached: the hot path formats nothing. */
  private freq(freqHz: number): { mhz: number; label: string } {
    let f = this.freqs.get(freqHz);
    if (!f) {
      const mhz = Math.round(freqHz / 100) / 10_000;
      f = { mhz, label: freqLabel(mhz) };
      if (this.freqs.size < 1024) this.freqs.set(freqHz, f);
    }
    return f;
  }

  /** The common fields; the time string and the LoRaWAN header are filled in when the record is served. */
  private base(freqHz: number, datr: string | number, payload: Uint8Array): RecordBase {
    return { id: ++this.seq, rev: ++this.revSeq, timeMs: this.now(), time: '', freq: this.freq(freqHz).mhz, datr, size: payload.length };
  }

  /** An uplink fetched from the radio and what the upstream loop did with it. */
  uplink(p: RxPacket, outcome: UplinkRecord['outcome']): void {
    const f = this.freq(p.freqHz);
    const r: UplinkRecord = {
      id: ++this.seq, rev: ++this.revSeq, timeMs: this.now(), time: '', freq: f.mhz, datr: datrOf(p.radio), size: p.payload.length,
      dir: 'up', tmst: p.countUs, chan: p.ifChain, rfch: p.rfChain, rssi: Math.round(p.rssiDbm), lsnr: p.snrDb === undefined ? null : round1(p.snrDb), crc: p.crcStatus, outcome,
    };
    this.push(r, p.payload, f.label);
    this.child(this.rssi, this.rssiBy, f.label).observe(p.rssiDbm);
    if (p.snrDb !== undefined) this.child(this.snr, this.snrBy, f.label).observe(p.snrDb);
  }

  /** Receive-to-send latency of a forwarded uplink, µs. */
  uplinkLatencyUs(us: number): void {
    this.uplinkLatency.observe(us / 1e6);
  }

  /** A PULL_RESP's request and its TX_ACK. */
  downlink(req: TxRequest, token: number, txAck: TxAckError | null, countUs: number | null): void {
    const cls = req.timing.kind === 'immediate' ? 'C' : req.timing.kind === 'tmms' ? 'B' : 'A';
    const r: DownlinkRecord = {
      ...this.base(req.freqHz, datrOf(req.radio), req.payload), dir: 'down', token, class: cls, powe: req.powerDbm ?? null,
      txAck: txAck ?? 'OK', countUs, outcome: txAck ? 'rejected' : 'queued', timingErrorUs: null,
    };
    this.push(r, req.payload, this.freq(req.freqHz).label);
    if (!txAck && countUs !== null) this.pending.set(countUs >>> 0, r);
    if (this.pending.size > 64) this.pending.delete(this.pending.keys().next().value!);
  }

  /** What became of a queued downlink at hand-over. */
  handOver(countUs: number, outcome: 'sent' | 'refused' | 'failed' | 'expired'): void {
    const r = this.pending.get(countUs >>> 0);
    if (!r) return;
    r.outcome = outcome;
    r.rev = ++this.revSeq;
    if (outcome !== 'sent') this.pending.delete(countUs >>> 0);
  }

  /** A frame started on the air (drivers that can tell). */
  txStart(e: { targetUs: number | null; startUs: number }): void {
    if (e.targetUs === null) return;
    const r = this.pending.get(e.targetUs >>> 0);
    const err = (e.startUs - e.targetUs) | 0;
    this.timingError.observe(err / 1e6);
    if (r) {
      r.timingErrorUs = err;
      r.rev = ++this.revSeq;
      this.pending.delete(e.targetUs >>> 0);
    }
  }

  private ackOf(server: string) {
    let a = this.acks.get(server);
    if (!a) {
      a = { pushMs: null, pullMs: null, pushRttMs: null, pullRttMs: null };
      this.acks.set(server, a);
    }
    return a;
  }

  pushAck(rttMs: number, server: string): void {
    const a = this.ackOf(server);
    a.pushMs = this.now();
    a.pushRttMs = round2(rttMs); // 10 µs: finer is the event loop's noise
    this.ackRtt.observe({ server, kind: 'push' }, rttMs / 1000);
  }

  pullAck(rttMs: number, server: string): void {
    const a = this.ackOf(server);
    a.pullMs = this.now();
    a.pullRttMs = round2(rttMs);
    this.ackRtt.observe({ server, kind: 'pull' }, rttMs / 1000);
  }

  /** A record as served: its time as ISO 8601 and the LoRaWAN header read from its frame. */
  private served(r: PacketRecord, frame: Uint8Array | undefined): PacketRecord {
    const header = frame ? decodeLorawanHeader(frame) : null;
    return { ...r, ...(header ?? {}), time: new Date(r.timeMs).toISOString() };
  }

  /** The id of the newest record (0 before the first). */
  get lastId(): number {
    return this.seq;
  }

  /** The newest revision: of the newest record, or of the last change to one. */
  get lastRev(): number {
    return this.revSeq;
  }

  /**
   * The last `limit` records (oldest first) of those after id `since`, or,
   * with `updatedSince`, of those new or changed after that revision.
   */
  packets(limit: number, since = 0, updatedSince?: number): PacketRecord[] {
    const n = this.ring.length;
    const out: PacketRecord[] = [];
    const at: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = (this.next + i) % n;
      const r = this.ring[k];
      if (r && (updatedSince === undefined ? r.id > since : r.rev > updatedSince)) {
        out.push(r);
        at.push(k);
      }
    }
    const from = Math.max(0, out.length - limit);
    return out.slice(from).map((r, i) => this.served(r, this.frames[at[from + i]!]));
  }

  /** Uplinks and downlinks per minute per channel, the last {@link CHANNEL_MINUTES} minutes, oldest first. */
  channels(): { minutes: number[]; channels: Record<string, { up: number[]; down: number[] }> } {
    const nowMinute = Math.floor(this.now() / 60_000);
    const minutes = [...Array(CHANNEL_MINUTES).keys()].map((i) => nowMinute - CHANNEL_MINUTES + 1 + i);
    const channels: Record<string, { up: number[]; down: number[] }> = {};
    minutes.forEach((minute, i) => {
      for (const [label, [up, down]] of this.minutes.get(minute) ?? []) {
        const c = (channels[label] ??= { up: new Array<number>(CHANNEL_MINUTES).fill(0), down: new Array<number>(CHANNEL_MINUTES).fill(0) });
        c.up[i] = up;
        c.down[i] = down;
      }
    });
    return { minutes: minutes.map((m) => m * 60_000), channels };
  }
}
