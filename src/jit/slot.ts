import { counterDiffUs } from '../../hal/index.js';
import type { ResolvedJitTimings } from './constants.js';

/** Kind of queued frame: A = tmst, B = tmms / ping slot, C = immediate, or a Class B beacon. */
export type JitClass = 'A' | 'B' | 'C' | 'beacon';

/** The air a queued or candidate frame claims around its target. */
export interface JitSlot {
  cls: JitClass;
  /** Target counter value, u32 µs. */
  countUs: number;
  /** Air kept free before the target, µs. */
  preDelayUs: number;
  /** Air kept free after the target, µs. */
  postDelayUs: number;
}

/**
 * Air a frame claims before its target [PF4 jitqueue.c]: downlinks need the
 * hand-over lead and the radio start (31.5 ms by default); a beacon adds the
 * beacon guard (3.0315 s) so no ping slot sits just before it.
 */
export function preDelayUs(cls: JitClass, t: ResolvedJitTimings): number {
  const base = t.txStartDelayUs + t.txJitDelayUs;
  return cls === 'beacon' ? base + t.beaconGuardUs : base;
}

/**
 * Air a frame claims after its target: its time on air, or for a beacon
 * BEACON_RESERVED (2.12 s, airtime plus margin) [PF4 jitqueue.c]. A beacon
 * longer than that (never in LoRaWAN) keeps its own airtime.
 */
export function postDelayUs(cls: JitClass, timeOnAirUs: number, t: ResolvedJitTimings): number {
  return cls === 'beacon' ? Math.max(t.beaconReservedUs, timeOnAirUs) : timeOnAirUs;
}

/**
 * Whether a candidate frame overlaps a queued one, margins included
 * [PF4 jitqueue.c]. Class A and C candidates see a queued beacon's pre-delay
 * as TX_START_DELAY only: their timing is fixed by the device, so the beacon
 * guard (meant for ping slots) does not apply to them. Distances are signed
 * 32-bit, so the test is right across the counter wrap.
 */
export function slotsCollide(candidate: JitSlot, queued: JitSlot, t: ResolvedJitTimings): boolean {
  const queuedPre =
    queued.cls === 'beacon' && (candidate.cls === 'A' || candidate.cls === 'C') ? t.txStartDelayUs : queued.preDelayUs;
  const afterUs = counterDiffUs(candidate.countUs, queued.countUs);
  if (afterUs >= 0) return afterUs <= candidate.preDelayUs + queued.postDelayUs + t.txMarginDelayUs;
  return -afterUs <= queuedPre + candidate.postDelayUs + t.txMarginDelayUs;
}
