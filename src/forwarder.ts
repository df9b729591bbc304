import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { guard, type Concentrator } from '../hal/index.js';
import type { ForwarderConfig } from './config/index.js';
import { Downstream } from './downstream.js';
import { ServerLink, type LookupFn, type ServerLinkCounters } from './net/server-link.js';
import { encodeStat, makeStat } from './protocol/index.js';
import { BeaconService } from './beacon.js';
import { Regulation } from './regulation.js';
import { UplinkBuffer } from './uplink-buffer.js';
import type { GpsService } from './gps.js';
import { Monitor } from './monitor/monitor.js';
import { VERSION } from './version.js';
import type { CounterSet } from './stats.js';
import type { TxAckError } from './protocol/index.js';
import { ForwarderStats, STATS_REPORT_MSG, statsReportEntry, type StatsReport } from './stats.js';
import { TxScheduler } from './tx-scheduler.js';
import { ServerUplink } from './server-uplink.js';
import { Upstream } from './upstream.js';
import { LnsBackend } from './lns/lns-backend.js';
import { CupsClient } from './lns/cups-client.js';
import { id6 } from './lns/messages.js';
import { boardChannelsHz } from './lns/plan-board.js';
import type { UplinkBackend } from './backend.js';

/** Options of {@link Forwarder}. */
export interface ForwarderOptions {
  config: ForwarderConfig;
  concentrator: Concentrator;
  log: Logger;
  /** DNS resolver; tests inject one to simulate a network that is not ready. */
  lookup?: LookupFn;
  /** Wall clock for the stat `time` field, ms since the Unix epoch. */
  wallClockMs?: () => number;
  /** The GPS (time reference, position), when one is configured. */
  gps?: GpsService;
  /** Clock of the uplink buffer's age limit, ms (tests simulate long outages). */
  bufferClockMs?: () => number;
  /** Back-off of the LNS reconnections, s (tests; default LNS_BACKOFF_S). */
  lnsBackoffS?: readonly number[];
  /** Overrides the CUPS delay after a failure or an update (tests; default 60 s), s. */
  cupsRetryS?: number;
}

/**
 * The packet forwarder: one concentrator, one network server, the upstream and
 * downstream loops, the JIT scheduler and the periodic stats report.
 *
 * Events: 'report' (StatsReport) after each stat interval; 'autoquit'.
 */
export class Forwarder extends EventEmitter {
  readonly stats = new ForwarderStats();
  /** The first UDP server's link (see `links`); undefined when only LNS servers are configured. */
  readonly link: ServerLink;
  /** One backend per LNS server (`lns_conf`). */
  readonly lnsBackends: LnsBackend[];
  /** The CUPS client of each lns_conf entry (null: its directory names no CUPS server). */
  readonly cups: (CupsClient | null)[];
  /** One link per enabled server. */
  readonly links: ServerLink[];
  /** host:port of each server, in `links` order. */
  readonly serverNames: string[];
  /** Each server's uplink side. */
  readonly uplinks: ServerUplink[];
  /** Each server's downlink side (those with downlinks on). */
  readonly downstreams: Downstream[];
  readonly upstream: Upstream;
  readonly downstream: Downstream;
  readonly scheduler: TxScheduler;
  readonly monitor: Monitor;
  /** The first server's uplink buffer (buffer_conf), or null. */
  readonly uplinkBuffer: UplinkBuffer | null;
  /** EIRP limits and duty cycles of the configured region. */
  readonly regulation: Regulation;
  /** Class B beacons (with a GPS and beacon_period > 0). */
  readonly beacons: BeaconService | null;
  /** Wall-clock ms at start(), null before. */
  startedAtMs: number | null = null;
  /** The last closed stat interval. */
  lastReport: StatsReport | null = null;
  /** Wall-clock ms when the last interval closed, null before the first. */
  private lastReportAtMs: number | null = null;
  private radioUp = false;
  private statTimer: NodeJS.Timeout | null = null;
  private readonly log: Logger;
  private started = false;

  constructor(private readonly o: ForwarderOptions) {
    super();
    const g = o.config.gateway;
    this.log = o.log;
    this.monitor = new Monitor({
      capacity: o.config.api?.packetLogSize ?? 200,
      stats: this.stats,
      queueDepth: () => this.scheduler.jit.size,
      wallClockMs: o.wallClockMs,
      processMetrics: o.config.api?.enable !== false,
    });
    // With the status API off nothing reads the packet log or the metrics: the loops skip recording.
    const recording = o.config.api?.enable === false ? undefined : this.monitor;
    const bc = o.config.buffer;
    const lnsConf = o.config.lns ?? [];
    const servers = g.servers?.length || lnsConf.length ? g.servers : [{ address: g.serverAddress, portUp: g.servPortUp, portDown: g.servPortDown, upEnabled: true, downEnabled: true }];
    this.links = servers.map(
      (sv, i) => new ServerLink({
        host: sv.address, portUp: sv.portUp, portDown: sv.portDown, log: o.log.child({ module: 'link', server: i }), lookup: o.lookup,
        onInternalError: (n) => this.stats.recordInternalError(n),
      }),
    );
    this.link = this.links[0]!;
    this.serverNames = servers.map((sv) => `${sv.address}:${sv.portUp}`);
    this.uplinks = servers.flatMap((sv, i) => {
      if (!sv.upEnabled) return [];
      const buffer = bc?.enable ? new UplinkBuffer({ maxUplinks: bc.maxUplinks, maxBytes: bc.maxBytes, maxAgeMs: bc.maxAgeS * 1000 }, o.bufferClockMs) : null;
      return [
        new ServerUplink({
          name: this.serverNames[i]!, link: this.links[i]!, gatewayEui: g.gatewayEui, pushTimeoutMs: g.pushTimeoutMs, stats: this.stats, primary: i === 0,
          log: o.log.child({ module: 'upstream', server: i }), monitor: recording,
          buffer: buffer
            ? { buffer, retries: bc.pushRetries, outageAfterUnacked: bc.outageAfterUnacked, probeIntervalMs: bc.probeIntervalMs, file: bc.file ? (i === 0 ? bc.file : `${bc.file}.${i}`) : null }
            : undefined,
        }),
      ];
    });
    this.uplinkBuffer = this.uplinks[0]?.buffer ?? null;
    // What /metrics reads at a scrape: the same figures as /api/status, per server (read lazily).
    this.monitor.setMetricsSource(() => {
      const st = this.status();
      const gps = this.o.gps?.status();
      return {
        version: st.version,
        radio: { type: st.radio.type, up: st.radio.up },
        servers: this.serverNames.map((name, i) => {
          const u = this.uplinks.find((x) => x.name === name);
          const d = this.downstreams.find((x) => x.name === name);
          const b = u?.buffer;
          const file = u?.journalStatus ?? null;
          return {
            name, answering: st.servers[i]?.answering ?? false, up: u ? { ...u.counters } : null, down: d ? { ...d.counters } : null,
            buffer: b ? { uplinks: b.length, bytes: b.sizeBytes, dropped: { ...b.dropped }, fileOk: file ? file.ok : null } : null,
          };
        }),
        gps: gps ? { fix: gps.fix.fix, valid: gps.reference.valid, precise: gps.reference.precise } : null,
        bands: st.regulation.bands,
        lns: this.lnsBackends.map((b, i) => ({ name: b.name, connected: b.state === 'connected', counters: { ...b.counters }, cups: this.cups[i] ? { ...this.cups[i]!.counters } : null })),
      };
    });
    this.regulation = new Regulation(g.region === 'auto' ? 'none' : g.region);
    this.scheduler = new TxScheduler({
      concentrator: o.concentrator,
      board: o.config.board,
      stats: this.stats,
      log: o.log.child({ module: 'jit' }),
      monitor: recording,
      gpsLocked: o.gps ? () => o.gps!.locked() : undefined,
      gpsToCount: o.gps ? (ms) => o.gps!.gpsToCount(ms) : undefined,
      regulation: this.regulation,
      clockMs: o.wallClockMs,
    });
    let radioBoard = o.config.board;
    this.lnsBackends = lnsConf.map((l, i) => new LnsBackend({
      name: l.creds?.uri ?? l.stationDir, creds: l.creds, gatewayEui: g.gatewayEui, scheduler: this.scheduler, stats: this.stats, primary: this.uplinks.length === 0 && i === 0,
      log: o.log.child({ module: 'lns', server: l.creds?.uri ?? l.stationDir }), radioChannelsHz: listeningChannelsHz(o.config),
      keep: bc?.enable ? { maxUplinks: bc.maxUplinks, maxBytes: bc.maxBytes, maxAgeMs: bc.maxAgeS * 1000 } : null,
      keepFile: bc?.enable && bc.file ? `${bc.file}.lns${i}` : null,
      rxTime: o.gps ? (c) => o.gps!.rxTime(c) : undefined, counterUs: () => o.concentrator.counterUs(), wallClockMs: o.wallClockMs, version: VERSION, backoffS: o.lnsBackoffS,
      // The server's plan replaces the local one only where nothing else relies on the local one: no UDP server, one LNS.
      radio: this.links.length === 0 && i === 0 && lnsConf.length === 1 && o.concentrator.reconfigure && g.radio !== 'sx127x'
        ? { board: () => radioBoard, reconfigure: async (b) => { await o.concentrator.reconfigure!(b); radioBoard = b; } }
        : undefined,
      onRefused: () => this.cups[i]?.lnsRefused(),
      onConnected: () => this.cups[i]?.lnsUp(),
    }));
    // CUPS for the station directories that name one: new tc.* files reconnect their LNS.
    this.cups = lnsConf.map((l, i) => (l.cups
      ? new CupsClient({
        dir: l.stationDir, router: id6(g.gatewayEui), version: VERSION, log: o.log.child({ module: 'cups', dir: l.stationDir }), intervalS: l.cupsIntervalS,
        retryS: o.cupsRetryS, onTcCredentials: (c) => this.lnsBackends[i]!.setCredentials(c), onInternalError: (n) => this.stats.recordInternalError(n),
        lnsConnected: () => this.lnsBackends[i]!.state === 'connected',
      })
      : null));
    const backends: UplinkBackend[] = [...this.uplinks, ...this.lnsBackends];
    this.upstream = new Upstream({
      concentrator: o.concentrator,
      servers: backends,
      forward: { valid: g.forwardCrcValid, error: g.forwardCrcError, disabled: g.forwardCrcDisabled },
      stats: this.stats,
      log: o.log.child({ module: 'upstream' }),
      monitor: recording,
      rxTime: o.gps ? (c) => o.gps!.rxTime(c) : undefined,
    });
    let quit = 0;
    this.downstreams = servers.flatMap((sv, i) =>
      sv.downEnabled
        ? [
            new Downstream({
              link: this.links[i]!, gatewayEui: g.gatewayEui, keepaliveIntervalS: g.keepaliveIntervalS, autoquitThreshold: g.autoquitThreshold,
              scheduler: this.scheduler, stats: this.stats, log: o.log.child({ module: 'downstream', server: i }), monitor: recording, serverName: this.serverNames[i]!,
              // With several servers, quit only when every one of them stopped answering.
              onAutoquit: () => {
                if (++quit === this.downstreams.length) this.emit('autoquit');
              },
            }),
          ]
        : [],
    );
    this.downstream = this.downstreams[0]!;
    if (recording) o.concentrator.onTxStart?.((e) => recording.txStart(e));
    o.concentrator.onCounterRestart?.(() => this.counterRestarted());
    this.beacons = o.gps && g.beaconPeriodS > 0
      ? new BeaconService({
        gateway: g, gps: o.gps, scheduler: this.scheduler, concentrator: o.concentrator, log: o.log.child({ module: 'beacon' }),
        onInternalError: (n) => this.stats.recordInternalError(n),
      })
      : null;
  }

  /**
   * The radio's counter restarted (SX1301 re-initialised after a fault, or
   * restarted for an LNS plan): what was timed on the old counter goes, with
   * one line saying what: queued downlinks (each with its own line), the GPS
   * time reference (valid again after the next PPS pairs), LNS xtime sessions.
   */
  private counterRestarted(): void {
    const dropped = this.scheduler.counterRestarted();
    this.beacons?.counterRestarted();
    this.o.gps?.reference.counterRestarted();
    for (const b of this.lnsBackends) b.counterRestarted();
    this.log[dropped > 0 ? 'warn' : 'info'](
      { droppedDownlinks: dropped, gpsReferenceDropped: this.o.gps !== undefined, lnsSessionsRenewed: this.lnsBackends.length },
      'radio counter restarted: downlinks queued on the old counter dropped, GPS time reference and LNS xtime sessions start anew',
    );
  }

  /** Starts the radio, then the network loops. Rejects if the radio cannot start. */
  async start(): Promise<void> {
    const g = this.o.config.gateway;
    await this.o.concentrator.start();
    this.started = true;
    this.radioUp = true;
    this.startedAtMs = this.o.wallClockMs?.() ?? Date.now();
    await Promise.all(this.links.map((l) => l.start()));
    this.upstream.start();
    for (const c of this.cups) c?.start();
    for (const d of this.downstreams) d.start();
    this.beacons?.start();
    this.statTimer = setInterval(guard(this.log, (n) => this.stats.recordInternalError(n), 'stat timer', () => this.report()), g.statIntervalS * 1000);
    this.log.info(
      { gatewayId: g.gatewayId, gatewayIdFrom: g.gatewayIdFrom, server: this.links.length ? g.serverAddress : null, portUp: g.servPortUp, portDown: g.servPortDown, lns: this.lnsBackends.map((b) => b.name), radio: g.radio },
      'forwarder started',
    );
  }

  /** Stops the loops and the radio. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.statTimer) clearInterval(this.statTimer);
    this.statTimer = null;
    this.beacons?.stop();
    this.upstream.stop();
    for (const d of this.downstreams) d.stop();
    this.scheduler.stop();
    for (const l of this.links) l.stop();
    for (const c of this.cups) c?.stop();
    if (this.started) {
      this.started = false;
      this.radioUp = false;
      await this.o.concentrator.stop();
      this.log.info('forwarder stopped');
    }
  }

  /**
   * Closes a stat interval: queues the stat object for the server and logs the
   * report (upstream, downstream with rejections, JIT) as one entry.
   */
  report(): StatsReport {
    const g = this.o.config.gateway;
    const r = this.stats.report();
    const now = this.o.wallClockMs?.() ?? Date.now();
    const location = g.fakeGps ? { lati: g.refLatitude, long: g.refLongitude, alti: g.refAltitudeM } : this.o.gps?.location();
    const stat = makeStat(
      now,
      {
        rxnb: r.interval.rxnb,
        rxok: r.interval.rxok,
        rxfw: r.interval.rxfw,
        ackr: r.ackrPercent,
        dwnb: r.interval.pullRespReceived,
        txnb: r.interval.txSent,
      },
      location,
    );
    this.upstream.queueStat(encodeStat(stat));
    const entry = statsReportEntry(r, {
      intervalS: Math.round((now - (this.lastReportAtMs ?? this.startedAtMs ?? now)) / 1000),
      queued: this.scheduler.jit.size,
      link: this.link ? { server: this.link.serverAddress, ...this.link.counters } : { server: null },
      gps: this.o.gps ? this.gpsSummary() : g.fakeGps ? 'fake coordinates' : 'disabled',
      radio: this.o.concentrator.radioStats?.(),
      internalErrors: r.interval.internalErrors,
    });
    this.lastReportAtMs = now;
    // One entry; in pretty mode log.ts shows it as a short block (formatStatsReport).
    this.log.info({ report: entry }, STATS_REPORT_MSG);
    this.lastReport = r;
    this.emit('report', r);
    return r;
  }

  /**
   * Exceptions caught by the last-resort guards of socket, timer and serial
   * callbacks since start: each one is a bug that was logged and survived.
   * `forwarder` is the loops' (per handler in `byHandler`), `radio` the
   * concentrator's own guards, `gps` the GPS service's and its serial port's.
   */
  internalErrors(): ForwarderStatus['internalErrors'] {
    const forwarder = this.stats.counters.internalErrors;
    const radio = this.o.concentrator.internalErrors?.() ?? 0;
    const gps = (this.o.gps?.counters.internalErrors ?? 0) + (this.o.gps?.source?.counters['internalErrors'] ?? 0);
    return { total: forwarder + radio + gps, forwarder, radio, gps, byHandler: { ...this.stats.internalErrorsByHandler } };
  }

  /** One line: fix, satellites, time reference. */
  gpsSummary(): string {
    const st = this.o.gps!.status();
    const ref = st.reference;
    const time = ref.valid ? `time reference valid${ref.coarse ? ' (coarse, no PPS)' : ''}, ${ref.ageS!.toFixed(1)} s old, crystal ${ref.xtalErrPpm.toFixed(2)} ppm` : 'no time reference';
    const serial = st.serial && st.serial.state !== 'open' ? `serial port ${st.serial.state}${st.serial.lastError ? ` (${st.serial.lastError})` : ''}; ` : '';
    return `${serial}${st.fix.fix ? `fix, ${st.fix.satellites ?? '?'} satellites` : 'no fix'}; ${time}; last PPS ${st.lastPpsAgeS === null ? 'never' : `${st.lastPpsAgeS.toFixed(1)} s ago`}`;
  }

  /**
   * What the gateway is doing, for `GET /api/status` and `pktfwd status`.
   * The server counts as answering when a PULL_ACK came within three
   * keepalive intervals (at least 30 s), or a PUSH_ACK within three stat
   * intervals.
   */
  status(): ForwarderStatus {
    const g = this.o.config.gateway;
    const now = this.o.wallClockMs?.() ?? Date.now();
    const age = (ms: number | null) => (ms === null ? null : roundTo(Math.max(0, (now - ms) / 1000), 1));
    const m = this.monitor;
    const servers = this.links.map((link, i) => {
      const name = this.serverNames[i]!;
      const a = m.acks.get(name);
      const pullAge = age(a?.pullMs ?? null);
      const pushAge = age(a?.pushMs ?? null);
      const answering = (pullAge !== null && pullAge <= Math.max(3 * g.keepaliveIntervalS, 30)) || (pushAge !== null && pushAge <= Math.max(3 * g.statIntervalS, 30));
      const up = this.uplinks.find((u) => u.name === name);
      const sv = g.servers?.[i];
      return {
        host: sv?.address ?? g.serverAddress, address: link.serverAddress, portUp: sv?.portUp ?? g.servPortUp, portDown: sv?.portDown ?? g.servPortDown, answering,
        lastPushAckAgeS: pushAge, lastPullAckAgeS: pullAge, lastPushRttMs: a?.pushRttMs ?? null, lastPullRttMs: a?.pullRttMs ?? null,
        pushAckPercent: i === 0 ? (this.lastReport?.ackrPercent ?? null) : null, pullAckPercent: i === 0 ? (this.lastReport?.pullAckPercent ?? null) : null,
        uplink: up ? { outage: up.outage, buffered: up.buffered, counters: { ...up.counters } } : null,
        link: { ...link.counters },
      };
    });
    const radioStats = this.o.concentrator.radioStats?.() ?? {};
    const state = typeof radioStats.state === 'string' ? radioStats.state : this.radioUp ? 'running' : 'stopped';
    const r = this.lastReport;
    return {
      version: VERSION,
      startedAt: this.startedAtMs === null ? null : new Date(this.startedAtMs).toISOString(),
      uptimeS: this.startedAtMs === null ? 0 : Math.round((now - this.startedAtMs) / 1000),
      gatewayId: g.gatewayId.toUpperCase(),
      gatewayIdFrom: g.gatewayIdFrom,
      radio: { type: g.radio, state, up: this.radioUp && state !== 'down' && state !== 'off', stats: radioStats },
      servers,
      time: { gps: this.o.gps ? this.gpsSummary() : g.fakeGps ? 'fake coordinates' : 'disabled', ...(this.o.gps ? { detail: roundedGpsStatus(this.o.gps.status()) } : {}) },
      counters: { total: { ...this.stats.counters }, lastInterval: r ? r.interval : null, statIntervalS: g.statIntervalS, rejected: { ...this.stats.rejected } },
      beacons: {
        enabled: this.beacons !== null, periodS: g.beaconPeriodS, queuedAhead: this.beacons?.queuedAhead ?? 0,
        queued: this.stats.counters.beaconQueued, sent: this.stats.counters.beaconSent, rejected: this.stats.counters.beaconRejected,
      },
      queue: { depth: this.scheduler.jit.size },
      lns: this.lnsBackends.map((b, i) => ({ ...b.status(), cups: this.cups[i]?.status() ?? null })),
      internalErrors: this.internalErrors(),
      regulation: this.regulation.status(this.o.wallClockMs?.() ?? Date.now()),
      buffer: {
        enabled: this.uplinkBuffer !== null, outage: this.upstream.outage, uplinks: this.uplinkBuffer?.length ?? 0, bytes: this.uplinkBuffer?.sizeBytes ?? 0,
        added: this.uplinkBuffer?.added ?? 0, delivered: this.uplinkBuffer?.delivered ?? 0, dropped: { ...(this.uplinkBuffer?.dropped ?? { count: 0, bytes: 0, age: 0, poison: 0 }) },
        file: this.uplinks[0]?.journalStatus ?? null,
      },
    };
  }
}

/** `x` to `decimals` decimals, null kept. */
function roundTo<T extends number | null>(x: T, decimals: number): T {
  if (x === null) return x;
  const f = 10 ** decimals;
  return (Math.round((x as number) * f) / f) as T;
}

/**
 * The GPS status with its figures at the precision they mean: ages to 0.1 s,
 * the crystal error to 0.001 ppm, the position to 5 decimals (about 1 m, as
 * the stat object's lati/long) and the altitude to 0.1 m.
 */
function roundedGpsStatus(st: ReturnType<GpsService['status']>): ReturnType<GpsService['status']> {
  return {
    ...st,
    fix: { ...st.fix, lat: roundTo(st.fix.lat, 5), lon: roundTo(st.fix.lon, 5), altM: roundTo(st.fix.altM, 1) },
    reference: { ...st.reference, ageS: roundTo(st.reference.ageS, 1), xtalErrPpm: roundTo(st.reference.xtalErrPpm, 3) },
    lastPpsAgeS: roundTo(st.lastPpsAgeS, 1),
  };
}

/** `GET /api/status`. */
export interface ForwarderStatus {
  version: string;
  startedAt: string | null;
  uptimeS: number;
  gatewayId: string;
  gatewayIdFrom: string;
  radio: { type: string; state: string; up: boolean; stats: Record<string, unknown> };
  servers: {
    host: string; address: string | null; portUp: number; portDown: number; answering: boolean;
    lastPushAckAgeS: number | null; lastPullAckAgeS: number | null; lastPushRttMs: number | null; lastPullRttMs: number | null;
    pushAckPercent: number | null; pullAckPercent: number | null;
    uplink: { outage: boolean; buffered: number; counters: Record<string, number> } | null;
    /** The sockets' counters: datagrams from foreign addresses, send errors, resolution failures. */
    link: ServerLinkCounters;
  }[];
  time: { gps: string; detail?: ReturnType<GpsService['status']> };
  counters: { total: CounterSet; lastInterval: CounterSet | null; statIntervalS: number; rejected: Record<TxAckError, number> };
  beacons: { enabled: boolean; periodS: number; queuedAhead: number; queued: number; sent: number; rejected: number };
  queue: { depth: number };
  /** Each LNS server: state, router, muxs, round trip, last message, counters. */
  lns: Record<string, unknown>[];
  internalErrors: { total: number; forwarder: number; radio: number; gps: number; byHandler: Record<string, number> };
  regulation: ReturnType<Regulation['status']>;
  buffer: {
    enabled: boolean; outage: boolean; uplinks: number; bytes: number; added: number; delivered: number;
    dropped: { count: number; bytes: number; age: number; poison: number };
    /** The journal (buffer_conf.file): whether it is recording, and why not; null without a file. */
    file: ServerUplink['journalStatus'];
  };
}

/** The uplink channels the radio listens on, Hz (the SX127x's one, or the board's enabled IF channels). */
function listeningChannelsHz(c: ForwarderOptions['config']): number[] {
  if (c.gateway.radio === 'sx127x' && c.sx127x) return [c.sx127x.freqHz];
  return boardChannelsHz(c.board);
}
