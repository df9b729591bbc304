/**
 * Fetching received packets from the SX1301 FIFO and decoding them as
 * libloragw v5.0.1 `lgw_receive` does (facts: sx1301.md §4, checked against
 * the golden eu868 replay; the code is ours).
 */
import type { BoardConfig, CodeRate, CrcStatus, LoraBandwidthHz, RxPacket, SpreadingFactor } from '../types.js';
import type { Sx1301Registers } from './registers.js';

/** FIFO depth of the SX1301, packets. */
export const RX_FIFO_DEPTH = 16;
/** Added to the RSSI of the multi-SF channels (libloragw RSSI_MULTI_BIAS = −35 is subtracted). */
const RSSI_MULTI_BIAS_DB = 35;

/** A received packet with the fields the SX1301 adds beyond {@link RxPacket}. */
export interface Sx1301RxPacket extends RxPacket {
  snrMinDb?: number;
  snrMaxDb?: number;
  /** The payload CRC as the chip computed it. */
  crc16: number;
  /** The counter value the chip latched, before the timestamp correction. */
  rawCountUs: number;
}

const CODE_RATES: Record<number, CodeRate> = { 1: '4/5', 2: '4/6', 3: '4/7', 4: '4/8' };
const s8 = (b: number) => (b << 24) >> 24;

/**
 * µs between the end of a LoRa frame and the moment the chip latched its
 * timestamp [sx1301.md §4 "Timestamp correction"]. `bwHz` is the channel
 * bandwidth; `multiSf` selects the base delay of the multi-SF modem.
 */
export function loraTimestampCorrectionUs(p: { multiSf: boolean; bwHz: number; sf: number; cr: number; size: number; crc: boolean }): number {
  const bwPow = p.bwHz === 500000 ? 4 : p.bwHz === 250000 ? 2 : 1;
  const x = p.multiSf ? 114 : p.bwHz === 500000 ? 16 : p.bwHz === 250000 ? 32 : 64;
  const ppm = (p.bwHz === 125000 && p.sf >= 11) || (p.bwHz === 250000 && p.sf === 12) ? 1 : 0;
  const crcEn = p.crc ? 1 : 0;
  const units = 2 * (p.size + 2 * crcEn);
  let y: number;
  let z: number;
  // libloragw tests this in unsigned arithmetic: only an exact 0 takes the short branch.
  if (units - (p.sf - 7) === 0) {
    y = Math.trunc((2 ** (p.sf - 1) * (p.sf + 1) + 3 * 2 ** (p.sf - 4)) / bwPow);
    z = Math.trunc((32 * (units + 5)) / bwPow);
  } else {
    y = Math.trunc((2 ** (p.sf - 1) * (p.sf + 1) + (4 - ppm) * 2 ** (p.sf - 4)) / bwPow);
    z = Math.trunc(((16 + 4 * p.cr) * (((units - p.sf + 6) % (p.sf - 2 * ppm)) + 1)) / bwPow);
  }
  return x + y + z;
}

/** FSK RSSI from raw + offset [sx1301.md §4]. */
function fskRssi(x: number): number {
  return 60 + 1.5351 * x + 0.003 * x * x;
}

/**
 * Reads up to `max` packets (1..16) from the FIFO and decodes them with the
 * board configuration. Packets with an IF chain the chip should never report
 * (≥ 10) end the fetch, as in the HAL.
 */
export function receiveSx1301(regs: Sx1301Registers, conf: BoardConfig, max: number): Sx1301RxPacket[] {
  const out: Sx1301RxPacket[] = [];
  const limit = Math.max(1, Math.min(RX_FIFO_DEPTH, max));
  while (out.length < limit) {
    const head = regs.readBurst('RX_PACKET_DATA_FIFO_NUM_STORED', 5);
    const stored = head[0]!;
    if (stored === 0 || stored > RX_FIFO_DEPTH) break;
    const status = head[3]! & 0x07;
    const size = head[4]!;
    const buf = regs.readBurst('RX_DATA_BUF_DATA', size + 16);
    regs.write('RX_PACKET_DATA_FIFO_NUM_STORED', 0); // pops the packet
    const m = buf.subarray(size);
    const ifChain = m[0]!;
    if (ifChain >= 10) break;
    const crcStatus: CrcStatus = status === 5 ? 'ok' : status === 1 ? 'none' : 'bad';
    const rawCountUs = m.readUInt32LE(6);
    const rssiRaw = m[5]!;
    const payload = Buffer.from(buf.subarray(0, size));
    const crc16 = m.readUInt16LE(10);
    if (ifChain === 9) {
      const ch = conf.fskChannel;
      const radio = conf.radios[ch.radio];
      const offset = radio?.rssiOffsetDb ?? 0;
      const corr = Math.trunc(680_000 / ch.datarateBps) - 20;
      out.push({
        countUs: (rawCountUs - corr) >>> 0, rawCountUs, freqHz: (radio?.freqHz ?? 0) + ch.ifHz, ifChain, rfChain: ch.radio, crcStatus,
        radio: { modulation: 'FSK', datarateBps: ch.datarateBps }, rssiDbm: fskRssi(rssiRaw + offset), payload, crc16,
      });
      continue;
    }
    const multiSf = ifChain < 8;
    const ch = multiSf ? conf.multiSfChannels[ifChain] : conf.loraStdChannel;
    const rfChain = ch?.radio ?? 0;
    const radio = conf.radios[rfChain];
    const bwHz: LoraBandwidthHz = multiSf ? 125000 : conf.loraStdChannel.bandwidthHz;
    const sf = (m[1]! >> 4) as SpreadingFactor;
    const cr = (m[1]! >> 1) & 0x07;
    const corr = loraTimestampCorrectionUs({ multiSf, bwHz, sf, cr, size, crc: status !== 1 });
    out.push({
      countUs: (rawCountUs - corr) >>> 0, rawCountUs, freqHz: (radio?.freqHz ?? 0) + (ch?.ifHz ?? 0), ifChain, rfChain, crcStatus,
      radio: { modulation: 'LORA', spreadingFactor: sf, bandwidthHz: bwHz, codeRate: CODE_RATES[cr] ?? '4/5' },
      rssiDbm: rssiRaw + (radio?.rssiOffsetDb ?? 0) + (multiSf ? RSSI_MULTI_BIAS_DB : 0),
      snrDb: s8(m[2]!) / 4, snrMinDb: s8(m[3]!) / 4, snrMaxDb: s8(m[4]!) / 4, payload, crc16,
    });
  }
  return out;
}
