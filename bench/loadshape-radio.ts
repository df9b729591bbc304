/**
 * A radio that plays the shared uplink load shape (../shared/perf/README.md,
 * "Load shape"; loadshape.py is its reference): packet i is received at
 * LOAD_START_NS + i·1e9/LOAD_RATE on CLOCK_MONOTONIC, into a modelled RX FIFO
 * of LOAD_FIFO_DEPTH that drops new packets when full, with the payload and
 * metadata of the contract. Like the SX1301 it gives no receive signal: the
 * forwarder finds packets by polling, as it does on the real concentrator.
 *
 * It replaces the radio at the Concentrator boundary only, so everything from
 * the fetch onwards (filtering, rxpk encoding, batching, acks, stats, logs,
 * the status API) is the forwarder's real code.
 */
import { writeFileSync } from 'node:fs';
import type { Concentrator } from '../hal/concentrator.js';
import type { RxPacket, SendResult, SpreadingFactor, TxStatus } from '../hal/types.js';

/** EU868 8-channel plan of the load shape: [freq Hz, rf chain]. */
const EU868: readonly (readonly [number, number])[] = [
  [868_100_000, 1], [868_300_000, 1], [868_500_000, 1], [867_100_000, 0],
  [867_300_000, 0], [867_500_000, 0], [867_700_000, 0], [867_900_000, 0],
];

/** lowbias32 integer hash (uint32 → uint32), as the load shape defines it. */
export function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** Settings read from the LOAD_* environment of measure.py. */
export interface LoadShape {
  rate: number;
  count: number;
  startNs: bigint;
  fifoDepth: number;
  summaryPath?: string;
}

export function loadShapeFromEnv(env: NodeJS.ProcessEnv = process.env): LoadShape {
  const rate = Number(env.LOAD_RATE ?? '100');
  const count = Number(env.LOAD_COUNT ?? String(Math.min(20_000, Math.round(10 * rate))));
  const startNs = env.LOAD_START_NS !== undefined ? BigInt(env.LOAD_START_NS) : process.hrtime.bigint() + 1_500_000_000n;
  const fifoDepth = Math.max(1, Number(env.LOAD_FIFO_DEPTH ?? '16'));
  return { rate, count, startNs, fifoDepth, summaryPath: env.LOAD_SUMMARY };
}

/** The payload of packet `i` received at `tNs` (README table "Payload of packet i"). */
export function loadShapePayload(i: number, tNs: bigint): Uint8Array {
  const n = 23 + (i % 8);
  const b = Buffer.alloc(n);
  b[0] = 0x40;
  b.writeUInt32LE((0x26010000 + (i % 4096)) >>> 0, 1);
  b[5] = 0;
  b.writeUInt16LE(i & 0xffff, 6);
  b[8] = 1;
  b.writeUInt32LE(i >>> 0, 9);
  b.writeUIntLE(Number((tNs / 1000n) & 0xffff_ffff_ffffn), 13, 6);
  for (let k = 19; k < n; k++) b[k] = mix32((i ^ (k << 24)) >>> 0) & 0xff;
  return b;
}

export class LoadShapeRadio implements Concentrator {
  private readonly originNs = process.hrtime.bigint();
  private readonly fifo: RxPacket[] = [];
  private next = 0;
  private dropped = 0;
  private fetched = 0;
  /** Arrival time of the next packet, ns (cached: BigInt arithmetic per poll is not free). */
  private nextAt: bigint;

  constructor(private readonly shape: LoadShape = loadShapeFromEnv()) {
    this.nextAt = this.at(0);
  }

  /** CLOCK_MONOTONIC ns of packet i (C: start + (uint64_t)((double)i * 1e9 / rate)). */
  private at(i: number): bigint {
    return this.shape.startNs + BigInt(Math.floor((i * 1e9) / this.shape.rate));
  }

  private packet(i: number, tNs: bigint): RxPacket {
    const h = mix32(i);
    const [freqHz, rfChain] = EU868[h & 7]!;
    const sfi = (h >>> 3) % 6;
    return {
      countUs: Number(((tNs - this.originNs) / 1000n) & 0xffff_ffffn),
      freqHz,
      ifChain: h & 7,
      rfChain,
      crcStatus: 'ok',
      radio: { modulation: 'LORA', spreadingFactor: (7 + sfi) as SpreadingFactor, bandwidthHz: 125_000, codeRate: '4/5' },
      rssiDbm: -40 - ((h >>> 8) % 80),
      snrDb: 10 - ((h >>> 16) % (176 + 25 * sfi)) / 10,
      payload: loadShapePayload(i, tNs),
    };
  }

  /** Admits every packet whose time has come (dropping those that find the FIFO full). */
  private admit(): void {
    if (this.next >= this.shape.count) return;
    const now = process.hrtime.bigint();
    while (this.next < this.shape.count && this.nextAt <= now) {
      if (this.fifo.length < this.shape.fifoDepth) this.fifo.push(this.packet(this.next, this.nextAt));
      else this.dropped++;
      this.nextAt = this.at(++this.next);
    }
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    if (this.shape.summaryPath) {
      this.admit();
      writeFileSync(this.shape.summaryPath, JSON.stringify({
        generated: this.next, fifo_dropped: this.dropped, left_in_fifo: this.fifo.length, fetched: this.fetched,
        rate: this.shape.rate, count: this.shape.count, fifo_depth: this.shape.fifoDepth,
      }));
    }
  }

  async receive(max: number): Promise<RxPacket[]> {
    this.admit();
    const out = this.fifo.splice(0, max);
    this.fetched += out.length;
    return out;
  }

  onReceive(): void {
    // No receive signal, like the SX1301: the forwarder polls.
  }

  async send(): Promise<SendResult> {
    return { ok: false, error: 'NOT_STARTED', detail: 'the load-shape radio only receives' };
  }

  async txStatus(): Promise<TxStatus> {
    return 'free';
  }

  async counterUs(): Promise<number> {
    return Number(((process.hrtime.bigint() - this.originNs) / 1000n) & 0xffff_ffffn);
  }

  async ppsCounterUs(): Promise<number | null> {
    return null;
  }
}
