/**
 * A checked `dnmsg` as the TX requests to try, in order [Basics Station docs
 * "The LNS Protocol", dnmsg]: class A RX1 at xtime + RxDelay s, then RX2 one
 * second later (RX1DR/RX1Freq, RX2DR/RX2Freq); class C at once on the RX2
 * settings when it has no xtime; class B at its GPS time. Each window is a
 * request or the reason it cannot be one (another session's xtime, a DR the
 * table lacks, a frequency outside freq_range). Pure.
 */
import type { TxRequest } from '../protocol/index.js';
import { drRadio, type DnMsg, type DnSchedEntry } from './messages.js';
import type { RouterConfig } from './router-config.js';
import type { XtimeClock } from './xtime.js';

/** Downlink power without a max_eirp in router_config, dBm (EU868's default EIRP budget for RX windows). */
export const LNS_DEFAULT_POWER_DBM = 14;

/** One window to try. */
export interface DownlinkWindow {
  name: 'RX1' | 'RX2' | 'class B' | 'class C';
  req: TxRequest | string;
  /** Its DR index and frequency (for dntxed). */
  window: { dr: number; freqHz: number } | null;
}

/** The windows of `dn`, in the order to try them. */
export function downlinkWindows(dn: DnMsg, rc: RouterConfig, clock: XtimeClock): DownlinkWindow[] {
  if (dn.dC === 1) return [{ name: 'class B', window: dn.slot, req: request(dn.pdu, rc, dn.slot!, { kind: 'tmms', gpsMs: dn.gpstimeUs! / 1000 }) }];
  const at = (offsetS: number): TxRequest['timing'] | string => {
    const c = clock.toCount(dn.xtime!, offsetS * 1_000_000);
    return c.ok ? { kind: 'tmst', countUs: c.countUs } : c.reason;
  };
  if (dn.dC === 2 && dn.xtime === null) return [{ name: 'class C', window: dn.rx2 ?? dn.rx1, req: request(dn.pdu, rc, dn.rx2 ?? dn.rx1!, { kind: 'immediate' }) }];
  const out: DownlinkWindow[] = [];
  if (dn.rx1) out.push({ name: 'RX1', window: dn.rx1, req: request(dn.pdu, rc, dn.rx1, at(dn.rxDelayS)) });
  if (dn.rx2) out.push({ name: dn.dC === 2 ? 'class C' : 'RX2', window: dn.rx2, req: request(dn.pdu, rc, dn.rx2, dn.dC === 2 && !dn.rx1 ? { kind: 'immediate' } : at(dn.rxDelayS + 1)) });
  return out;
}

/** The TX request of one `dnsched` entry: at its GPS time (tmms) or its xtime (tmst), or why it cannot be. */
export function dnschedRequest(e: DnSchedEntry, rc: RouterConfig, clock: XtimeClock): TxRequest | string {
  if (e.at.kind === 'gpstime') return request(e.pdu, rc, { dr: e.dr, freqHz: e.freqHz }, { kind: 'tmms', gpsMs: e.at.us / 1000 });
  const c = clock.toCount(e.at.xtime, 0);
  return request(e.pdu, rc, { dr: e.dr, freqHz: e.freqHz }, c.ok ? { kind: 'tmst', countUs: c.countUs } : c.reason);
}

function request(pdu: Uint8Array, rc: RouterConfig, w: { dr: number; freqHz: number }, timing: TxRequest['timing'] | string): TxRequest | string {
  if (typeof timing === 'string') return timing;
  const radio = drRadio(rc.drs, w.dr);
  if (!radio) return `DR ${w.dr} is not a usable entry of the DRs table`;
  if (rc.freqRange && (w.freqHz < rc.freqRange[0] || w.freqHz > rc.freqRange[1])) return `${w.freqHz} Hz outside the server's freq_range`;
  return {
    timing, freqHz: w.freqHz, rfChain: 0, powerDbm: rc.maxEirpDbm ?? LNS_DEFAULT_POWER_DBM, radio,
    ...(radio.modulation === 'FSK' ? { fdevHz: 25_000 } : {}),
    // LoRaWAN downlinks: inverted I/Q, no payload CRC, 8-symbol preamble (FSK: 5 bytes) [LoRaWAN 1.0.x §4, PF4 STD_*_PREAMB].
    invertPolarity: radio.modulation === 'LORA', preambleSymbols: radio.modulation === 'LORA' ? 8 : 5, noCrc: true, payload: pdu, warnings: [],
  };
}
