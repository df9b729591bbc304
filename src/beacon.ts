/**
 * Class B beacons: the frame and when and where it goes. Facts:
 * constants.md §9 (the reference forwarder's layout, sizes per SF, CRC,
 * coordinates encoding, channel hopping, TX settings) which follows the
 * LoRaWAN Class B beacon specification; our own code.
 *
 * Frame, little-endian: RFU1 zeros | time (4 B, GPS seconds) | CRC1 (2 B,
 * over RFU1 and time) | info descriptor (1) | latitude (3) | longitude (3) |
 * RFU2 zeros | CRC2 (2 B, over info descriptor .. RFU2).
 */
import type { Logger } from 'pino';
import { guard, type Concentrator, type LoraBandwidthHz, type TxPacket } from '../hal/index.js';
import type { GatewayConf } from './config/index.js';
import type { GpsService } from './gps.js';
import type { TxScheduler } from './tx-scheduler.js';

/** RFU sizes per spreading factor, and so the frame size [constants.md §9]. */
export const BEACON_LAYOUT: Readonly<Record<number, { rfu1: number; rfu2: number }>> = {
  8: { rfu1: 1, rfu2: 3 }, // 19 bytes
  9: { rfu1: 2, rfu2: 0 }, // 17 bytes (EU868, SF9/BW125)
  10: { rfu1: 3, rfu2: 1 }, // 19 bytes
  12: { rfu1: 5, rfu2: 3 }, // 23 bytes (US915, SF12/BW500)
};

/** CRC-16, polynomial 0x1021, initial value 0, MSB first, no reflection, no final XOR (CRC-16/XMODEM). */
export function beaconCrc16(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** Degrees → the 24-bit two's complement of the frame: lat/90·2²³, lon/180·2²³, truncated, clamped. */
export function encodeCoordinate(deg: number, range: 90 | 180): number {
  const v = Math.trunc((deg / range) * 2 ** 23);
  return Math.max(-(2 ** 23), Math.min(2 ** 23 - 1, v));
}

/** The beacon frame for GPS second `gpsSeconds`. */
export function beaconPayload(o: { sf: number; gpsSeconds: number; infoDesc: number; lat: number; lon: number }): Buffer {
  const layout = BEACON_LAYOUT[o.sf];
  if (!layout) throw new RangeError(`no beacon layout for SF${o.sf} (8, 9, 10 or 12)`);
  const { rfu1, rfu2 } = layout;
  const buf = Buffer.alloc(rfu1 + 4 + 2 + 7 + rfu2 + 2);
  buf.writeUInt32LE(o.gpsSeconds >>> 0, rfu1);
  buf.writeUInt16LE(beaconCrc16(buf.subarray(0, rfu1 + 4)), rfu1 + 4);
  const g = rfu1 + 6;
  buf[g] = o.infoDesc & 0xff;
  buf.writeIntLE(encodeCoordinate(o.lat, 90), g + 1, 3);
  buf.writeIntLE(encodeCoordinate(o.lon, 180), g + 4, 3);
  buf.writeUInt16LE(beaconCrc16(buf.subarray(g, g + 7 + rfu2)), g + 7 + rfu2);
  return buf;
}

/** Channel of the beacon at `gpsSeconds`: floor(t / period) mod channels. */
export function beaconFrequencyHz(o: { gpsSeconds: number; periodS: number; freqHz: number; freqNb: number; stepHz: number }): number {
  const chan = Math.floor(o.gpsSeconds / o.periodS) % o.freqNb;
  return o.freqHz + chan * o.stepHz;
}

/** The GPS seconds of the first beacon strictly after `gpsSeconds`: the next multiple of the period. */
export function nextBeaconSecond(gpsSeconds: number, periodS: number): number {
  return (Math.floor(gpsSeconds / periodS) + 1) * periodS;
}

/** LoRaWAN TBeaconDelay: the beacon starts 1.5 ms after its GPS second. */
export const BEACON_DELAY_US = 1500;

/** Beacons kept queued ahead (PF4 keeps 3). */
export const BEACONS_AHEAD = 3;

/**
 * Keeps the next {@link BEACONS_AHEAD} beacons in the JIT queue while the GPS
 * reference is precise and its crystal correction settled (as the reference
 * does: no beacon on a coarse or fresh reference). Each is timestamped at its
 * GPS second + TBeaconDelay, on the channel of that period, with the
 * frequency corrected by the crystal error. A beacon the queue refuses is
 * skipped (the next period is tried).
 */
export class BeaconService {
  private timer: NodeJS.Timeout | null = null;
  /** GPS seconds of the last beacon queued. */
  private last: number | null = null;
  private queued: number[] = [];
  private busy = false;

  constructor(
    private readonly o: {
      gateway: GatewayConf; gps: GpsService; scheduler: TxScheduler; concentrator: Concentrator; log: Logger;
      /** Told of each exception caught by the guard of the beacon timer. */
      onInternalError?: (handler: string) => void;
    },
  ) {}

  start(): void {
    if (this.o.gateway.beaconPeriodS <= 0) return;
    const tick = guard(this.o.log, this.o.onInternalError ?? (() => undefined), 'beacon timer', () => this.tick());
    this.timer = setInterval(tick, 1000);
    tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The radio counter restarted: the queued beacons were dropped with the JIT queue; queue anew. */
  counterRestarted(): void {
    this.last = null;
    this.queued = [];
  }

  get queuedAhead(): number {
    return this.queued.length;
  }

  /** One pass: drop the beacons gone by, top the queue up. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const g = this.o.gateway;
      const gps = this.o.gps;
      if (!gps.locked() || !gps.reference.xtalCorrectOk) {
        this.last = null;
        this.queued = [];
        return;
      }
      const now = await this.o.concentrator.counterUs();
      const nowGpsMs = gps.reference.countToGpsMs(now, performance.now());
      if (nowGpsMs === null) return;
      const nowS = nowGpsMs / 1000;
      this.queued = this.queued.filter((t) => t > nowS - 1);
      // At least 2 s ahead, so the JIT queue (and its 3 s beacon guard) has room.
      let last: number = this.last === null || this.last < nowS ? nextBeaconSecond(nowS + 2, g.beaconPeriodS) - g.beaconPeriodS : this.last;
      while (this.queued.length < BEACONS_AHEAD) {
        const t: number = last + g.beaconPeriodS;
        last = t;
        this.last = t;
        const count = gps.gpsToCount(t * 1000);
        if (count === null) return;
        const loc = gps.location() ?? { lati: g.refLatitude, long: g.refLongitude };
        const freq = beaconFrequencyHz({ gpsSeconds: t, periodS: g.beaconPeriodS, freqHz: g.beaconFreqHz, freqNb: g.beaconFreqNb, stepHz: g.beaconFreqStepHz });
        const packet: TxPacket = {
          mode: 'timestamped', countUs: (count + BEACON_DELAY_US) >>> 0, freqHz: Math.round(freq * gps.reference.xtalCorrect), rfChain: 0,
          powerDbm: g.beaconPowerDbm, radio: { modulation: 'LORA', spreadingFactor: g.beaconDatarate as 8 | 9 | 10 | 12, bandwidthHz: g.beaconBwHz as LoraBandwidthHz, codeRate: '4/5' },
          invertPolarity: false, preambleSymbols: 10, noCrc: true, noHeader: true,
          payload: beaconPayload({ sf: g.beaconDatarate, gpsSeconds: t, infoDesc: g.beaconInfodesc, lat: loc.lati, lon: loc.long }),
        };
        const r = await this.o.scheduler.scheduleBeacon(packet);
        if (r.ok) {
          this.queued.push(t);
          this.o.log.info({ gpsSeconds: t, countUs: packet.countUs, freqHz: packet.freqHz }, 'beacon queued');
        } else {
          this.o.log.warn({ gpsSeconds: t, error: r.error, reason: r.reason }, 'beacon not queued; trying the next period');
          return;
        }
      }
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'beacon scheduling failed');
    } finally {
      this.busy = false;
    }
  }
}
