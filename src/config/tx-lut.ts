/**
 * `SX1301_conf.tx_lut_0..15`: the TX gain table.
 *
 * PF4 walks tx_lut_0..15, skips absent indexes, and the table size is the
 * number of objects found [PF4 parse_SX1301_configuration]; we keep that
 * order. Gain ranges are those `lgw_txgain_setconf` accepts [HAL5 loragw_hal.c]:
 * dig_gain 0..3, dac_gain 3 only, mix_gain 8..15, pa_gain 0..3.
 */
import type { TxGainEntry } from '../../hal/index.js';
import { int, oneOf, type Section } from './section.js';

/** TX_GAIN_LUT_SIZE_MAX [HAL5 loragw_hal.h]. */
export const TX_LUT_SIZE_MAX = 16;

/** A key naming a LUT entry: `tx_lut_` and a decimal index without leading zeros. */
const LUT_KEY = /^tx_lut_(0|[1-9]\d*)$/;

/** Reads every tx_lut_N of `sx1301`; N ≥ 16 and repeated rf_power are errors. */
export function readTxLut(sx1301: Section): TxGainEntry[] {
  for (const key of sx1301.keys()) {
    const m = LUT_KEY.exec(key);
    if (m && Number(m[1]) >= TX_LUT_SIZE_MAX) {
      sx1301.fail(key, `at most ${TX_LUT_SIZE_MAX} TX gain entries (tx_lut_0..tx_lut_${TX_LUT_SIZE_MAX - 1})`, sx1301.raw(key));
    }
  }
  const lut: TxGainEntry[] = [];
  const powerOwner = new Map<number, string>();
  for (let i = 0; i < TX_LUT_SIZE_MAX; i++) {
    const key = `tx_lut_${i}`;
    if (!sx1301.has(key)) continue;
    const e = sx1301.child(key);
    const entry: TxGainEntry = {
      // rf_power and mix_gain have no usable default: PF4's 0 would be a wrong power or a mixer gain HAL5 refuses.
      rfPowerDbm: e.require('rf_power', int(-128, 127, 'an integer dBm -128..127')),
      paGain: e.get('pa_gain', int(0, 3), 0),
      dacGain: e.get('dac_gain', oneOf([3] as const, '3 (the only DAC gain HAL5 supports)'), 3),
      digGain: e.get('dig_gain', int(0, 3), 0),
      mixGain: e.require('mix_gain', int(8, 15)),
    };
    const owner = powerOwner.get(entry.rfPowerDbm);
    if (owner !== undefined) {
      e.fail('rf_power', `a power not already in the TX LUT (${owner} has ${entry.rfPowerDbm} dBm)`, entry.rfPowerDbm);
    }
    powerOwner.set(entry.rfPowerDbm, key);
    e.warnUnknown();
    lut.push(entry);
  }
  return lut;
}
