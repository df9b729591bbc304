/**
 * The `modu`/`datr`/`codr` trio of rxpk and txpk, to and from hal RadioParams.
 */
import type { CodeRate, LoraBandwidthHz, RadioParams, SpreadingFactor } from '../../hal/index.js';
import type { Field } from './json-fields.js';
import { show } from './json-fields.js';

const SPREADING_FACTORS: readonly number[] = [7, 8, 9, 10, 11, 12];
const BANDWIDTHS_KHZ: readonly number[] = [125, 250, 500];

/** LoRa `datr` text, e.g. "SF7BW125" [PROTOCOL.TXT §4, PF4]. */
export function formatLoraDatr(sf: SpreadingFactor, bandwidthHz: LoraBandwidthHz): string {
  return `SF${sf}BW${bandwidthHz / 1000}`;
}

/**
 * Parses a LoRa `datr`: exactly `SF<7..12>BW<125|250|500>` (PF4 accepts the
 * same set through sscanf("SF%2hdBW%3hd") plus range checks).
 */
export function parseLoraDatr(v: unknown): Field<{ spreadingFactor: SpreadingFactor; bandwidthHz: LoraBandwidthHz }> {
  if (typeof v !== 'string') return { ok: false, reason: `datr ${show(v)} is not a LoRa datarate string like "SF7BW125"` };
  const m = /^SF(\d{1,2})BW(\d{1,3})$/.exec(v);
  if (!m) return { ok: false, reason: `datr ${show(v)} is not of the form SF<n>BW<kHz>` };
  const sf = Number(m[1]);
  const bw = Number(m[2]);
  if (!SPREADING_FACTORS.includes(sf)) return { ok: false, reason: `datr ${show(v)}: spreading factor ${sf} not in 7..12` };
  if (!BANDWIDTHS_KHZ.includes(bw)) return { ok: false, reason: `datr ${show(v)}: bandwidth ${bw} kHz not 125, 250 or 500` };
  return { ok: true, value: { spreadingFactor: sf as SpreadingFactor, bandwidthHz: (bw * 1000) as LoraBandwidthHz } };
}

/** Coding rates written on the wire, in PROTOCOL.TXT order. */
export const CODE_RATES: readonly CodeRate[] = ['4/5', '4/6', '4/7', '4/8'];

/** PF4's downlink aliases: "2/3" is 4/6 and "1/2" is 4/8 [PF4 thread_down]. */
const CODE_RATE_ALIASES: Readonly<Record<string, CodeRate>> = { '2/3': '4/6', '1/2': '4/8' };

/**
 * Parses `codr`. With `aliases` (txpk) PF4's "2/3" and "1/2" are accepted; an
 * rxpk must use the four canonical forms, the only ones ChirpStack takes.
 */
export function parseCodeRate(v: unknown, aliases: boolean): Field<CodeRate> {
  if (typeof v === 'string') {
    if ((CODE_RATES as readonly string[]).includes(v)) return { ok: true, value: v as CodeRate };
    const alias = aliases ? CODE_RATE_ALIASES[v] : undefined;
    if (alias) return { ok: true, value: alias };
  }
  const allowed = aliases ? '4/5, 4/6, 4/7, 4/8, 2/3 or 1/2' : '4/5, 4/6, 4/7 or 4/8';
  return { ok: false, reason: `codr ${show(v)} is not ${allowed}` };
}

/** FSK `datr`: an unsigned integer bit rate, at least 1. */
export function parseFskDatr(v: unknown): Field<number> {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0xffff_ffff) {
    return { ok: false, reason: `datr ${show(v)} is not an FSK bit rate (positive integer, bps)` };
  }
  return { ok: true, value: v };
}

/** Builds RadioParams from `modu`, `datr` and `codr` (codr only read for LoRa). */
export function parseRadio(modu: unknown, datr: unknown, codr: unknown, codrAliases: boolean): Field<RadioParams> {
  if (modu === 'LORA') {
    if (datr === undefined || datr === null) return { ok: false, reason: 'datr missing' };
    const d = parseLoraDatr(datr);
    if (!d.ok) return d;
    if (codr === undefined || codr === null) return { ok: false, reason: 'codr missing (required for LORA)' };
    const c = parseCodeRate(codr, codrAliases);
    if (!c.ok) return c;
    return { ok: true, value: { modulation: 'LORA', ...d.value, codeRate: c.value } };
  }
  if (modu === 'FSK') {
    if (datr === undefined || datr === null) return { ok: false, reason: 'datr missing' };
    const d = parseFskDatr(datr);
    if (!d.ok) return d;
    return { ok: true, value: { modulation: 'FSK', datarateBps: d.value } };
  }
  if (modu === undefined || modu === null) return { ok: false, reason: 'modu missing' };
  return { ok: false, reason: `modu ${show(modu)} is not "LORA" or "FSK"` };
}

/** The rxpk/txpk `datr` of a radio setting: "SF7BW125" for LoRa, the bit rate for FSK. */
export function datrOf(r: RadioParams): string | number {
  return r.modulation === 'LORA' ? formatLoraDatr(r.spreadingFactor, r.bandwidthHz) : r.datarateBps;
}
