import type { TxAckError } from './protocol/tx-ack-error.js';
import { TX_ACK_ERRORS } from './protocol/tx-ack-error.js';

/** Every counter the forwarder keeps; all cumulative since start. */
export interface CounterSet {
  /** Upstream: RF packets fetched from the concentrator. */
  rxnb: number;
  rxok: number;
  rxBad: number;
  rxNoCrc: number;
  /** Packets forwarded in a PUSH_DATA. */
  rxfw: number;
  /** Packets not forwarded because of forward_crc_* rules. */
  rxFiltered: number;
  /** Packets not forwarded because the server was unreachable (unresolved). */
  rxLost: number;
  rxPayloadBytes: number;
  pushDataSent: number;
  pushDataBytes: number;
  pushAckReceived: number;
  /** PUSH_ACKs with an unknown, late or duplicate token. */
  pushAckIgnored: number;
  /** Stat objects sent. */
  statSent: number;
  /** Downstream. */
  pullDataSent: number;
  pullAckReceived: number;
  pullAckIgnored: number;
  /** Well-formed PULL_RESPs (the stat `dwnb`). */
  pullRespReceived: number;
  pullRespBytes: number;
  /** PULL_RESPs rejected before scheduling because they were malformed. */
  pullRespInvalid: number;
  /** Datagrams on the downstream socket that were not valid protocol packets. */
  downGarbage: number;
  txAckSent: number;
  /** Requests that reached the JIT queue. */
  txRequested: number;
  /** Frames handed to the concentrator successfully (the stat `txnb`). */
  txSent: number;
  txBytes: number;
  /** Concentrator refused a frame at hand-over. */
  txFailed: number;
  /** Frames whose time had passed when their turn came. */
  txExpired: number;
  /** Upstream datagrams that were not valid protocol packets. */
  upGarbage: number;
  /** Store and forward: uplinks put in the buffer, delivered from it; PUSH_DATA resent, given up. */
  rxBuffered: number;
  rxBufferDelivered: number;
  pushRetries: number;
  pushUnacked: number;
  /**
   * ackr's terms, counted in the interval a PUSH_DATA's fate is known (its
   * ack arrived, or it was given up): datagrams sent for it (1 + resends)
   * and datagrams acknowledged (1 or 0). PROTOCOL.TXT: "percentage of
   * upstream datagrams that were acknowledged"; a resend is a datagram.
   */
  pushResolved: number;
  pushResolvedAcked: number;
  /** The same for PULL_DATA (decided when its ack arrives or the next keepalive replaces it). */
  pullResolved: number;
  pullResolvedAcked: number;
  /** Class B beacons queued, handed to the radio, refused (JIT or radio). */
  beaconQueued: number;
  beaconSent: number;
  beaconRejected: number;
  /** Exceptions caught by a last-resort guard (a bug: see byHandler in the status). */
  internalErrors: number;
  /** Received packets dropped because a value could not be written as an rxpk (a radio driver bug). */
  rxUnencodable: number;
}

function zeroCounters(): CounterSet {
  return {
    rxnb: 0, rxok: 0, rxBad: 0, rxNoCrc: 0, rxfw: 0, rxFiltered: 0, rxLost: 0, rxPayloadBytes: 0,
    pushDataSent: 0, pushDataBytes: 0, pushAckReceived: 0, pushAckIgnored: 0, statSent: 0,
    pullDataSent: 0, pullAckReceived: 0, pullAckIgnored: 0, pullRespReceived: 0, pullRespBytes: 0,
    pullRespInvalid: 0, downGarbage: 0, txAckSent: 0, txRequested: 0, txSent: 0, txBytes: 0,
    txFailed: 0, txExpired: 0, upGarbage: 0, beaconQueued: 0, beaconSent: 0, beaconRejected: 0, rxBuffered: 0, rxBufferDelivered: 0, pushRetries: 0, pushUnacked: 0,
    pushResolved: 0, pushResolvedAcked: 0, pullResolved: 0, pullResolvedAcked: 0,
    internalErrors: 0, rxUnencodable: 0,
  };
}

/** Percentile of a sorted array (nearest rank). */
function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? null;
}

/** Cap on latency samples kept per interval (memory bound at 8 bytes each). */
const MAX_LATENCY_SAMPLES = 1 << 18;

/** One interval's report: what the stat object and the periodic log entry are made from. */
export interface StatsReport {
  /** Counters accumulated during the interval. */
  interval: CounterSet;
  /** Counters since start. */
  total: CounterSet;
  /** % of PUSH_DATA datagrams (resends included) acknowledged, of those whose fate was known in the interval (0 when none). Never above 100. */
  ackrPercent: number;
  /** % of PULL_DATA acknowledged in the interval. */
  pullAckPercent: number;
  /** Cumulative TX_ACK error counts since start, per code. */
  rejected: Record<TxAckError, number>;
  /** Uplink latency, concentrator receive stamp to PUSH_DATA handed to the socket, µs. */
  uplinkLatencyUs: { count: number; p50: number | null; p99: number | null; max: number | null };
}

/**
 * Counters of the whole forwarder. Loops increment `counters`; every
 * stat_interval `report()` returns the interval's deltas and totals.
 */
export class ForwarderStats {
  /** Cumulative counters, incremented in place by the loops. */
  readonly counters: CounterSet = zeroCounters();
  /** Cumulative rejections per TX_ACK error code. */
  readonly rejected: Record<TxAckError, number> = Object.fromEntries(
    TX_ACK_ERRORS.map((e) => [e, 0]),
  ) as Record<TxAckError, number>;
  /** Exceptions caught by last-resort guards, per handler name, since start. */
  readonly internalErrorsByHandler: Record<string, number> = {};
  private last: CounterSet = zeroCounters();
  private latency = new Float64Array(1024);
  private latencyCount = 0;

  /** Records one uplink's receive-to-send latency, µs. */
  recordUplinkLatency(us: number): void {
    if (this.latencyCount >= MAX_LATENCY_SAMPLES) return;
    if (this.latencyCount === this.latency.length) {
      const bigger = new Float64Array(this.latency.length * 2);
      bigger.set(this.latency);
      this.latency = bigger;
    }
    this.latency[this.latencyCount++] = us;
  }

  /** Records an exception caught by the guard of handler `name` (see hal guard()). */
  recordInternalError(name: string): void {
    this.counters.internalErrors++;
    this.internalErrorsByHandler[name] = (this.internalErrorsByHandler[name] ?? 0) + 1;
  }

  /** Records a TX_ACK error sent to the server. */
  recordRejection(error: TxAckError): void {
    this.rejected[error]++;
  }

  /** Closes the interval: returns its report and starts a new one. */
  report(): StatsReport {
    const total = { ...this.counters };
    const interval = zeroCounters();
    for (const k of Object.keys(total) as (keyof CounterSet)[]) interval[k] = total[k] - this.last[k];
    this.last = total;
    const samples = this.latency.subarray(0, this.latencyCount).sort();
    const uplinkLatencyUs = {
      count: samples.length,
      p50: percentile(samples, 50),
      p99: percentile(samples, 99),
      max: samples.length ? (samples[samples.length - 1] ?? null) : null,
    };
    this.latencyCount = 0;
    const pct = (num: number, den: number) => (den > 0 ? Math.round((1000 * num) / den) / 10 : 0);
    return {
      interval,
      total,
      ackrPercent: pct(interval.pushResolvedAcked, interval.pushResolved),
      pullAckPercent: pct(interval.pullResolvedAcked, interval.pullResolved),
      rejected: { ...this.rejected },
      uplinkLatencyUs,
    };
  }
}

/** Message of the periodic report's log entry (its pretty view is {@link formatStatsReport}). */
export const STATS_REPORT_MSG = 'stats report';

/** The `report` of the periodic `stats report` log entry (forwarder.ts builds it; JSON mode logs it as is). */
export interface StatsReportEntry {
  /** Length of the interval, s (the configured stat_interval; shorter after a SIGUSR1). */
  intervalS: number;
  upstream: {
    rxnb: number; rxok: number; rxBad: number; rxNoCrc: number; rxfw: number; filtered: number; lost: number; payloadBytes: number;
    buffered: number; bufferDelivered: number;
    pushDataSent: number; pushDataBytes: number; pushAckPercent: number; pushAckIgnored: number; pushRetries: number; garbage: number;
    unencodable: number;
    latencyUs: StatsReport['uplinkLatencyUs'];
  };
  downstream: {
    pullDataSent: number; pullAckPercent: number; pullRespReceived: number; pullRespBytes: number; pullRespInvalid: number; garbage: number;
    txRequested: number; txSent: number; txBytes: number; txFailed: number; txExpired: number;
    /** Cumulative TX_ACK errors per code, as Semtech's report keeps its rejection counters. */
    rejectedSinceStart: Record<TxAckError, number>;
  };
  jit: { queued: number };
  /** Exceptions caught by the last-resort guards this interval (hal/guard.ts). */
  internalErrors: number;
  link: Record<string, unknown>;
  gps: string;
  radio?: Record<string, unknown>;
}

/** The report entry of one closed interval. */
export function statsReportEntry(
  r: StatsReport,
  o: { intervalS: number; queued: number; link: Record<string, unknown>; gps: string; radio?: Record<string, unknown>; internalErrors?: number },
): StatsReportEntry {
  const i = r.interval;
  return {
    intervalS: o.intervalS,
    upstream: {
      rxnb: i.rxnb, rxok: i.rxok, rxBad: i.rxBad, rxNoCrc: i.rxNoCrc, rxfw: i.rxfw,
      filtered: i.rxFiltered, lost: i.rxLost, payloadBytes: i.rxPayloadBytes, buffered: i.rxBuffered, bufferDelivered: i.rxBufferDelivered,
      pushDataSent: i.pushDataSent, pushDataBytes: i.pushDataBytes, pushAckPercent: r.ackrPercent,
      pushAckIgnored: i.pushAckIgnored, pushRetries: i.pushRetries, garbage: i.upGarbage, unencodable: i.rxUnencodable, latencyUs: r.uplinkLatencyUs,
    },
    downstream: {
      pullDataSent: i.pullDataSent, pullAckPercent: r.pullAckPercent, pullRespReceived: i.pullRespReceived,
      pullRespBytes: i.pullRespBytes, pullRespInvalid: i.pullRespInvalid, garbage: i.downGarbage,
      txRequested: i.txRequested, txSent: i.txSent, txBytes: i.txBytes, txFailed: i.txFailed,
      txExpired: i.txExpired, rejectedSinceStart: r.rejected,
    },
    jit: { queued: o.queued },
    internalErrors: o.internalErrors ?? 0,
    link: o.link,
    gps: o.gps,
    ...(o.radio ? { radio: o.radio } : {}),
  };
}

const ms1 = (us: number | null) => (us === null ? '–' : `${(us / 1000).toFixed(1)} ms`);

/** The driver's figures in one line: its state, the counters that are not 0, the p50/p99/max of its timings. */
function radioLine(radio: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(radio)) {
    if (k === 'type' || k === 'state' || v === null || v === 0) continue;
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') parts.push(`${k} ${String(v)}`);
    else if (typeof v === 'object' && 'p50' in v) {
      const s = v as { count?: number; p50: number | null; p99: number | null; max: number | null };
      if (s.count !== 0 && s.p50 !== null) parts.push(`${k} p50 ${s.p50} p99 ${String(s.p99)} max ${String(s.max)}`);
    }
  }
  return `${String(radio.type ?? 'radio')} ${String(radio.state ?? '')}${parts.length ? `; ${parts.join(', ')}` : ''}`;
}

/**
 * The report as a short block for a terminal, in the spirit of the Semtech
 * forwarder's `##### ... #####` console report: what was received and
 * forwarded, the server's acknowledgements, the downlinks, GPS and radio.
 */
export function formatStatsReport(e: StatsReportEntry): string {
  const u = e.upstream;
  const d = e.downstream;
  const rejected = Object.entries(d.rejectedSinceStart).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
  const buffered = u.buffered || u.bufferDelivered ? `, ${u.buffered} buffered, ${u.bufferDelivered} delivered from the buffer` : '';
  const rows: [string, string][] = [
    ['RF packets', `${u.rxnb} received (CRC ok ${u.rxok}, bad ${u.rxBad}, none ${u.rxNoCrc}); ${u.rxfw} forwarded (${u.payloadBytes} B), ${u.filtered} filtered, ${u.lost} lost${buffered}`],
    ['PUSH_DATA', `${u.pushDataSent} sent (${u.pushDataBytes} B), ${u.pushAckPercent} % acknowledged${u.pushRetries ? `, ${u.pushRetries} resent` : ''}; uplink latency p50 ${ms1(u.latencyUs.p50)}, p99 ${ms1(u.latencyUs.p99)}`],
    ['PULL_DATA', `${d.pullDataSent} sent, ${d.pullAckPercent} % acknowledged; PULL_RESP ${d.pullRespReceived} received (${d.pullRespBytes} B)${d.pullRespInvalid ? `, ${d.pullRespInvalid} invalid` : ''}`],
    ['downlinks', `${d.txSent} sent (${d.txBytes} B), ${d.txFailed} failed, ${d.txExpired} expired, ${e.jit.queued} queued; rejected since start: ${rejected || 'none'}`],
    ['GPS', e.gps],
  ];
  if (u.garbage || d.garbage) rows.push(['garbage', `${u.garbage} upstream, ${d.garbage} downstream datagrams ignored`]);
  if (e.radio) rows.push(['radio', radioLine(e.radio)]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return [`##### stats report, last ${e.intervalS} s #####`, ...rows.map(([k, v]) => `    ${k.padEnd(w)}  ${v}`), '##### END #####'].join('\n');
}
