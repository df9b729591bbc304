/**
 * The LoRa Basics Station LNS protocol as a forwarder backend: discovery
 * (`/router-info`), the muxs WebSocket, `version` → `router_config`,
 * uplinks as `updf`/`jreq`/`propdf` (lns-uplinks.ts), `dnmsg` through the shared TX scheduler
 * answered by `dntxed`, `timesync`, `getxtime`; reconnect with back-off and
 * rediscovery; uplinks kept while disconnected [Basics Station docs "The LNS
 * Protocol"]. WebSocket framing and TLS are the `ws` library's and Node's.
 */
import type { Logger } from 'pino';
import { WebSocket, type ClientOptions } from 'ws';
import { guard, type BoardConfig, type RxPacket } from '../../hal/index.js';
import { boardChannelsHz, planBoard, samePlan } from './plan-board.js';
import type { UplinkBackend } from '../backend.js';
import type { UplinkOutcome } from '../packet-log.js';
import type { RxTime } from '../protocol/index.js';
import type { ForwarderStats } from '../stats.js';
import type { TxScheduler } from '../tx-scheduler.js';
import type { BufferedUplink, UplinkBufferLimits } from '../uplink-buffer.js';
import { id6, parseLns, stringifyLns } from './messages.js';
import { LnsDownlinks, type LnsDownlinkCounters } from './lns-downlinks.js';
import { LnsUplinks, type LnsUplinkCounters } from './lns-uplinks.js';
import { describeSocketError } from './socket-errors.js';
import { checkPlan, parseRouterConfig, type RouterConfig } from './router-config.js';
import type { StationCredentials } from './station-files.js';
import { XtimeClock } from './xtime.js';

/** Back-off between connection attempts, s (doubling, capped) [Basics Station retries with growing delays]. */
export const LNS_BACKOFF_S = [1, 2, 4, 8, 16, 30] as const;
/** Failed muxs connections in a row after which discovery starts again (the muxs may have moved; Basics Station retries the muxs after 1, 2, 4, 8, 16 s). */
export const LNS_REDISCOVER_AFTER = 5;
/** How long a WebSocket handshake (TCP + TLS + HTTP upgrade) may take, ms. */
export const LNS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Period of the timesync requests while connected, ms (the round trip shows in the status). */
export const LNS_TIMESYNC_MS = 30_000;

/** router_config's development settings and what this gateway does instead [Basics Station docs: nocca, nodc, nodwell]. */
const LNS_TEST_FLAGS = [
  { key: 'nodc', what: 'nodc (no duty-cycle limits): the EU868 sub-band duty cycles stay enforced' },
  { key: 'nocca', what: 'nocca (no listen-before-talk): this gateway does no listen-before-talk anyway' },
  { key: 'nodwell', what: 'nodwell (no dwell-time limits): this gateway limits no dwell time anyway (the server keeps AS923/US915 dwell)' },
] as const;

/** Connection state, as the status API shows it. */
export type LnsState = 'discovering' | 'connecting' | 'configuring' | 'connected' | 'waiting' | 'awaiting-cups' | 'stopped';

/** Failed connections in a row after which CUPS is asked for new credentials (Basics Station: 10 retries, or a refusal). */
export const LNS_CUPS_AFTER = 10;

/** Counters of one LNS backend. */
export interface LnsCounters extends LnsDownlinkCounters, LnsUplinkCounters {
  connects: number; connectFailures: number; discoveries: number;
  messagesInvalid: number; routerConfigs: number;
}

/** Options of {@link LnsBackend}. */
export interface LnsBackendOptions {
  name: string;
  /** null: none yet (CUPS will provide them: {@link LnsBackend.setCredentials}). */
  creds: StationCredentials | null;
  /** The server refused this gateway (HTTP 401/403/404, router-info error) or it failed LNS_CUPS_AFTER times in a row: CUPS, if any, is asked. */
  onRefused?: () => void;
  /** Connected and configured (router_config applied) with the current credentials. */
  onConnected?: () => void;
  gatewayEui: Buffer;
  scheduler: TxScheduler;
  stats: ForwarderStats;
  /** Its uplink figures make the global rxfw (no UDP server is primary). */
  primary: boolean;
  log: Logger;
  /** The radio's listening channels, Hz, compared with the server's plan. */
  radioChannelsHz: number[];
  /** Uplinks kept while disconnected (buffer_conf's limits: count, bytes of message JSON, age); null: none kept. */
  keep: UplinkBufferLimits | null;
  /** The kept uplinks' file (buffer_conf.file + `.lns<i>`): what a restart or a crash must not lose; null: memory only. */
  keepFile?: string | null;
  /** GPS time of a reception (precise reference only). */
  rxTime?: (countUs: number) => RxTime | undefined;
  counterUs: () => Promise<number>;
  wallClockMs?: () => number;
  version: string;
  /**
   * When this LNS owns the radio (no UDP server, the first LNS, a radio
   * that can be reconfigured): the board now, and how to load another plan.
   */
  radio?: { board: () => BoardConfig; reconfigure: (b: BoardConfig) => Promise<void> };
  /** Overrides the back-off (tests), s. */
  backoffS?: readonly number[];
}

/** One LNS server. */
export class LnsBackend implements UplinkBackend {
  readonly counters: LnsCounters = {
    connects: 0, connectFailures: 0, discoveries: 0, uplinksSent: 0, uplinksBuffered: 0, uplinksDropped: 0, bufferDelivered: 0,
    dnmsgReceived: 0, dnmsgInvalid: 0, dnmsgRejected: 0, dntxedSent: 0, downlinksNotSent: 0, messagesInvalid: 0, routerConfigs: 0,
    dnschedReceived: 0, dnschedScheduled: 0, dnschedRefused: 0,
  };
  state: LnsState = 'stopped';
  /** The muxs URI from discovery. */
  muxsUri: string | null = null;
  /** The muxs id the discovery answer named. */
  muxsId: string | null = null;
  lastError: string | null = null;
  lastMessageAtMs: number | null = null;
  connectedAtMs: number | null = null;
  timesyncRttMs: number | null = null;
  routerConfig: RouterConfig | null = null;
  /** Renewed (new session id) when the radio is restarted for a new plan. */
  clock = new XtimeClock(XtimeClock.randomSession());
  private radioChannelsHz: number[];
  private ws: WebSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private muxsFailures = 0;
  /** Uplinks: sent, or kept while disconnected (the store-and-forward buffer the UDP side uses). */
  private readonly uplinks: LnsUplinks;
  private readonly log: Logger;
  private readonly router: string;
  private readonly backoff: readonly number[];
  private readonly syncSent = new Map<number, number>();
  private readonly downlinks: LnsDownlinks;

  private creds: StationCredentials | null;

  constructor(private readonly o: LnsBackendOptions) {
    this.log = o.log;
    this.creds = o.creds;
    this.downlinks = new LnsDownlinks({
      scheduler: o.scheduler, log: o.log, counters: this.counters, send: (t) => this.send(t), clock: () => this.clock,
      routerConfig: () => this.routerConfig, rxTime: o.rxTime, nowMs: () => this.now(),
    });
    this.router = id6(o.gatewayEui);
    this.backoff = o.backoffS ?? LNS_BACKOFF_S;
    this.radioChannelsHz = o.radioChannelsHz;
    this.uplinks = new LnsUplinks({
      log: o.log, counters: this.counters, stats: o.stats, primary: o.primary, keep: o.keep, keepFile: o.keepFile ?? null,
      send: (t) => this.send(t), connected: () => this.state === 'connected', clock: () => this.clock, routerConfig: () => this.routerConfig,
      rxTime: o.rxTime, nowMs: () => this.now(), onInternalError: (n) => this.count(n),
    });
  }

  get name(): string {
    return this.o.name;
  }

  get outage(): boolean {
    return this.state !== 'connected';
  }

  get buffered(): number {
    return this.uplinks.buffered;
  }

  get pendingAcks(): number {
    return 0;
  }

  private now(): number {
    return this.o.wallClockMs?.() ?? Date.now();
  }

  start(): number {
    this.uplinks.start();
    if (this.creds === null) {
      this.state = 'awaiting-cups';
      this.lastError = 'no tc.uri yet: waiting for CUPS to provide it';
      this.log.info('LNS waiting for CUPS to provide tc.uri and credentials');
    } else this.discover();
    return 0;
  }

  /**
   * New LNS address or credentials (from CUPS): the connection, if any, is
   * closed and discovery starts again with them; kept uplinks stay kept.
   */
  setCredentials(creds: StationCredentials): void {
    this.creds = creds;
    if (this.state === 'stopped') return;
    this.log.info({ uri: creds.uri, auth: authOf(creds) }, 'LNS credentials replaced: connecting with them');
    if (this.timer) clearTimeout(this.timer);
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.timer = this.syncTimer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.removeAllListeners();
    ws?.on('error', () => undefined);
    ws?.terminate();
    this.failures = 0;
    this.connectedAtMs = null;
    this.discover();
  }

  stop(): void {
    this.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.timer = this.syncTimer = null;
    this.uplinks.stop();
    const ws = this.ws;
    this.ws = null;
    ws?.removeAllListeners();
    ws?.on('error', () => undefined);
    ws?.terminate();
  }

  private count(name: string): void {
    this.o.stats.recordInternalError(name);
  }

  private socketOptions(): ClientOptions {
    const c = this.creds!;
    return {
      handshakeTimeout: LNS_HANDSHAKE_TIMEOUT_MS,
      headers: c.headers,
      ...(c.trust !== null ? { ca: c.trust } : {}),
      ...(c.clientCert ? { cert: c.clientCert.cert, key: c.clientCert.key } : {}),
      rejectUnauthorized: true,
      perMessageDeflate: false,
    };
  }

  /** Opens `url`; wires the common failure handling; `onOpen`/`onText` for the phase. */
  private open(url: string, phase: 'discovery' | 'muxs', onOpen: (ws: WebSocket) => void, onText: (ws: WebSocket, text: string) => void): void {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, this.socketOptions());
    } catch (err) {
      this.failed(phase, `cannot connect to ${url}: ${(err as Error).message}`);
      return;
    }
    this.ws = ws;
    let reason: string | null = null;
    let refused = false;
    ws.on('unexpected-response', (_req, res) => {
      const code = res.statusCode ?? 0;
      refused = code === 401 || code === 403 || code === 404;
      const hint = code === 401 || code === 403 ? ' (the credentials in tc.key were refused)' : code === 404 ? ' (the server does not know this router, or the path is wrong)' : '';
      reason = `HTTP ${code} ${res.statusMessage ?? ''}`.trim() + hint;
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err: Error & { code?: string }) => {
      if (reason === null) reason = describeSocketError(err);
    });
    ws.on('open', guard(this.log, (n) => this.count(n), 'lns open', () => onOpen(ws)));
    ws.on('message', guard(this.log, (n) => this.count(n), 'lns message', (data: Buffer, isBinary: boolean) => {
      this.lastMessageAtMs = this.now();
      if (isBinary) {
        this.counters.messagesInvalid++;
        this.log.warn({ bytes: data.length }, 'LNS binary message ignored');
        return;
      }
      onText(ws, data.toString('utf8'));
    }));
    ws.on('close', guard(this.log, (n) => this.count(n), 'lns close', (code: number, why: Buffer) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.syncTimer) clearInterval(this.syncTimer);
      this.syncTimer = null;
      if (this.state === 'stopped') return;
      const wasConnected = this.state === 'connected';
      const text = reason ?? `closed by the server (code ${code}${why.length ? `, ${why.toString()}` : ''})`;
      if (phase === 'discovery' && this.muxsUri !== null && reason === null) return; // discovery done: the muxs connection follows
      if (wasConnected) {
        this.log.warn({ uri: url, reason: text }, 'LNS connection lost; uplinks are kept until it is back');
        this.failures = 0;
      }
      this.failed(phase, text, refused);
    }));
  }

  private failed(phase: 'discovery' | 'muxs', reason: string, refused = false): void {
    this.counters.connectFailures++;
    this.lastError = reason;
    this.connectedAtMs = null;
    if (phase === 'muxs') this.muxsFailures++;
    const delayS = this.backoff[Math.min(this.failures, this.backoff.length - 1)]!;
    this.failures++;
    const rediscover = phase === 'discovery' || this.muxsFailures >= LNS_REDISCOVER_AFTER;
    this.log.error({ phase, reason, retryInS: delayS, next: rediscover ? 'discovery' : 'muxs' }, `LNS ${phase} failed`);
    if (this.o.onRefused && (refused || this.failures % LNS_CUPS_AFTER === 0)) this.o.onRefused();
    this.state = 'waiting';
    this.timer = setTimeout(guard(this.log, (n) => this.count(n), 'lns retry', () => {
      this.timer = null;
      if (rediscover) this.discover();
      else this.connectMuxs();
    }), delayS * 1000);
  }

  private discover(): void {
    this.state = 'discovering';
    this.muxsUri = null;
    this.muxsFailures = 0;
    this.counters.discoveries++;
    const url = `${this.creds!.uri.replace(/\/+$/, '')}/router-info`;
    this.log.info({ uri: url, router: this.router }, 'LNS discovery');
    this.open(url, 'discovery', (ws) => ws.send(JSON.stringify({ router: this.router })), (ws, text) => {
      const r = parseLns(text);
      const m = r.ok ? r.msg : {};
      if (!r.ok || (typeof m.error !== 'string' && typeof m.uri !== 'string')) {
        this.counters.messagesInvalid++;
        ws.close();
        this.failed('discovery', `router-info answer unusable: ${r.ok ? 'no uri' : r.reason}`);
        this.ws = null;
        return;
      }
      if (typeof m.error === 'string') {
        ws.close();
        this.ws = null;
        this.failed('discovery', `server refused router ${this.router}: ${m.error}`, true);
        return;
      }
      this.muxsUri = m.uri as string;
      this.muxsId = typeof m.muxs === 'string' ? m.muxs : null;
      this.log.info({ muxs: this.muxsId, uri: this.muxsUri }, 'LNS discovery answered');
      ws.close();
      this.ws = null;
      this.connectMuxs();
    });
  }

  private connectMuxs(): void {
    const url = this.muxsUri;
    if (url === null) {
      this.discover();
      return;
    }
    this.state = 'connecting';
    this.open(url, 'muxs', (ws) => {
      this.state = 'configuring';
      ws.send(JSON.stringify({ msgtype: 'version', station: `pktfwd ${this.o.version}`, firmware: null, package: this.o.version, model: 'pktfwd', protocol: 2, features: '' }));
    }, (ws, text) => this.onMuxsText(ws, text));
  }

  private onMuxsText(ws: WebSocket, text: string): void {
    const r = parseLns(text);
    if (!r.ok) {
      this.counters.messagesInvalid++;
      this.log.warn({ reason: r.reason, bytes: text.length }, 'LNS message ignored');
      return;
    }
    const m = r.msg;
    switch (m.msgtype) {
      case 'router_config':
        void this.onRouterConfig(m).catch((err: Error & { code?: string }) => {
          this.log.error({ err: err.message, code: err.code }, 'router_config: the radio could not be restarted with the server\'s plan');
          ws.close();
        });
        return;
      case 'dnmsg':
      case 'dnsched':
        void (m.msgtype === 'dnmsg' ? this.downlinks.dnmsg(m) : this.downlinks.dnsched(m)).catch((err: Error) => {
          this.log.error({ err: err.message, msgtype: m.msgtype }, 'downlink message handling failed');
          this.count(`lns ${m.msgtype as string}`);
        });
        return;
      case 'timesync':
        this.onTimesync(m);
        return;
      case 'getxtime':
        void this.o.counterUs().then((c) => this.send(stringifyLns({ msgtype: 'getxtime', xtime: this.clock.xtimeOf(c) })), () => undefined);
        return;
      case 'runcmd':
      case 'rmtsh':
        this.log.warn({ msgtype: m.msgtype }, 'LNS remote command refused: remote commands are disabled on this gateway');
        return;
      default:
        this.counters.messagesInvalid++;
        this.log.warn({ msgtype: typeof m.msgtype === 'string' ? m.msgtype.slice(0, 40) : null }, 'LNS message of an unknown type ignored');
    }
    void ws;
  }

  /**
   * The radio's counter restarted (the SX1301 re-initialised after a fault):
   * a new xtime session, so a server's dnmsg timed on the old counter is
   * refused with that reason instead of going out at a random time.
   */
  counterRestarted(): void {
    const old = this.clock.session;
    this.clock = this.clock.nextSession();
    this.log.info({ session: this.clock.session, previous: old }, 'xtime session renewed: the radio counter restarted');
  }

  private async onRouterConfig(m: Record<string, unknown>): Promise<void> {
    const p = parseRouterConfig(m);
    if (!p.ok) {
      this.counters.messagesInvalid++;
      this.log.error({ reason: p.reason }, 'router_config refused: uplinks are not sent until a usable one comes');
      return;
    }
    const rc = p.rc;
    const radio = this.o.radio;
    if (radio && rc.sx1301) {
      // The server's plan replaces the local one (Basics Station restarts its radio the same way).
      const pb = planBoard(radio.board(), rc.sx1301);
      if (!pb.ok) {
        this.log.error({ reason: pb.reason, region: rc.region }, 'router_config refused: the radio cannot do the server\'s channel plan');
        return;
      }
      if (!samePlan(radio.board(), pb.board)) {
        const before = this.radioChannelsHz;
        const clock = this.clock;
        const ws = this.ws;
        await radio.reconfigure(pb.board);
        this.radioChannelsHz = boardChannelsHz(pb.board);
        // A restarted radio may have restarted its counter: times of the old session must not be used
        // (a radio that says so, the SX1301, has already renewed it through counterRestarted()).
        if (this.clock === clock) this.clock = this.clock.nextSession();
        // Stopped, or moved to other credentials, while the radio restarted: this connection is gone.
        if (this.ws !== ws || this.state === 'stopped') return;
        this.log.info({ region: rc.region, channelsHz: this.radioChannelsHz, previousHz: before }, 'router_config: the server\'s channel plan loaded into the radio');
      }
    }
    const check = checkPlan(rc, this.radioChannelsHz);
    if (!check.usable) {
      this.log.error({ planHz: rc.channelsHz, radioHz: this.radioChannelsHz, region: rc.region },
        'router_config refused: the radio hears none of the server\'s channels (change the radio\'s channels in the local config to the server\'s plan)');
      return;
    }
    this.counters.routerConfigs++;
    this.routerConfig = rc;
    if (check.notHeardHz.length > 0 || check.extraHz.length > 0) {
      this.log.warn({ notHeardHz: check.notHeardHz, notInPlanHz: check.extraHz, region: rc.region },
        `router_config: the radio's channels differ from the server's plan (${radio ? 'the radio keeps the channels it could take' : 'this radio keeps its own: it is shared with UDP servers or cannot be reconfigured'}; the server ignores uplinks outside its plan)`);
    }
    this.state = 'connected';
    this.failures = 0;
    this.muxsFailures = 0;
    this.counters.connects++;
    this.connectedAtMs = this.now();
    this.lastError = null;
    this.log.info({ region: rc.region, hwspec: rc.hwspec, channels: rc.channelsHz.length, maxEirpDbm: rc.maxEirpDbm, freqRange: rc.freqRange, muxs: this.muxsId }, 'LNS connected, router_config applied');
    this.o.onConnected?.();
    const asked = LNS_TEST_FLAGS.filter((f) => rc[f.key]);
    if (asked.length > 0) {
      // Basics Station's production builds ignore these development settings too (src/s2e.c, CFG_prod).
      this.log.info({ flags: asked.map((f) => f.key), region: rc.region }, `router_config's development settings ignored, as in Basics Station's production builds: ${asked.map((f) => f.what).join('; ')}`);
    }
    this.uplinks.configured(rc.drs);
    this.timesync();
    this.syncTimer = setInterval(guard(this.log, (n) => this.count(n), 'lns timesync', () => this.timesync()), LNS_TIMESYNC_MS);
    this.syncTimer.unref();
  }

  private send(text: string): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(text);
    return true;
  }

  private timesync(): void {
    const t = Math.round(performance.now() * 1000);
    this.syncSent.set(t, performance.now());
    if (this.syncSent.size > 8) this.syncSent.delete(this.syncSent.keys().next().value as number);
    this.send(JSON.stringify({ msgtype: 'timesync', txtime: t }));
  }

  private onTimesync(m: Record<string, unknown>): void {
    const sent = typeof m.txtime === 'number' ? this.syncSent.get(m.txtime) : undefined;
    if (sent !== undefined) {
      this.syncSent.delete(m.txtime as number);
      this.timesyncRttMs = Math.round((performance.now() - sent) * 100) / 100;
    }
    // The server's GPS time is not used to steer the radio time: class B needs the local GPS (see README).
  }

  deliver(_rxpks: BufferedUplink[], _stat: string | null, packets: RxPacket[], _nowUs: number): UplinkOutcome[] {
    return this.uplinks.deliver(packets);
  }

  /** For the status API. */
  status(): Record<string, unknown> {
    const now = this.now();
    return {
      uri: this.creds?.uri ?? null, router: this.router, muxs: this.muxsId, muxsUri: this.muxsUri, state: this.state, lastError: this.lastError,
      connectedForS: this.connectedAtMs === null ? null : Math.round((now - this.connectedAtMs) / 100) / 10,
      lastMessageAgeS: this.lastMessageAtMs === null ? null : Math.round((now - this.lastMessageAtMs) / 100) / 10,
      timesyncRttMs: this.timesyncRttMs, region: this.routerConfig?.region ?? null, kept: this.buffered,
      keptDropped: this.uplinks.kept ? { ...this.uplinks.kept.dropped } : null, keptFile: this.uplinks.fileStatus,
      auth: this.creds ? authOf(this.creds) : 'none', counters: { ...this.counters },
    };
  }
}

function authOf(c: StationCredentials): string {
  return c.clientCert ? 'client certificate' : Object.keys(c.headers).length ? 'token' : 'none';
}
