import type { TxGainEntry } from '../hal/index.js';

/** Outcome of choosing a TX gain table entry for a requested power. */
export type PowerChoice =
  | { ok: true; powerDbm: number; exact: boolean }
  | { ok: false; reason: string };

/**
 * Picks the power to transmit at for a request of `requestedDbm` (conducted,
 * antenna gain already subtracted).
 *
 * Rule (decided for pktfwd): the largest LUT power that does not exceed the
 * request, so the gateway never radiates more than the server asked for
 * (regulatory limits are the server's to compute). This is the sx1302_hal
 * "closest lower" rule [S1302 lora_pkt_fwd.c get_tx_gain_lut_index], except
 * that a request below every entry is refused with TX_POWER instead of being
 * sent louder, and a non-exact match is reported in our log only: the TX_ACK
 * stays a plain success, because The Things Stack records sx1302's
 * `{"txpk_ack":{"warn":"TX_POWER"}}` as UNKNOWN_ERROR (server-rules.md).
 * The v4 rule (exact match or TX_POWER) [PF4] would refuse e.g. 15 dBm with a
 * LUT of 14 and 16, losing a downlink a device could have heard.
 */
export function choosePower(lut: readonly TxGainEntry[], requestedDbm: number): PowerChoice {
  let best: number | null = null;
  for (const e of lut) {
    if (e.rfPowerDbm <= requestedDbm && (best === null || e.rfPowerDbm > best)) best = e.rfPowerDbm;
  }
  if (best === null) {
    const lowest = lut.length ? Math.min(...lut.map((e) => e.rfPowerDbm)) : null;
    return {
      ok: false,
      reason: lowest === null ? 'TX gain table is empty' : `requested ${requestedDbm} dBm is below the lowest table power ${lowest} dBm`,
    };
  }
  return { ok: true, powerDbm: best, exact: best === requestedDbm };
}
