/**
 * What a gateway can read of a LoRaWAN frame without keys: the MAC header
 * and, for data frames, the frame header [LoRaWAN 1.0.x/1.1 §4: MHDR = MType
 * (bits 7-5), Major (bits 1-0); data frames: DevAddr (4 bytes, LSB first),
 * FCtrl, FCnt (2 bytes, LSB first); join-request: JoinEUI, DevEUI (8 bytes
 * each, LSB first), DevNonce].
 */

/** MType names, by the 3-bit value. */
const MTYPES = ['JoinRequest', 'JoinAccept', 'UnconfirmedDataUp', 'UnconfirmedDataDown', 'ConfirmedDataUp', 'ConfirmedDataDown', 'RejoinRequest', 'Proprietary'] as const;

/** The readable header fields; absent when the frame is too short for them. */
export interface LorawanHeader {
  mtype: (typeof MTYPES)[number];
  devAddr?: string;
  fcnt?: number;
  /** FCtrl.ADR (uplinks) and the FOpts length. */
  adr?: boolean;
  foptsLen?: number;
  fport?: number;
  joinEui?: string;
  devEui?: string;
}

const hexLsbFirst = (b: Uint8Array) => Buffer.from(b).reverse().toString('hex').toUpperCase();

/** Decodes the header of `phy`, or returns null for a frame that cannot be LoRaWAN (empty, wrong major version). */
export function decodeLorawanHeader(phy: Uint8Array): LorawanHeader | null {
  if (phy.length < 1) return null;
  const mhdr = phy[0]!;
  if ((mhdr & 0x03) !== 0) return null; // Major: only LoRaWAN R1 (0) exists
  const mtype = MTYPES[mhdr >> 5]!;
  if (mtype === 'JoinRequest') {
    if (phy.length !== 23) return { mtype };
    return { mtype, joinEui: hexLsbFirst(phy.subarray(1, 9)), devEui: hexLsbFirst(phy.subarray(9, 17)) };
  }
  if (mtype === 'JoinAccept' || mtype === 'Proprietary' || mtype === 'RejoinRequest') return { mtype };
  // Data frame: MHDR, DevAddr(4), FCtrl, FCnt(2), FOpts(0-15), [FPort, FRMPayload], MIC(4).
  if (phy.length < 12) return { mtype };
  const fctrl = phy[5]!;
  const foptsLen = fctrl & 0x0f;
  const out: LorawanHeader = {
    mtype,
    devAddr: hexLsbFirst(phy.subarray(1, 5)),
    fcnt: phy[6]! | (phy[7]! << 8),
    adr: (fctrl & 0x80) !== 0,
    foptsLen,
  };
  const portAt = 8 + foptsLen;
  if (phy.length > portAt + 4) out.fport = phy[portAt]!;
  return out;
}
