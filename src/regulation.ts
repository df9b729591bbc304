/**
 * What the law lets the gateway transmit: per-region maximum EIRP and, in
 * EU868, the ETSI EN 300 220 sub-band duty cycles over a sliding hour.
 *
 * Facts:
 * - EU868 bands, duty cycles and EIRP limits: constants.md §10 (the table
 *   ChirpStack's concentratord applies, from ETSI EN 300 220): K 863-865 MHz
 *   0.1 % 16 dBm; L 865-868 1 % 16; M 868.0-868.6 1 % 16; N 868.7-869.2
 *   0.1 % 16; P 869.4-869.65 10 % 29; 869.7-870 100 % at ≤ 9 dBm, else Q 1 %
 *   16. Frequencies outside every band are not allowed at all.
 * - Other regions' default maximum EIRP: LoRaWAN Regional Parameters RP002
 *   (US915 30 dBm, AU915 30 dBm, AS923 16 dBm, IN865 30 dBm). Dwell-time
 *   limits there apply to uplinks (US915) or are network-announced (AS923
 *   DwellTime); they are documented, not enforced here.
 * Our own code.
 */
import type { TxAckError } from './protocol/tx-ack-error.js';

export type Region = 'EU868' | 'US915' | 'AU915' | 'AS923' | 'IN865' | 'none';
export const REGIONS: readonly Region[] = ['EU868', 'US915', 'AU915', 'AS923', 'IN865', 'none'];

/** One EU868 sub-band. */
export interface Band {
  name: string;
  minHz: number;
  maxHz: number;
  /** Fraction of the hour a transmitter may be on (1 = no limit). */
  dutyCycle: number;
  maxEirpDbm: number;
}

/** ETSI EN 300 220 as in constants.md §10; for 869.7-870 the 100 % row applies at ≤ 9 dBm, else Q. */
export const EU868_BANDS: readonly Band[] = [
  { name: 'K 863-865', minHz: 863_000_000, maxHz: 865_000_000, dutyCycle: 0.001, maxEirpDbm: 16 },
  { name: 'L 865-868', minHz: 865_000_000, maxHz: 868_000_000, dutyCycle: 0.01, maxEirpDbm: 16 },
  { name: 'M 868.0-868.6', minHz: 868_000_000, maxHz: 868_600_000, dutyCycle: 0.01, maxEirpDbm: 16 },
  { name: 'N 868.7-869.2', minHz: 868_700_000, maxHz: 869_200_000, dutyCycle: 0.001, maxEirpDbm: 16 },
  { name: 'P 869.4-869.65', minHz: 869_400_000, maxHz: 869_650_000, dutyCycle: 0.1, maxEirpDbm: 29 },
  { name: 'P 869.7-870 (low power)', minHz: 869_700_000, maxHz: 870_000_000, dutyCycle: 1, maxEirpDbm: 9 },
  { name: 'Q 869.7-870', minHz: 869_700_000, maxHz: 870_000_000, dutyCycle: 0.01, maxEirpDbm: 16 },
];

/** Default maximum EIRP per region, dBm (RP002); EU868 per band. */
export const REGION_MAX_EIRP: Readonly<Record<Exclude<Region, 'EU868' | 'none'>, number>> = { US915: 30, AU915: 30, AS923: 16, IN865: 30 };

/** The hour of the sliding window, ms. */
export const DUTY_WINDOW_MS = 3_600_000;

interface Emission {
  id: number;
  band: string;
  startMs: number;
  airtimeMs: number;
}

/** A verdict on one frame. */
export type RegulationVerdict =
  | { ok: true; eirpDbm: number; clamped: boolean; band: string | null; id: number }
  | { ok: false; error: TxAckError; reason: string };

/**
 * Checks and books emissions. `check` returns the EIRP to use (the request,
 * lowered to the limit when above it) and books the airtime at the frame's
 * start time; `release` gives it back when the frame never went out.
 */
export class Regulation {
  private booked: Emission[] = [];
  private nextId = 1;
  readonly counters = { checked: 0, clamped: 0, dutyCycleRejected: 0, bandRejected: 0 };

  constructor(readonly region: Region) {}

  /** The band a frame falls in, given its EIRP (null outside every band). */
  band(freqHz: number, eirpDbm: number): Band | null {
    const inBand = EU868_BANDS.filter((b) => freqHz >= b.minHz && freqHz <= b.maxHz);
    if (inBand.length === 0) return null;
    // 869.7-870: the unlimited row only at low power.
    return inBand.find((b) => eirpDbm <= b.maxEirpDbm) ?? inBand[inBand.length - 1]!;
  }

  /** Airtime booked in `band` in the hour ending at `atMs`, ms. */
  usedMs(band: string, atMs: number): number {
    return this.booked.filter((e) => e.band === band && e.startMs > atMs - DUTY_WINDOW_MS && e.startMs <= atMs).reduce((s, e) => s + e.airtimeMs, 0);
  }

  check(o: { freqHz: number; eirpDbm: number; airtimeUs: number; startMs: number }): RegulationVerdict {
    this.counters.checked++;
    const airtimeMs = o.airtimeUs / 1000;
    if (this.region === 'none') return { ok: true, eirpDbm: o.eirpDbm, clamped: false, band: null, id: 0 };
    if (this.region !== 'EU868') {
      const max = REGION_MAX_EIRP[this.region];
      const clamped = o.eirpDbm > max;
      if (clamped) this.counters.clamped++;
      return { ok: true, eirpDbm: Math.min(o.eirpDbm, max), clamped, band: null, id: 0 };
    }
    const b = this.band(o.freqHz, o.eirpDbm);
    if (!b) {
      this.counters.bandRejected++;
      return { ok: false, error: 'TX_FREQ', reason: `${o.freqHz} Hz is in no ETSI EN 300 220 sub-band` };
    }
    const clamped = o.eirpDbm > b.maxEirpDbm;
    if (clamped) this.counters.clamped++;
    if (b.dutyCycle < 1) {
      // The budget must hold over every hour the frame falls in: the hour ending at its end, and those ending later.
      const budgetMs = b.dutyCycle * DUTY_WINDOW_MS;
      const end = o.startMs + airtimeMs;
      const later = this.booked.filter((e) => e.band === b.name && e.startMs > o.startMs).map((e) => e.startMs);
      for (const at of [end, ...later]) {
        if (this.usedMs(b.name, at) + airtimeMs > budgetMs + 1e-9) {
          this.counters.dutyCycleRejected++;
          return { ok: false, error: 'DUTY_CYCLE_OVERFLOW', reason: `band ${b.name}: ${this.usedMs(b.name, at).toFixed(0)} of ${budgetMs.toFixed(0)} ms used in the hour, ${airtimeMs.toFixed(1)} ms more would exceed ${b.dutyCycle * 100} %` };
        }
      }
    }
    const id = this.nextId++;
    this.booked.push({ id, band: b.name, startMs: o.startMs, airtimeMs });
    this.prune(o.startMs);
    return { ok: true, eirpDbm: Math.min(o.eirpDbm, b.maxEirpDbm), clamped, band: b.name, id };
  }

  /** The frame booked as `id` did not go out: its airtime is given back. */
  release(id: number): void {
    this.booked = this.booked.filter((e) => e.id !== id);
  }

  private prune(nowMs: number): void {
    if (this.booked.length > 10_000 || this.booked.length % 64 === 0) this.booked = this.booked.filter((e) => e.startMs > nowMs - 2 * DUTY_WINDOW_MS);
  }

  /** Per duty-cycled band: used and remaining airtime in the hour ending now. */
  status(nowMs: number): { region: Region; bands: { band: string; dutyCyclePercent: number; usedMs: number; remainingMs: number }[]; counters: Regulation['counters'] } {
    const bands = this.region === 'EU868'
      ? EU868_BANDS.filter((b) => b.dutyCycle < 1).map((b) => {
          const used = this.usedMs(b.name, nowMs);
          return { band: b.name, dutyCyclePercent: b.dutyCycle * 100, usedMs: Math.round(used * 10) / 10, remainingMs: Math.round((b.dutyCycle * DUTY_WINDOW_MS - used) * 10) / 10 };
        })
      : [];
    return { region: this.region, bands, counters: { ...this.counters } };
  }
}
