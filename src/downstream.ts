import type { TxAckError } from './protocol/tx-ack-error.js';
import type { Logger } from 'pino';
import { WarnLimiter } from '../hal/log-limit.js';
import { guard } from '../hal/index.js';
import { decodePacket, encodePacket, encodeTxAckBody, parsePullRespBody } from './protocol/index.js';
import type { ServerLink } from './net/server-link.js';
import { TokenSource } from './net/tokens.js';
import type { Monitor } from './monitor/monitor.js';
import type { ForwarderStats } from './stats.js';
import type { TxScheduler } from './tx-scheduler.js';

/** Options of {@link Downstream}. */
export interface DownstreamOptions {
  link: ServerLink;
  gatewayEui: Buffer;
  keepaliveIntervalS: number;
  /** Consecutive unacknowledged PULL_DATA before a clean exit; 0 = never. */
  autoquitThreshold: number;
  scheduler: TxScheduler;
  stats: ForwarderStats;
  log: Logger;
  /** Called once when autoquit_threshold is reached. */
  onAutoquit: () => void;
  tokens?: TokenSource;
  /** Told of each PULL_ACK (round trip) for the status API. */
  monitor?: Monitor;
  /** host:port, for the monitor. */
  serverName?: string;
}

/** One server's downstream counters. */
export interface DownstreamCounters {
  pullDataSent: number; pullAckReceived: number; pullAckIgnored: number; pullResolved: number; pullResolvedAcked: number;
  pullRespReceived: number; pullRespBytes: number; pullRespInvalid: number; downGarbage: number; txAckSent: number;
}

/**
 * The downstream loop: PULL_DATA keepalives (which keep the NAT path open for
 * the server), PULL_ACK matching, and PULL_RESP → scheduler → TX_ACK.
 *
 * TX_ACK policy: every well-formed PULL_RESP gets exactly one TX_ACK: a bare
 * 12-byte header on success, `{"txpk_ack":{"error":CODE}}` on rejection.
 * A malformed PULL_RESP (bad JSON, no txpk, a mandatory field missing or
 * invalid) gets none, as in the reference [PF4, constants.md §4]: no TX_ACK
 * code means "malformed", and a made-up one is read as UNKNOWN_ERROR by The
 * Things Stack and dropped by ChirpStack (server-rules.md). It is logged with
 * its reason and counted (pullRespInvalid).
 */
export class Downstream {
  /** This server's downstream counters (the global ones in stats add up every server's). */
  readonly counters: DownstreamCounters = {
    pullDataSent: 0, pullAckReceived: 0, pullAckIgnored: 0, pullResolved: 0, pullResolvedAcked: 0,
    pullRespReceived: 0, pullRespBytes: 0, pullRespInvalid: 0, downGarbage: 0, txAckSent: 0,
  };

  /** host:port of its server. */
  get name(): string {
    return this.o.serverName ?? 'server';
  }

  private inc(key: keyof DownstreamCounters, n = 1): void {
    this.counters[key] += n;
    this.o.stats.counters[key] += n;
  }

  private readonly tokens: TokenSource;
  private readonly log: Logger;
  /** Warnings any sender can cause, rate-limited per message. */
  private readonly warnLimit: WarnLimiter;
  private timer: NodeJS.Timeout | null = null;
  private pullToken: number | null = null;
  private pullAcked = false;
  private pullSentAt = 0;
  /** Consecutive PULL_DATA without a matching PULL_ACK. */
  private unacked = 0;
  private quit = false;
  private readonly keepaliveGuarded: () => void;

  constructor(private readonly o: DownstreamOptions) {
    this.tokens = o.tokens ?? new TokenSource();
    this.log = o.log;
    this.warnLimit = new WarnLimiter(this.log);
    const count = (name: string) => o.stats.recordInternalError(name);
    // onDatagram is async: the guard also catches its rejection, which would otherwise end the process.
    o.link.on('down-datagram', guard(this.log, count, 'downstream datagram', (buf: Buffer) => this.onDatagram(buf)));
    // Open the downlink path as soon as the server name resolves (boot before DNS).
    o.link.on('resolved', guard(this.log, count, 'downstream resolved', () => {
      if (this.timer && this.o.stats.counters.pullDataSent === 0) this.keepalive();
    }));
    this.keepaliveGuarded = guard(this.log, count, 'keepalive timer', () => this.keepalive());
  }

  /** Sends the first PULL_DATA now, then one every keepalive interval. */
  start(): void {
    this.timer = setInterval(this.keepaliveGuarded, this.o.keepaliveIntervalS * 1000);
    this.keepalive();
  }

  /** Stops the keepalives. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private keepalive(): void {
    const th = this.o.autoquitThreshold;
    if (th > 0 && this.unacked >= th && !this.quit) {
      this.quit = true;
      this.log.warn({ unacked: this.unacked, threshold: th }, 'autoquit: too many PULL_DATA without PULL_ACK');
      this.o.onAutoquit();
      return;
    }
    const token = this.tokens.next();
    const sent = this.o.link.sendDown(encodePacket({ type: 'PULL_DATA', token, gatewayEui: this.o.gatewayEui }));
    if (!sent) {
      this.log.debug('PULL_DATA not sent: server address not resolved');
      return;
    }
    // The previous PULL_DATA's fate is decided now: replaced without its ack.
    if (this.pullSentAt !== 0 && !this.pullAcked) this.inc('pullResolved');
    this.pullToken = token;
    this.pullSentAt = performance.now();
    this.pullAcked = false;
    this.unacked++;
    this.inc('pullDataSent');
  }

  private async onDatagram(buf: Buffer): Promise<void> {
    const r = decodePacket(buf);
    if (!r.ok) {
      this.inc('downGarbage');
      this.warnLimit.warn({ reason: r.reason, bytes: buf.length }, 'downstream datagram ignored');
      return;
    }
    const p = r.packet;
    if (p.type === 'PULL_ACK') {
      if (p.token === this.pullToken && !this.pullAcked) {
        this.pullAcked = true;
        this.unacked = 0;
        this.inc('pullAckReceived');
        this.inc('pullResolved');
        this.inc('pullResolvedAcked');
        this.o.monitor?.pullAck(performance.now() - this.pullSentAt, this.o.serverName ?? 'server');
      } else {
        this.inc('pullAckIgnored');
        this.log.debug({ token: p.token, expected: this.pullToken, duplicate: p.token === this.pullToken }, 'PULL_ACK ignored');
      }
      return;
    }
    if (p.type !== 'PULL_RESP') {
      this.inc('downGarbage');
      this.warnLimit.warn({ type: p.type }, 'unexpected packet type on downstream socket');
      return;
    }
    const parsed = parsePullRespBody(p.body);
    if (!parsed.ok) {
      this.inc('pullRespInvalid');
      this.warnLimit.warn({ token: p.token, reason: parsed.reason }, 'PULL_RESP rejected, no TX_ACK');
      return;
    }
    this.inc('pullRespReceived');
    this.inc('pullRespBytes', buf.length);
    for (const w of parsed.request.warnings) this.warnLimit.warn({ token: p.token, warning: w }, 'PULL_RESP accepted with a warning');
    let outcome: { error: TxAckError | null; powerWarnDbm?: number };
    try {
      outcome = await this.o.scheduler.schedule(parsed.request, p.token);
    } catch (err) {
      // A radio fault while reading the counter: the request is lost; tell the server.
      this.log.error({ token: p.token, err: (err as Error).message, txAck: 'COLLISION_PACKET' }, 'downlink could not be scheduled');
      outcome = { error: 'COLLISION_PACKET' };
    }
    const ack = encodePacket({ type: 'TX_ACK', token: p.token, gatewayEui: this.o.gatewayEui, body: encodeTxAckBody(outcome.error, outcome.powerWarnDbm) });
    if (this.o.link.sendDown(ack)) this.inc('txAckSent');
  }
}
