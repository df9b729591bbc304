/**
 * The SX1301 emulator's receive side (sx1301-emulator.ts): packets on the
 * air until the counter reaches their latch, then the 16-packet FIFO over a
 * 4096-byte ring, as the registers 11-15 and the RX data port present it
 * [shared/sx1301/fake-chip/README.md "RX FIFO"].
 */
import { counterDiffUs } from '../types.js';
import type { Sx1301AirPacket } from './sx1301-emulator-types.js';

const RX_RING = 4096;
const FIFO_DEPTH = 16;

interface QueuedPacket {
  addr: number;
  size: number;
  status: number;
}

export class EmulatedRxFifo {
  /** Packets queued, and dropped for a full FIFO. */
  queued = 0;
  dropped = 0;
  private readonly ring = new Uint8Array(RX_RING);
  private write = 0;
  private ptr = 0;
  private readonly fifo: QueuedPacket[] = [];
  /** Injected packets whose raw timestamp is still ahead of the counter. */
  private airborne: { p: Sx1301AirPacket; raw: number; sf: number }[] = [];

  constructor(private readonly counterUs: () => number) {}

  /** A packet on the air (already accepted by the demodulators), latched at `raw`; `sf` as the modem reports it. */
  inject(p: Sx1301AirPacket, raw: number, sf: number): void {
    this.airborne.push({ p, raw, sf });
    this.land();
  }

  /** Moves packets whose raw timestamp the counter has reached into the FIFO. */
  land(): void {
    if (this.airborne.length === 0) return;
    const now = this.counterUs();
    const stay: typeof this.airborne = [];
    for (const a of this.airborne) {
      if (counterDiffUs(now, a.raw) < 0) stay.push(a);
      else this.enqueue(a.p, a.raw, a.sf);
    }
    this.airborne = stay;
  }

  private enqueue(p: Sx1301AirPacket, raw: number, sf: number): void {
    if (this.fifo.length >= FIFO_DEPTH) {
      this.dropped++;
      return;
    }
    const size = p.payload.length;
    const meta = Buffer.alloc(16);
    const lora = p.ifChain < 9;
    meta[0] = p.ifChain;
    meta[1] = lora ? (sf << 4) | ((p.cr ?? 1) << 1) : 0;
    const q = (db: number | undefined) => Math.round((db ?? 0) * 4) & 0xff;
    meta[2] = q(p.snrDb);
    meta[3] = q(p.snrMinDb ?? p.snrDb);
    meta[4] = q(p.snrMaxDb ?? p.snrDb);
    meta[5] = (p.rssiRaw ?? 0) & 0xff;
    meta.writeUInt32LE(raw >>> 0, 6);
    meta.writeUInt16LE((p.crc16 ?? 0) & 0xffff, 10);
    const addr = this.write;
    const bytes = Buffer.concat([Buffer.from(p.payload), meta]);
    for (let i = 0; i < bytes.length; i++) this.ring[(addr + i) % RX_RING] = bytes[i]!;
    this.write = (addr + bytes.length) % RX_RING;
    if (this.fifo.length === 0) this.ptr = addr;
    this.fifo.push({ addr, size, status: p.crc === 'ok' ? 0x05 : p.crc === 'bad' ? 0x07 : 0x01 });
    this.queued++;
  }

  /** Registers 11 (packets stored), 12-13 (head address), 14 (status), 15 (size): `offset` 0..4. */
  register(offset: number): number {
    this.land();
    const head = this.fifo[0];
    switch (offset) {
      case 0: return this.fifo.length;
      case 1: return head ? head.addr & 0xff : 0;
      case 2: return head ? head.addr >> 8 : 0;
      case 3: return head ? head.status : 0;
      default: return head ? head.size : 0;
    }
  }

  /** The RX data port: the next byte of the ring. */
  readData(): number {
    const v = this.ring[this.ptr]!;
    this.ptr = (this.ptr + 1) % RX_RING;
    return v;
  }

  /** RX_DATA_BUF_ADDR written. */
  setPointer(addr: number): void {
    this.ptr = addr % RX_RING;
  }

  /** A write to register 11: the head packet is done. */
  pop(): void {
    this.fifo.shift();
    if (this.fifo[0]) this.ptr = this.fifo[0].addr;
  }

  /** Soft reset: FIFO and packets in flight gone. */
  clear(): void {
    this.fifo.length = 0;
    this.airborne = [];
    this.write = 0;
    this.ptr = 0;
  }
}
