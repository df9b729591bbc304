import type { BoardConfig, RadioParams } from '../types.js';

/** Where a frame was demodulated: the IF channel and its RF chain. */
export interface ChannelMatch {
  /** rxpk `chan`: multi-SF 0..7, LoRa std 8, FSK 9 (the SX1301 IF chain numbering). */
  ifChain: number;
  rfChain: number;
  /** Centre frequency of that channel, Hz (what the SX1301 reports as the frame's frequency). */
  freqHz: number;
}

/** IF chain numbers of the SX1301 [HAL5 loragw_hal.h: LGW_MULTI_NB 8, then std, then FSK]. */
export const IF_CHAIN_LORA_STD = 8;
export const IF_CHAIN_FSK = 9;

/**
 * Largest offset from a channel's centre at which the sim still receives a
 * frame, as a fraction of the channel bandwidth. LoRa demodulators tolerate a
 * carrier offset of about ±25 % of the bandwidth (SX1276 datasheet, "frequency
 * offset tolerance"); the same bound is used for FSK.
 */
export const FREQ_TOLERANCE_OF_BW = 0.25;

/**
 * Finds the enabled channel of the plan that receives a frame at `freqHz` with
 * `radio` parameters, or null when none does (as the real concentrator would
 * simply not hear it).
 */
export function matchChannel(board: BoardConfig, freqHz: number, radio: RadioParams): ChannelMatch | null {
  const centre = (r: number, ifHz: number) => {
    const rc = board.radios[r];
    return rc && rc.enable ? rc.freqHz + ifHz : null;
  };
  const near = (c: number | null, bw: number) => c !== null && Math.abs(freqHz - c) <= bw * FREQ_TOLERANCE_OF_BW;
  if (radio.modulation === 'LORA') {
    if (radio.bandwidthHz === 125000) {
      for (const [i, ch] of board.multiSfChannels.entries()) {
        const c = ch.enable ? centre(ch.radio, ch.ifHz) : null;
        if (near(c, 125000)) return { ifChain: i, rfChain: ch.radio, freqHz: c! };
      }
    }
    const std = board.loraStdChannel;
    const c = std.enable ? centre(std.radio, std.ifHz) : null;
    if (near(c, std.bandwidthHz) && std.bandwidthHz === radio.bandwidthHz && std.spreadingFactor === radio.spreadingFactor) {
      return { ifChain: IF_CHAIN_LORA_STD, rfChain: std.radio, freqHz: c! };
    }
    return null;
  }
  const fsk = board.fskChannel;
  const c = fsk.enable ? centre(fsk.radio, fsk.ifHz) : null;
  if (near(c, fsk.bandwidthHz) && fsk.datarateBps === radio.datarateBps) {
    return { ifChain: IF_CHAIN_FSK, rfChain: fsk.radio, freqHz: c! };
  }
  return null;
}
