/**
 * What an LNS asks the radio to send: `dnmsg` (one device's frame in its
 * RX1/RX2 window, a class B ping slot or class C at once), answered by
 * `dntxed` once on the air, and `dnsched` (frames at a GPS time or xtime, no
 * device, no answer) [Basics Station docs "The LNS Protocol"; src/s2e.c
 * handle_dnsched]. Every frame goes through the shared TX scheduler, so the
 * JIT queue, the regional rules and the radio are the UDP side's too.
 */
import type { Logger } from 'pino';
import type { RxTime } from '../protocol/index.js';
import type { TxFate, TxScheduler } from '../tx-scheduler.js';
import { dnschedRequest, downlinkWindows } from './downlink-windows.js';
import { decodeDnmsg, decodeDnsched, stringifyLns, type DnMsg } from './messages.js';
import type { RouterConfig } from './router-config.js';
import type { XtimeClock } from './xtime.js';

/** The downlink counters of one LNS backend. */
export interface LnsDownlinkCounters {
  dnmsgReceived: number; dnmsgInvalid: number; dnmsgRejected: number; dntxedSent: number; downlinksNotSent: number;
  dnschedReceived: number; dnschedScheduled: number; dnschedRefused: number;
}

/** What {@link LnsDownlinks} needs from its backend. */
export interface LnsDownlinksOptions {
  scheduler: TxScheduler;
  log: Logger;
  counters: LnsDownlinkCounters;
  /** Sends a message on the muxs connection; false when it is down. */
  send: (text: string) => boolean;
  /** The current session's clock (renewed with the radio). */
  clock: () => XtimeClock;
  routerConfig: () => RouterConfig | null;
  /** GPS time of a counter value (precise reference only), for dntxed's gpstime. */
  rxTime?: (countUs: number) => RxTime | undefined;
  nowMs: () => number;
}

/** dnmsg and dnsched handling of one LNS backend. */
export class LnsDownlinks {
  constructor(private readonly o: LnsDownlinksOptions) {}

  /** dnmsg → one TX request (RX1, else RX2 when RX1 cannot be had) → dntxed once it is on the air. */
  async dnmsg(m: Record<string, unknown>): Promise<void> {
    const c = this.o.counters;
    c.dnmsgReceived++;
    const d = decodeDnmsg(m);
    if (!d.ok) {
      c.dnmsgInvalid++;
      this.o.log.warn({ diid: m.diid, reason: d.reason }, 'dnmsg refused');
      return;
    }
    const dn = d.dn;
    const rc = this.o.routerConfig();
    if (!rc) {
      c.dnmsgRejected++;
      this.o.log.warn({ diid: dn.diid }, 'dnmsg before router_config: refused');
      return;
    }
    const reasons: string[] = [];
    for (const t of downlinkWindows(dn, rc, this.o.clock())) {
      if (typeof t.req === 'string') {
        reasons.push(`${t.name}: ${t.req}`);
        continue;
      }
      const r = await this.o.scheduler.schedule(t.req, dn.diid & 0xffff, (f) => this.onFate(dn, f, t.window));
      if (r.error === null) {
        this.o.log.debug({ diid: dn.diid, window: t.name }, 'dnmsg scheduled');
        return;
      }
      reasons.push(`${t.name}: ${r.error}`);
    }
    // The LNS protocol has no negative answer to a dnmsg: the server sees no dntxed.
    c.dnmsgRejected++;
    this.o.log.warn({ diid: dn.diid, devEui: dn.devEui, reasons }, 'dnmsg not scheduled (no dntxed will be sent)');
  }

  /** dnsched → one TX request per entry; Basics Station sends no dntxed for them (they name no device), neither does this. */
  async dnsched(m: Record<string, unknown>): Promise<void> {
    const c = this.o.counters;
    c.dnschedReceived++;
    const d = decodeDnsched(m);
    if (!d.ok) {
      c.dnschedRefused++;
      this.o.log.warn({ reason: d.reason }, 'dnsched refused');
      return;
    }
    for (const b of d.bad) {
      c.dnschedRefused++;
      this.o.log.warn({ entry: b.index, reason: b.reason }, 'dnsched entry refused');
    }
    const rc = this.o.routerConfig();
    for (const e of d.entries) {
      const req = rc ? dnschedRequest(e, rc, this.o.clock()) : 'before router_config';
      const r = typeof req === 'string' ? { error: req } : await this.o.scheduler.schedule(req, e.diid & 0xffff, (f) => {
        if (f.outcome !== 'sent') {
          c.downlinksNotSent++;
          this.o.log.warn({ diid: e.diid, outcome: f.outcome }, 'dnsched frame did not go out');
        }
      });
      if (r.error === null) {
        c.dnschedScheduled++;
        this.o.log.info({ diid: e.diid, at: e.at.kind === 'gpstime' ? { gpstimeUs: e.at.us } : { xtime: e.at.xtime.toString() }, dr: e.dr, freqHz: e.freqHz, bytes: e.pdu.length }, 'dnsched frame scheduled');
      } else {
        c.dnschedRefused++;
        this.o.log.warn({ diid: e.diid, reason: r.error }, 'dnsched frame not scheduled');
      }
    }
  }

  private onFate(dn: DnMsg, f: TxFate, window: { dr: number; freqHz: number } | null): void {
    const c = this.o.counters;
    if (f.outcome !== 'sent') {
      c.downlinksNotSent++;
      this.o.log.warn({ diid: dn.diid, outcome: f.outcome }, 'downlink did not go out: no dntxed');
      return;
    }
    // Basics Station also sends seqno, DR and Freq of the window used; gpstime (µs) when the GPS reference is precise, else 0.
    const gpsMs = this.o.rxTime?.(f.startUs)?.gpsMs;
    const text = stringifyLns({
      msgtype: 'dntxed', seqno: dn.diid, diid: dn.diid, DevEui: dn.devEui, rctx: dn.rctx, xtime: this.o.clock().xtimeOf(f.startUs),
      txtime: this.o.nowMs() / 1000, gpstime: gpsMs === undefined ? 0 : Math.round(gpsMs * 1000), ...(window ? { DR: window.dr, Freq: window.freqHz } : {}),
    });
    if (this.o.send(text)) c.dntxedSent++;
  }
}
