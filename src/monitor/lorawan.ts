/**
 * What a gateway can read of a LoRaWAN frame without keys: the MAC header
 * and, for data frames, the frame header [LoRaWAN 1.0.x/1.1 §4: MHDR = MType
 * (bits 7-5), Major (bits 1-0); data frames: DevAddr (4 bytes, LSB first),
 * FCtrl, FCnt (2 bytes, LSB first); join-request: JoinEUI, DevEUI (8 bytes
 * each, LSB first), DevNonce; LoRaWAN 1.1 §6.2.4 rejoin-request: RejoinType,
 * then NetID (3) and DevEUI for types 0 and 2, JoinEUI and DevEUI for type 1].
 * EUIs and DevAddr are shown most significant byte first, as network servers
 * show them. Radio input: any bytes at all give a result or null, never an
 * exception.
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
  /** RejoinRequest: its type (0, 1 or 2). */
  rejoinType?: number;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

/** Bytes sent least significant first, as hex most significant first (runs for every logged uplink: no copies). */
function hexLsbFirst(b: Uint8Array): string {
  let s = '';
  for (let i = b.length - 1; i >= 0; i--) s += HEX[b[i]!]!;
  return s;
}

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
  if (mtype === 'RejoinRequest') {
    // Type 0/2: MHDR, type, NetID(3), DevEUI(8), RJcount0(2), MIC(4) = 19 bytes; type 1: JoinEUI(8) for NetID, 24 bytes.
    const type = phy[1];
    if ((type === 0 || type === 2) && phy.length === 19) return { mtype, rejoinType: type, devEui: hexLsbFirst(phy.subarray(5, 13)) };
    if (type === 1 && phy.length === 24) return { mtype, rejoinType: 1, joinEui: hexLsbFirst(phy.subarray(2, 10)), devEui: hexLsbFirst(phy.subarray(10, 18)) };
    return { mtype };
  }
  if (mtype === 'JoinAccept' || mtype === 'Proprietary') return { mtype };
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

/**
 * The header as words for a log line or a terminal: "UnconfirmedDataUp
 * DevAddr 26011BDA FCnt 12", "JoinRequest JoinEUI … DevEUI …", or "not
 * LoRaWAN" for null.
 */
export function describeLorawan(h: Partial<LorawanHeader> | null): string {
  if (!h || !h.mtype) return 'not LoRaWAN';
  const words: string[] = [h.mtype];
  if (h.devAddr !== undefined) words.push(`DevAddr ${h.devAddr}`);
  if (h.fcnt !== undefined) words.push(`FCnt ${h.fcnt}`);
  if (h.joinEui !== undefined) words.push(`JoinEUI ${h.joinEui}`);
  if (h.devEui !== undefined) words.push(`DevEUI ${h.devEui}`);
  return words.join(' ');
}
