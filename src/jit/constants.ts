/**
 * Tunables of the just-in-time downlink queue: one table, units in the names.
 * Values are those of the Semtech packet forwarder unless stated
 * [PF4 lora_pkt_fwd/src/jitqueue.c, inc/jitqueue.h]; see
 * shared/reference/constants.md §5.
 */

/** Every timing the JIT queue uses. All durations are µs of the concentrator counter. */
export interface JitTimings {
  /** Queue capacity, beacons included (JIT_QUEUE_MAX). */
  capacity: number;
  /** Time the radio needs between the trigger and the first symbol (TX_START_DELAY; the HAL's real value is 1497 µs). */
  txStartDelayUs: number;
  /** Extra gap kept between any two frames, and added to the TOO_LATE bound (TX_MARGIN_DELAY). */
  txMarginDelayUs: number;
  /** Lead time: a frame is handed to the concentrator this long before its target (TX_JIT_DELAY; S1302 and CSD use 40 000). */
  txJitDelayUs: number;
  /** Class A/B targets further ahead than this are TOO_EARLY ((3+1)·128 s, TX_MAX_ADVANCE_DELAY). */
  txMaxAdvanceUs: number;
  /** No Class B ping slot may start this long before a beacon (BEACON_GUARD). */
  beaconGuardUs: number;
  /** Air kept free after a beacon's target: its airtime plus margin (BEACON_RESERVED). */
  beaconReservedUs: number;
  /**
   * First slot tried for a Class C (immediate) frame, counted from now.
   * PF4 uses 1 s, which its source marks as provisional; we follow S1302/CSD, 2·txJitDelayUs,
   * which is the default when this is left undefined.
   */
  classCAsapDelayUs: number | undefined;
  /**
   * Frames due within this long count as near (Class A RX1/RX2 answers, at most ~6 s after their uplink
   * for a join-accept in RX2; Class C ASAP). Not in PF4: see {@link JitTimings.nearReserved}.
   */
  nearHorizonUs: number;
  /**
   * Queue slots kept for near frames: frames due later than {@link JitTimings.nearHorizonUs} may fill at
   * most capacity − nearReserved slots. PF4 has none, so 32 far-future frames (just under TOO_EARLY)
   * refuse every Class A answer for up to 512 s; here they can take 24 of 32 slots, and the 25th far one
   * gets COLLISION_PACKET ("far-future frames already fill …"). Capped at capacity / 4.
   */
  nearReserved: number;
}

/** Default timings: PF4 values, Class C ASAP as in S1302/CSD. */
export const DEFAULT_JIT_TIMINGS: Readonly<JitTimings> = Object.freeze({
  capacity: 32,
  txStartDelayUs: 1_500,
  txMarginDelayUs: 1_000,
  txJitDelayUs: 30_000,
  txMaxAdvanceUs: 512_000_000,
  beaconGuardUs: 3_000_000,
  beaconReservedUs: 2_120_000,
  classCAsapDelayUs: undefined,
  nearHorizonUs: 10_000_000,
  nearReserved: 8,
});

/** {@link JitTimings} with every default applied and derived values filled in. */
export interface ResolvedJitTimings extends JitTimings {
  classCAsapDelayUs: number;
  /** Targets at most this far ahead are TOO_LATE: start + margin + JIT delay (32.5 ms by default). */
  minLeadUs: number;
}

/** Error thrown for invalid options or arguments (a programmer error, never a queue outcome). */
export class JitArgumentError extends RangeError {
  /** Stable error code for callers that branch on it. */
  readonly code = 'ERR_JIT_ARGUMENT';
}

/**
 * Applies {@link DEFAULT_JIT_TIMINGS} under `opts` and checks every value is
 * a non-negative integer (capacity at least 1). Throws {@link JitArgumentError}.
 */
export function resolveJitTimings(opts: Partial<JitTimings> = {}): ResolvedJitTimings {
  const merged: JitTimings = { ...DEFAULT_JIT_TIMINGS };
  for (const [key, value] of Object.entries(opts) as Array<[keyof JitTimings, number | undefined]>) {
    if (value !== undefined) merged[key] = value;
  }
  const asap = merged.classCAsapDelayUs ?? 2 * merged.txJitDelayUs;
  const resolved: ResolvedJitTimings = {
    ...merged,
    classCAsapDelayUs: asap,
    minLeadUs: merged.txStartDelayUs + merged.txMarginDelayUs + merged.txJitDelayUs,
  };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || (value as number) < (key === 'capacity' ? 1 : 0)) {
      throw new JitArgumentError(`JIT timing ${key} must be a non-negative integer${key === 'capacity' ? ' >= 1' : ''}, got ${String(value)}`);
    }
  }
  return resolved;
}
