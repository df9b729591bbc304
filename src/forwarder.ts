import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Concentrator } from '../hal/index.js';
import type { ForwarderConfig } from './config/index.js';
import { Downstream } from './downstream.js';
import { ServerLink, type LookupFn } from './net/server-link.js';
import { encodeStat, makeStat } from './protocol/index.js';
import { ForwarderStats, type StatsReport } from './stats.js';
import { TxScheduler } from './tx-scheduler.js';
import { Upstream } from './upstream.js';

/** Options of {@link Forwarder}. */
export interface ForwarderOptions {
  config: ForwarderConfig;
  concentrator: Concentrator;
  log: Logger;
  /** DNS resolver; tests inject one to simulate a network that is not ready. */
  lookup?: LookupFn;
  /** Wall clock for the stat `time` field, ms since the Unix epoch. */
  wallClockMs?: () => number;
}

/**
 * The packet forwarder: one concentrator, one network server, the upstream and
 * downstream loops, the JIT scheduler and the periodic stats report.
 *
 * Events: 'report' (StatsReport) after each stat interval; 'autoquit'.
 */
export class Forwarder extends EventEmitter {
  readonly stats = new ForwarderStats();
  readonly link: ServerLink;
  readonly upstream: Upstream;
  readonly downstream: Downstream;
  readonly scheduler: TxScheduler;
  private statTimer: NodeJS.Timeout | null = null;
  private readonly log: Logger;
  private started = false;

  constructor(private readonly o: ForwarderOptions) {
    super();
    const g = o.config.gateway;
    this.log = o.log;
    this.link = new ServerLink({
      host: g.serverAddress,
      portUp: g.servPortUp,
      portDown: g.servPortDown,
      log: o.log.child({ module: 'link' }),
      lookup: o.lookup,
    });
    this.upstream = new Upstream({
      concentrator: o.concentrator,
      link: this.link,
      gatewayEui: g.gatewayEui,
      forward: { valid: g.forwardCrcValid, error: g.forwardCrcError, disabled: g.forwardCrcDisabled },
      pushTimeoutMs: g.pushTimeoutMs,
      stats: this.stats,
      log: o.log.child({ module: 'upstream' }),
    });
    this.scheduler = new TxScheduler({
      concentrator: o.concentrator,
      board: o.config.board,
      stats: this.stats,
      log: o.log.child({ module: 'jit' }),
    });
    this.downstream = new Downstream({
      link: this.link,
      gatewayEui: g.gatewayEui,
      keepaliveIntervalS: g.keepaliveIntervalS,
      autoquitThreshold: g.autoquitThreshold,
      scheduler: this.scheduler,
      stats: this.stats,
      log: o.log.child({ module: 'downstream' }),
      onAutoquit: () => this.emit('autoquit'),
    });
  }

  /** Starts the radio, then the network loops. Rejects if the radio cannot start. */
  async start(): Promise<void> {
    const g = this.o.config.gateway;
    await this.o.concentrator.start();
    this.started = true;
    await this.link.start();
    this.upstream.start();
    this.downstream.start();
    this.statTimer = setInterval(() => this.report(), g.statIntervalS * 1000);
    this.log.info(
      { gatewayId: g.gatewayId, gatewayIdFrom: g.gatewayIdFrom, server: g.serverAddress, portUp: g.servPortUp, portDown: g.servPortDown, radio: g.radio },
      'forwarder started',
    );
    if (g.gatewayId === 'aa555a0000000000') {
      this.log.warn({ gatewayId: g.gatewayId }, 'gateway_ID is Semtech\'s example ID, shared by many gateways: set "auto" or your own EUI');
    }
  }

  /** Stops the loops and the radio. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.statTimer) clearInterval(this.statTimer);
    this.statTimer = null;
    this.upstream.stop();
    this.downstream.stop();
    this.scheduler.stop();
    this.link.stop();
    if (this.started) {
      this.started = false;
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
    const location = g.fakeGps ? { lati: g.refLatitude, long: g.refLongitude, alti: g.refAltitudeM } : undefined;
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
    const i = r.interval;
    this.log.info(
      {
        report: {
          upstream: {
            rxnb: i.rxnb, rxok: i.rxok, rxBad: i.rxBad, rxNoCrc: i.rxNoCrc, rxfw: i.rxfw,
            filtered: i.rxFiltered, lost: i.rxLost, payloadBytes: i.rxPayloadBytes,
            pushDataSent: i.pushDataSent, pushDataBytes: i.pushDataBytes, pushAckPercent: r.ackrPercent,
            pushAckIgnored: i.pushAckIgnored, garbage: i.upGarbage, latencyUs: r.uplinkLatencyUs,
          },
          downstream: {
            pullDataSent: i.pullDataSent, pullAckPercent: r.pullAckPercent, pullRespReceived: i.pullRespReceived,
            pullRespBytes: i.pullRespBytes, pullRespInvalid: i.pullRespInvalid, garbage: i.downGarbage,
            txRequested: i.txRequested, txSent: i.txSent, txBytes: i.txBytes, txFailed: i.txFailed,
            txExpired: i.txExpired, rejectedSinceStart: r.rejected,
          },
          jit: { queued: this.scheduler.jit.size },
          link: { server: this.link.serverAddress, ...this.link.counters },
          gps: g.fakeGps ? 'fake coordinates' : 'disabled',
          ...(this.o.concentrator.radioStats ? { radio: this.o.concentrator.radioStats() } : {}),
        },
      },
      'stats report',
    );
    this.emit('report', r);
    return r;
  }
}
