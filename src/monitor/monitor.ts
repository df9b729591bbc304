/**
 * What the gateway did, kept for its owner: the last uplinks and downlinks
 * (a ring buffer), packets per minute per channel for the last hour, the
 * time of the last PUSH_ACK / PULL_ACK, and Prometheus metrics (prom-client,
 * on a registry of its own). The loops call the record methods; the HTTP
 * endpoint (http-server.ts) reads them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
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

/** One server as the metrics see it. */
export interface MetricsServer {
  /** host:port (the `server` label). */
  name: string;
  answering: boolean;
  up: Record<'pushDataSent' | 'pushDataBytes' | 'pushRetries' | 'pushUnacked' | 'pushAckReceived' | 'pushAckIgnored' | 'pushResolved' | 'pushResolvedAcked' | 'statSent' | 'upGarbage' | 'rxBuffered' | 'rxBufferDelivered', number> | null;
  down: Record<'pullDataSent' | 'pullAckReceived' | 'pullRespReceived' | 'pullRespBytes' | 'pullRespInvalid' | 'downGarbage' | 'txAckSent', number> | null;
  buffer: { uplinks: number; bytes: number; dropped: Record<string, number>; fileOk: boolean | null } | null;
}

/** What the metrics read of the forwarder at a scrape. */
export interface MetricsSnapshot {
  version: string;
  radio: { type: string; up: boolean };
  servers: MetricsServer[];
  gps: { fix: boolean; valid: boolean; precise: boolean } | null;
  bands: { band: string; remainingMs: number }[];
  /** LNS servers (lns_conf): name, connected, counters. */
  lns?: { name: string; connected: boolean; counters: Record<string, number>; cups: Record<string, number> | null }[];
}

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
      /** prom-client's default process/Node metrics (their event-loop and GC observers cost a little: off when nothing scrapes). */
      processMetrics?: boolean;
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
    this.defineMetrics(registers);
  }

  private now(): number {
    return this.o.wallClockMs?.() ?? Date.now();
  }

  /** Where the per-server, radio, GPS, buffer and regulation state comes from (set by the Forwarder). */
  private source: (() => MetricsSnapshot) | null = null;
  private cached: { atMs: number; snap: MetricsSnapshot } | null = null;

  /** Gives the metrics their view of the forwarder (read once per scrape). */
  setMetricsSource(source: () => MetricsSnapshot): void {
    this.source = source;
  }

  private snapshot(): MetricsSnapshot | null {
    if (!this.source) return null;
    const t = performance.now();
    if (!this.cached || t - this.cached.atMs > 50) this.cached = { atMs: t, snap: this.source() };
    return this.cached.snap;
  }

  /**
   * The exposition (issue 15): one naming style (`pktfwd_<what>_<unit>`,
   * `_total` for counters), HELP written for an operator, a `server` label
   * (host:port) on every per-server series, state gauges, build info, and
   * prom-client's default process and Node metrics. The counters are the
   * ones /api/status and the stat report show (README "Metrics").
   */
  private defineMetrics(registers: Registry[]): void {
    const c = this.o.stats.counters;
    const self = this;
    const counter = (name: string, help: string, value: () => number) =>
      new Counter({ name, help, registers, collect() { this.reset(); this.inc(value()); } });
    const labelled = <L extends string>(name: string, help: string, labelNames: L[], fill: (set: (labels: Record<L, string>, v: number) => void) => void, kind: 'counter' | 'gauge' = 'counter') => {
      if (kind === 'counter') {
        new Counter<L>({ name, help, labelNames, registers, collect() { this.reset(); fill((l, v) => this.inc(l as never, v)); } });
      } else {
        new Gauge<L>({ name, help, labelNames, registers, collect() { this.reset(); fill((l, v) => this.set(l as never, v)); } });
      }
    };
    const gauge = (name: string, help: string, value: () => number | null) =>
      new Gauge({ name, help, registers, collect() { this.reset(); const v = value(); if (v !== null) this.set(v); } });

    // Radio side (the whole gateway).
    labelled('pktfwd_rx_packets_total', 'Frames the radio received, by CRC result (ok, bad, none = no CRC)', ['crc'], (set) => {
      set({ crc: 'ok' }, c.rxok);
      set({ crc: 'bad' }, c.rxBad);
      set({ crc: 'none' }, c.rxNoCrc);
    });
    counter('pktfwd_rx_forwarded_total', 'Received frames sent to the (first) server, each counted once: the stat rxfw', () => c.rxfw);
    counter('pktfwd_rx_filtered_total', 'Received frames not forwarded because of forward_crc_valid/error/disabled', () => c.rxFiltered);
    counter('pktfwd_rx_lost_total', 'Received frames lost: no server address and no buffer to keep them', () => c.rxLost);
    counter('pktfwd_rx_payload_bytes_total', 'Payload bytes of the received frames forwarded', () => c.rxPayloadBytes);
    counter('pktfwd_rx_unencodable_total', 'Received frames dropped because a value could not be written as an rxpk (a radio driver bug)', () => c.rxUnencodable);
    counter('pktfwd_tx_requested_total', 'Downlinks that reached the JIT queue', () => c.txRequested);
    counter('pktfwd_tx_sent_total', 'Downlinks handed to the radio (the stat txnb)', () => c.txSent);
    counter('pktfwd_tx_bytes_total', 'Payload bytes of the downlinks handed to the radio', () => c.txBytes);
    counter('pktfwd_tx_failed_total', 'Downlinks the radio refused at hand-over', () => c.txFailed);
    counter('pktfwd_tx_expired_total', 'Downlinks whose time had passed when their turn came', () => c.txExpired);
    const rejected = this.o.stats.rejected;
    labelled('pktfwd_tx_rejected_total', 'Downlinks answered with a TX_ACK error, by error code', ['reason'], (set) => {
      for (const e of TX_ACK_ERRORS) set({ reason: e }, rejected[e]);
    });
    labelled('pktfwd_beacons_total', 'Class B beacons, by outcome (queued, sent, rejected)', ['outcome'], (set) => {
      set({ outcome: 'queued' }, c.beaconQueued);
      set({ outcome: 'sent' }, c.beaconSent);
      set({ outcome: 'rejected' }, c.beaconRejected);
    });
    counter('pktfwd_internal_errors_total', 'Exceptions caught by a last-resort guard and survived (each is a bug: see the log)', () => c.internalErrors);
    gauge('pktfwd_jit_queue_depth', 'Downlinks waiting in the JIT queue', () => this.o.queueDepth());

    // Per server.
    const per = <K extends string>(name: string, help: string, pick: (s: MetricsSnapshot['servers'][number]) => number | null, kind: 'counter' | 'gauge' = 'counter') =>
      labelled(name, help, ['server'] as K[] as 'server'[], (set) => {
        for (const s of self.snapshot()?.servers ?? []) {
          const v = pick(s);
          if (v !== null) set({ server: s.name }, v);
        }
      }, kind);
    const up = (k: keyof NonNullable<MetricsServer['up']>) => (s: MetricsServer) => s.up?.[k] ?? null;
    const down = (k: keyof NonNullable<MetricsServer['down']>) => (s: MetricsServer) => s.down?.[k] ?? null;
    per('pktfwd_push_data_sent_total', 'PUSH_DATA datagrams sent (first transmissions)', up('pushDataSent'));
    per('pktfwd_push_data_bytes_total', 'Bytes of PUSH_DATA datagrams sent', up('pushDataBytes'));
    per('pktfwd_push_data_resent_total', 'PUSH_DATA datagrams sent again after push_timeout_ms without a PUSH_ACK', up('pushRetries'));
    per('pktfwd_push_data_unacknowledged_total', 'PUSH_DATA given up without a PUSH_ACK after their resends', up('pushUnacked'));
    per('pktfwd_push_ack_received_total', 'PUSH_ACKs that matched a PUSH_DATA', up('pushAckReceived'));
    per('pktfwd_push_ack_ignored_total', 'PUSH_ACKs with an unknown, late or duplicate token', up('pushAckIgnored'));
    per('pktfwd_upstream_datagrams_decided_total', 'Upstream datagrams (resends included) whose fate is known: the stat ackr denominator', up('pushResolved'));
    per('pktfwd_upstream_datagrams_acknowledged_total', 'Upstream datagrams acknowledged: the stat ackr numerator', up('pushResolvedAcked'));
    per('pktfwd_stat_sent_total', 'Stat reports sent', up('statSent'));
    per('pktfwd_upstream_invalid_total', 'Datagrams on the upstream socket that were not a PUSH_ACK', up('upGarbage'));
    per('pktfwd_pull_data_sent_total', 'PULL_DATA keepalives sent', down('pullDataSent'));
    per('pktfwd_pull_ack_received_total', 'PULL_ACKs that matched the last PULL_DATA', down('pullAckReceived'));
    per('pktfwd_pull_resp_received_total', 'Well-formed PULL_RESP (downlink requests) received: the stat dwnb', down('pullRespReceived'));
    per('pktfwd_pull_resp_bytes_total', 'Bytes of the well-formed PULL_RESP received', down('pullRespBytes'));
    per('pktfwd_pull_resp_invalid_total', 'PULL_RESP refused as malformed (no TX_ACK)', down('pullRespInvalid'));
    per('pktfwd_downstream_invalid_total', 'Datagrams on the downstream socket that were not a protocol packet', down('downGarbage'));
    per('pktfwd_tx_ack_sent_total', 'TX_ACKs sent', down('txAckSent'));
    per('pktfwd_server_answering', '1 when the server answered lately (a PULL_ACK within 3 keepalives, or a PUSH_ACK within 3 stat intervals), else 0', (s) => (s.answering ? 1 : 0), 'gauge');
    labelled('pktfwd_server_last_ack_timestamp_seconds', 'Unix time of the last PUSH_ACK (kind push) or PULL_ACK (kind pull) from the server', ['server', 'kind'], (set) => {
      for (const [server, a] of self.acks) {
        if (a.pushMs !== null) set({ server, kind: 'push' }, a.pushMs / 1000);
        if (a.pullMs !== null) set({ server, kind: 'pull' }, a.pullMs / 1000);
      }
    }, 'gauge');
    const lnsCounter = (name: string, help: string, key: string) => labelled(name, help, ['server'], (set) => {
      for (const l of self.snapshot()?.lns ?? []) set({ server: l.name }, l.counters[key] ?? 0);
    });
    labelled('pktfwd_lns_connected', '1 while the LNS (Basics Station) connection is up and configured, else 0', ['server'], (set) => {
      for (const l of self.snapshot()?.lns ?? []) set({ server: l.name }, l.connected ? 1 : 0);
    }, 'gauge');
    lnsCounter('pktfwd_lns_connect_failures_total', 'LNS discovery or muxs connections that failed (each retried with back-off)', 'connectFailures');
    lnsCounter('pktfwd_lns_uplinks_sent_total', 'Uplinks sent to the LNS as updf/jreq/propdf (kept ones included once delivered)', 'uplinksSent');
    lnsCounter('pktfwd_lns_uplinks_kept_total', 'Uplinks kept while the LNS connection was down', 'uplinksBuffered');
    lnsCounter('pktfwd_lns_dnmsg_received_total', 'dnmsg (downlink requests) received from the LNS', 'dnmsgReceived');
    lnsCounter('pktfwd_lns_dntxed_sent_total', 'dntxed sent: downlinks that went out on the air', 'dntxedSent');
    const cupsCounter = (name: string, help: string, key: string) => labelled(name, help, ['server'], (set) => {
      for (const l of self.snapshot()?.lns ?? []) if (l.cups) set({ server: l.name }, l.cups[key] ?? 0);
    });
    cupsCounter('pktfwd_cups_requests_total', 'CUPS update-info requests (at start, at the interval, early after an LNS refusal)', 'requests');
    cupsCounter('pktfwd_cups_failures_total', 'CUPS requests that failed (refused, unreachable, untrusted, malformed answer)', 'failures');
    cupsCounter('pktfwd_cups_updates_total', 'CUPS answers that installed new URIs or credentials', 'updates');
    per('pktfwd_buffer_uplinks', 'Uplinks waiting in the store-and-forward buffer', (s) => s.buffer?.uplinks ?? null, 'gauge');
    per('pktfwd_buffer_bytes', 'Bytes of rxpk JSON waiting in the store-and-forward buffer', (s) => s.buffer?.bytes ?? null, 'gauge');
    per('pktfwd_buffer_uplinks_added_total', 'Uplinks put in the buffer (the server was not acknowledging, or older ones were waiting)', up('rxBuffered'));
    per('pktfwd_buffer_uplinks_delivered_total', 'Buffered uplinks the server acknowledged', up('rxBufferDelivered'));
    labelled('pktfwd_buffer_uplinks_dropped_total', 'Buffered uplinks dropped, by reason (count, bytes, age: a limit; poison: never acknowledged)', ['server', 'reason'], (set) => {
      for (const s of self.snapshot()?.servers ?? []) for (const [reason, n] of Object.entries(s.buffer?.dropped ?? {})) set({ server: s.name, reason }, n);
    });
    per('pktfwd_buffer_file_ok', '1 while the buffer file records every change, 0 when it cannot be written (buffering in memory only)', (s) => (s.buffer?.fileOk === undefined || s.buffer.fileOk === null ? null : s.buffer.fileOk ? 1 : 0), 'gauge');

    // State.
    labelled('pktfwd_build_info', 'Always 1: the version of pktfwd and of Node', ['version', 'node_version'], (set) => {
      const snap = self.snapshot();
      if (snap) set({ version: snap.version, node_version: process.versions.node }, 1);
    }, 'gauge');
    labelled('pktfwd_radio_up', '1 while the radio runs, 0 when it is down or stopped', ['radio'], (set) => {
      const snap = self.snapshot();
      if (snap) set({ radio: snap.radio.type }, snap.radio.up ? 1 : 0);
    }, 'gauge');
    gauge('pktfwd_gps_fix', '1 while the GPS receiver has a current fix (absent without GPS)', () => { const g = self.snapshot()?.gps; return g ? (g.fix ? 1 : 0) : null; });
    gauge('pktfwd_gps_time_reference_valid', '1 while the GPS time reference is valid (PPS or coarse)', () => { const g = self.snapshot()?.gps; return g ? (g.valid ? 1 : 0) : null; });
    gauge('pktfwd_gps_time_reference_precise', '1 while the GPS time reference is precise (PPS): tmms downlinks and beacons can go', () => { const g = self.snapshot()?.gps; return g ? (g.precise ? 1 : 0) : null; });
    labelled('pktfwd_duty_cycle_remaining_seconds', 'Air time left in the sliding hour, per regulatory sub-band (EU868)', ['band'], (set) => {
      for (const b of self.snapshot()?.bands ?? []) set({ band: b.band }, Math.max(0, b.remainingMs) / 1000);
    }, 'gauge');

    // The process: CPU, memory, event-loop lag, GC, handles (prom-client's standard names).
    if (this.o.processMetrics === false) return;
    collectDefaultMetrics({ register: this.registry });
    // prom-client also exports these sums as gauges named *_total, which Prometheus's linter (promtool check
    // metrics) rejects; the per-type gauges without the suffix (nodejs_active_handles...) stay.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
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
