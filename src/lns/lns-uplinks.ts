/**
 * The uplink side of one LNS backend: each received frame becomes an
 * `updf`/`jreq`/`propdf` with its `upinfo` times, sent at once while the
 * connection is up, else kept in the store-and-forward buffer the UDP side
 * uses (and its file, `buffer_conf.file` + `.lns<i>`), delivered in order
 * once it is back. Frames received before the first `router_config` of a run
 * are kept with their times until its DR table says how to encode them.
 */
import type { Logger } from 'pino';
import { guard, type RxPacket } from '../../hal/index.js';
import { BufferFile } from '../buffer-file.js';
import type { UplinkOutcome } from '../packet-log.js';
import type { RxTime } from '../protocol/index.js';
import type { ForwarderStats } from '../stats.js';
import { UplinkBuffer, type BufferedUplink, type UplinkBufferLimits } from '../uplink-buffer.js';
import { checkLnsUplinkText, encodeUplink, uplinkDr, type UpTimes } from './messages.js';
import type { RouterConfig } from './router-config.js';
import type { XtimeClock } from './xtime.js';

/** The counters this side keeps (part of the backend's). */
export interface LnsUplinkCounters {
  uplinksSent: number; uplinksBuffered: number; uplinksDropped: number; bufferDelivered: number;
}

export interface LnsUplinksOptions {
  log: Logger;
  counters: LnsUplinkCounters;
  stats: ForwarderStats;
  /** Its uplink figures make the global rxfw. */
  primary: boolean;
  /** Buffer limits; null: nothing kept (buffer_conf.enable false). */
  keep: UplinkBufferLimits | null;
  keepFile: string | null;
  /** Sends one message if the connection is up and configured; false otherwise. */
  send: (text: string) => boolean;
  connected: () => boolean;
  clock: () => XtimeClock;
  routerConfig: () => RouterConfig | null;
  rxTime?: (countUs: number) => RxTime | undefined;
  nowMs: () => number;
  onInternalError: (handler: string) => void;
}

export class LnsUplinks {
  /** Uplink messages kept while disconnected, oldest first. */
  readonly kept: UplinkBuffer | null;
  private file: BufferFile | null = null;
  private fileTimer: NodeJS.Timeout | null = null;
  private seq = 0;
  /** Frames received before the first router_config, with their times. */
  private readonly early: { p: RxPacket; times: UpTimes; atMs: number }[] = [];

  constructor(private readonly o: LnsUplinksOptions) {
    this.kept = o.keep ? new UplinkBuffer(o.keep, () => o.nowMs()) : null;
  }

  /** Kept uplinks, the early ones included. */
  get buffered(): number {
    return (this.kept?.length ?? 0) + this.early.length;
  }

  /** For the status: the file's state, or null without one. */
  get fileStatus(): BufferFile['status'] | null {
    return this.file?.status ?? null;
  }

  start(): void {
    if (!this.kept || !this.o.keepFile) return;
    // What the last run kept comes back in order, before anything new; journal sync, compaction and retry once a second.
    this.file = new BufferFile(this.o.keepFile, this.kept, this.o.log, checkLnsUplinkText);
    this.file.open();
    this.seq = this.kept.maxSeq;
    this.fileTimer = setInterval(guard(this.o.log, this.o.onInternalError, 'lns buffer file', () => this.file?.tick()), 1000);
    this.fileTimer.unref();
  }

  stop(): void {
    if (this.fileTimer) clearInterval(this.fileTimer);
    this.fileTimer = null;
    this.file?.close();
  }

  /** A router_config came and the connection is up: the early frames are encoded with its DRs, then everything kept is sent. */
  configured(drs: NonNullable<RouterConfig['drs']>): void {
    this.encodeEarly(drs);
    this.flushKept();
  }

  private flushKept(): void {
    const kept = this.kept;
    if (!kept) return;
    let sent = 0;
    while (kept.length > 0 && this.o.connected()) {
      const batch = kept.peek(64 * 1024);
      if (batch.length === 0) break;
      const done: BufferedUplink[] = [];
      for (const k of batch) {
        if (!this.o.send(k.rxpk)) break;
        done.push(k);
      }
      kept.remove(done);
      sent += done.length;
      this.o.counters.uplinksSent += done.length;
      if (this.o.primary) this.o.stats.counters.rxfw += done.length;
      if (done.length < batch.length) break;
    }
    if (sent > 0) {
      this.o.counters.bufferDelivered += sent;
      this.o.log.info({ uplinks: sent }, 'LNS: kept uplinks delivered');
    }
  }

  /** The message of one frame, or not (counted, with the reason at debug level). */
  private encode(p: RxPacket, drs: NonNullable<RouterConfig['drs']>, times: UpTimes): { ok: true; text: string } | { ok: false } {
    const dr = uplinkDr(drs, p.radio);
    const enc = dr < 0 ? { ok: false as const, reason: 'its data rate is not in the server\'s DRs table' } : encodeUplink(p, dr, times);
    if (enc.ok) return enc;
    this.o.counters.uplinksDropped++;
    this.o.log.debug({ tmst: p.countUs, reason: enc.reason }, 'uplink not sent to the LNS');
    return { ok: false };
  }

  /** Keeps a frame received before the first router_config (with its times: the session may change with the plan), within the buffer's count and age limits. */
  private keepEarly(p: RxPacket, times: UpTimes, wall: number): UplinkOutcome {
    const lim = this.o.keep;
    if (!lim) {
      this.o.counters.uplinksDropped++;
      return 'lost';
    }
    const early = this.early;
    while (early.length > 0 && (early.length >= lim.maxUplinks || wall - early[0]!.atMs > lim.maxAgeMs)) {
      early.shift();
      this.o.counters.uplinksDropped++;
    }
    early.push({ p, times, atMs: wall });
    this.o.counters.uplinksBuffered++;
    return 'buffered';
  }

  /** The frames kept before the first router_config, now encoded with its DRs, into the kept buffer (oldest first). */
  private encodeEarly(drs: NonNullable<RouterConfig['drs']>): void {
    if (!this.kept || this.early.length === 0) return;
    const early = this.early.splice(0);
    let n = 0;
    for (const e of early) {
      const enc = this.encode(e.p, drs, e.times);
      if (!enc.ok) continue;
      this.kept.push([{ rxpk: enc.text, seq: ++this.seq }], e.atMs);
      n++;
    }
    this.o.log.info({ uplinks: n, received: early.length }, 'LNS: uplinks received before the first router_config encoded with its DRs table');
  }

  /** Each frame's fate, in order: sent, kept, filtered (bad CRC, not encodable) or lost (nothing kept). */
  deliver(packets: RxPacket[]): UplinkOutcome[] {
    const out: UplinkOutcome[] = [];
    const drs = this.o.routerConfig()?.drs;
    const wall = this.o.nowMs();
    const clock = this.o.clock();
    for (const p of packets) {
      if (p.crcStatus !== 'ok') {
        out.push('filtered'); // the LNS protocol carries frames with a good CRC only
        continue;
      }
      const rt = this.o.rxTime?.(p.countUs);
      const times = { xtime: clock.xtimeOf(p.countUs), gpstimeUs: rt?.gpsMs !== undefined ? Math.round(rt.gpsMs * 1000) : 0, rxtimeS: (rt?.utcUs !== undefined ? rt.utcUs / 1e6 : wall / 1000) };
      if (!drs) {
        // No router_config yet in this run (booting without the network): nothing says which DR index this is until one comes.
        out.push(this.keepEarly(p, times, wall));
        continue;
      }
      const enc = this.encode(p, drs, times);
      if (!enc.ok) {
        out.push('filtered');
        continue;
      }
      if (this.o.connected() && this.buffered === 0 && this.o.send(enc.text)) {
        this.o.counters.uplinksSent++;
        if (this.o.primary) this.o.stats.counters.rxfw++;
        out.push('forwarded');
        continue;
      }
      if (!this.kept) {
        this.o.counters.uplinksDropped++;
        out.push('lost'); // buffer_conf.enable false: nothing is kept, as on the UDP side
        continue;
      }
      this.kept.push([{ rxpk: enc.text, seq: ++this.seq }], wall);
      this.o.counters.uplinksBuffered++;
      out.push('buffered');
    }
    return out;
  }
}
