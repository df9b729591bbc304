/**
 * `router_config`, the server's channel plan and rules for this gateway
 * [Basics Station docs "The LNS Protocol": router_config: DRs, freq_range,
 * max_eirp, sx1301_conf, nocca, nodc, nodwell, region, hwspec, NetID,
 * JoinEui]. Pure: checks the message and compares its channels with what
 * the radio listens on.
 */
import type { DataRate } from './messages.js';

/** A checked router_config. */
export interface RouterConfig {
  region: string;
  hwspec: string;
  drs: DataRate[];
  /** Downlink frequencies allowed, Hz. */
  freqRange: [number, number] | null;
  /** Highest EIRP the server allows, dBm (null: the region's). */
  maxEirpDbm: number | null;
  /** Uplink channel centre frequencies of the plan (sx1301_conf multi-SF and LoRa std channels), Hz. */
  channelsHz: number[];
  nocca: boolean;
  nodc: boolean;
  nodwell: boolean;
  /** The first sx1301_conf entry as sent (radios and IF channels), or null. */
  sx1301: Record<string, unknown> | null;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks a router_config object; a reason names the first bad field. */
export function parseRouterConfig(m: Record<string, unknown>): { ok: true; rc: RouterConfig } | { ok: false; reason: string } {
  if (!Array.isArray(m.DRs) || m.DRs.length === 0 || m.DRs.length > 16) return { ok: false, reason: 'DRs: expected a table of 1..16 [SF, BW kHz, dnonly] entries' };
  const drs: DataRate[] = [];
  for (const [i, e] of (m.DRs as unknown[]).entries()) {
    if (!Array.isArray(e) || e.length < 2 || !isNum(e[0]) || !isNum(e[1])) return { ok: false, reason: `DRs[${i}]: expected [SF, BW kHz, dnonly]` };
    drs.push({ sf: e[0], bwKhz: e[1], dnOnly: e[2] === 1 || e[2] === true });
  }
  let freqRange: RouterConfig['freqRange'] = null;
  if (m.freq_range !== undefined) {
    const r = m.freq_range;
    if (!Array.isArray(r) || r.length !== 2 || !isNum(r[0]) || !isNum(r[1]) || r[0] >= r[1]) return { ok: false, reason: 'freq_range: expected [min Hz, max Hz]' };
    freqRange = [r[0], r[1]];
  }
  if (m.max_eirp !== undefined && !isNum(m.max_eirp)) return { ok: false, reason: 'max_eirp: expected a number (dBm)' };
  const channelsHz: number[] = [];
  if (m.sx1301_conf !== undefined) {
    if (!Array.isArray(m.sx1301_conf)) return { ok: false, reason: 'sx1301_conf: expected an array of concentrator settings' };
    for (const [k, conf] of (m.sx1301_conf as unknown[]).entries()) {
      if (typeof conf !== 'object' || conf === null) return { ok: false, reason: `sx1301_conf[${k}]: expected an object` };
      const c = conf as Record<string, Record<string, unknown> | undefined>;
      const radioHz = [c.radio_0, c.radio_1].map((r) => (r && r.enable !== false && isNum(r.freq) ? r.freq : null));
      const add = (name: string) => {
        const ch = c[name];
        if (!ch || ch.enable === false) return;
        const base = radioHz[ch.radio === 1 ? 1 : 0];
        if (base !== null && base !== undefined && isNum(ch.if)) channelsHz.push(base + ch.if);
      };
      for (let i = 0; i < 8; i++) add(`chan_multiSF_${i}`);
      add('chan_Lora_std');
    }
  }
  return {
    ok: true,
    rc: {
      region: typeof m.region === 'string' ? m.region : '', hwspec: typeof m.hwspec === 'string' ? m.hwspec : '', drs, freqRange,
      maxEirpDbm: isNum(m.max_eirp) ? m.max_eirp : null, channelsHz: [...new Set(channelsHz)].sort((a, b) => a - b),
      nocca: m.nocca === true, nodc: m.nodc === true, nodwell: m.nodwell === true,
      sx1301: Array.isArray(m.sx1301_conf) && typeof m.sx1301_conf[0] === 'object' && m.sx1301_conf[0] !== null ? (m.sx1301_conf[0] as Record<string, unknown>) : null,
    },
  };
}

/** How the server's plan and the radio's channels compare. */
export interface PlanCheck {
  /** The radio hears at least one of the plan's channels (or the plan lists none). */
  usable: boolean;
  /** Plan channels the radio does not listen on, Hz. */
  notHeardHz: number[];
  /** Radio channels the plan does not have (the server will ignore their uplinks), Hz. */
  extraHz: number[];
}

/** Compares a plan with the radio's listening channels (Hz). */
export function checkPlan(rc: RouterConfig, radioHz: readonly number[]): PlanCheck {
  const radio = new Set(radioHz);
  const plan = new Set(rc.channelsHz);
  const notHeardHz = rc.channelsHz.filter((f) => !radio.has(f));
  const extraHz = [...radio].filter((f) => !plan.has(f)).sort((a, b) => a - b);
  return { usable: plan.size === 0 || notHeardHz.length < plan.size, notHeardHz, extraHz };
}
