/**
 * u-blox UBX binary messages: framing with the 8-bit Fletcher checksum,
 * NAV-TIMEGPS (class 0x01, id 0x20) and the CFG-MSG that turns it on, and a
 * byte-stream framer that separates UBX frames from NMEA lines on the same
 * serial port. Facts: shared/reference/gps.md §1 and §3 (frame layout,
 * payload offsets, the reference's CFG-MSG bytes); our own code.
 */

/** Checksum over class, id, length and payload: CK_A += b; CK_B += CK_A (8-bit). */
export function ubxChecksum(body: Uint8Array): [number, number] {
  let a = 0;
  let b = 0;
  for (const x of body) {
    a = (a + x) & 0xff;
    b = (b + a) & 0xff;
  }
  return [a, b];
}

/** A whole UBX frame: sync chars, class, id, length (LE), payload, checksum. */
export function ubxFrame(cls: number, id: number, payload: Uint8Array): Buffer {
  const body = Buffer.alloc(4 + payload.length);
  body[0] = cls;
  body[1] = id;
  body.writeUInt16LE(payload.length, 2);
  Buffer.from(payload).copy(body, 4);
  const [a, b] = ubxChecksum(body);
  return Buffer.concat([Buffer.from([0xb5, 0x62]), body, Buffer.from([a, b])]);
}

/**
 * CFG-MSG enabling NAV-TIMEGPS once per navigation solution on UART1 and
 * UART2 (rates per port: DDC, UART1, UART2, USB, SPI, reserved), the message
 * the reference sends at open: B5 62 06 01 08 00 01 20 00 01 01 00 00 00 32 94.
 */
export function cfgMsgNavTimegps(): Buffer {
  return ubxFrame(0x06, 0x01, Uint8Array.from([0x01, 0x20, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00]));
}

/** CFG-MSG enabling NAV-PVT (class 0x01, id 0x07) once per epoch on every port, as for NAV-TIMEGPS: the position of a UBX-only receiver. */
export function cfgMsgNavPvt(): Buffer {
  return ubxFrame(0x06, 0x01, Uint8Array.from([0x01, 0x07, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00]));
}

/** NAV-PVT: the fix and position (u-blox 8/M8 Receiver Description UBX-13003221, UBX-NAV-PVT; 92-byte payload, 84 on protocol 14). */
export interface NavPvt {
  /** fixType: 0 none, 1 dead reckoning, 2 2D, 3 3D, 4 GNSS + DR, 5 time only. */
  fixType: number;
  /** flags bit 0, gnssFixOK: the fix is within its accuracy masks. */
  fixOk: boolean;
  satellites: number;
  lat: number;
  lon: number;
  /** Height above mean sea level, m. */
  altM: number;
}

/** Reads a NAV-PVT payload, or null when it is not one. */
export function parseNavPvt(payload: Uint8Array): NavPvt | null {
  if (payload.length !== 92 && payload.length !== 84) return null;
  const p = Buffer.from(payload);
  return {
    fixType: p[20]!, fixOk: (p[21]! & 1) !== 0, satellites: p[23]!,
    lon: p.readInt32LE(24) / 1e7, lat: p.readInt32LE(28) / 1e7, altM: p.readInt32LE(36) / 1000,
  };
}

/** NAV-TIMEGPS content. */
export interface NavTimegps {
  /** GPS time of week, ms. */
  iTowMs: number;
  /** Fraction, ns (±500 000). */
  fTowNs: number;
  week: number;
  /** GPS − UTC, s. */
  leapS: number;
  towValid: boolean;
  weekValid: boolean;
  leapSValid: boolean;
  /** Time accuracy estimate, ns. */
  tAccNs: number;
  /** GPS time, ms since the GPS epoch (1980-01-06), fraction included. */
  gpsMs: number;
}

/** Decodes a NAV-TIMEGPS payload (16 bytes), or null for another length. */
export function parseNavTimegps(payload: Uint8Array): NavTimegps | null {
  if (payload.length !== 16) return null;
  const p = Buffer.from(payload);
  const iTowMs = p.readUInt32LE(0);
  const fTowNs = p.readInt32LE(4);
  const week = p.readInt16LE(8);
  const valid = p[11]!;
  return {
    iTowMs, fTowNs, week, leapS: p.readInt8(10), towValid: (valid & 1) !== 0, weekValid: (valid & 2) !== 0, leapSValid: (valid & 4) !== 0,
    tAccNs: p.readUInt32LE(12), gpsMs: week * 604_800_000 + iTowMs + fTowNs / 1e6,
  };
}

/** What the framer takes out of the byte stream. */
export type GpsFrame =
  | { kind: 'nmea'; line: string }
  | { kind: 'ubx'; cls: number; id: number; payload: Buffer }
  | { kind: 'bad-ubx'; detail: string };

/** Largest UBX payload we accept (NAV-TIMEGPS is 16; receivers send up to a few hundred). */
const UBX_MAX_PAYLOAD = 1024;
const NMEA_MAX_LINE = 512;

/**
 * Splits a serial byte stream into NMEA lines (`$` to LF) and UBX frames
 * (B5 62 ... checksum), as the reference's scanner does (gps.md §1): a bad
 * checksum is reported and scanning resumes at the next byte; bytes that
 * start nothing are skipped (and counted).
 */
export class GpsFramer {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes skipped because they started no frame. */
  skipped = 0;

  push(chunk: Buffer): GpsFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: GpsFrame[] = [];
    let i = 0;
    const b = this.buf;
    while (i < b.length) {
      const c = b[i]!;
      if (c === 0xb5) {
        if (b.length - i < 2) break;
        if (b[i + 1] !== 0x62) {
          i++;
          this.skipped++;
          continue;
        }
        if (b.length - i < 6) break;
        const len = b.readUInt16LE(i + 4);
        if (len > UBX_MAX_PAYLOAD) {
          out.push({ kind: 'bad-ubx', detail: `length ${len}` });
          i++;
          continue;
        }
        if (b.length - i < 8 + len) break;
        const body = b.subarray(i + 2, i + 6 + len);
        const [ca, cb] = ubxChecksum(body);
        if (b[i + 6 + len] !== ca || b[i + 7 + len] !== cb) {
          out.push({ kind: 'bad-ubx', detail: `checksum of class 0x${body[0]!.toString(16)} id 0x${body[1]!.toString(16)}` });
          i++;
          continue;
        }
        out.push({ kind: 'ubx', cls: body[0]!, id: body[1]!, payload: Buffer.from(body.subarray(4)) });
        i += 8 + len;
        continue;
      }
      if (c === 0x24) {
        const nl = b.indexOf(0x0a, i);
        if (nl < 0) {
          if (b.length - i > NMEA_MAX_LINE) {
            // A `$` with no end in sight: drop it and look further.
            i++;
            this.skipped++;
            continue;
          }
          break;
        }
        // A UBX frame inside what looks like a line means the line was cut: hand over what precedes it.
        const ubxAt = b.indexOf(Buffer.from([0xb5, 0x62]), i);
        const end = ubxAt >= 0 && ubxAt < nl ? ubxAt : nl;
        out.push({ kind: 'nmea', line: b.subarray(i, end).toString('latin1') });
        i = end === nl ? nl + 1 : end;
        continue;
      }
      i++;
      if (c !== 0x0a && c !== 0x0d) this.skipped++;
    }
    this.buf = Buffer.from(b.subarray(i));
    return out;
  }
}
