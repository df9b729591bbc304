/**
 * A register-level SX1301 behind the SpiTransport boundary: the first layer
 * of the emulator issue 4 asks for (house rule 6). It models the register
 * file and its paging as the chip presents them on SPI [sx1301.md §1-2]:
 * - addresses 0-32 and 125-127 on every page, 33-124 per page (pages 0-2;
 *   page 3 holds no registers, libloragw selects it only to start the
 *   calibration), reset values from the register table, VERSION reads 103;
 * - a burst auto-increments the address, except on the data ports 4, 6, 8
 *   and 10 (RX buffer, TX buffer, capture RAM, MCU PROM), whose bytes are
 *   captured per port;
 * - SOFT_RESET (address 0, bit 7) restores the reset values and page 0;
 * - the two MCU program RAMs behind MCU_PROM_ADDR (9) / MCU_PROM_DATA (10):
 *   a write goes to each PROM whose MCU_SELECT_MUX_n (page 0, address 106,
 *   bits 2 and 3) is 0; a read returns the AGC PROM when MCU_SELECT_MUX_1 is
 *   0, else the arbiter's, one byte late (the first read after setting the
 *   address or writing is stale, 0xA5), as the shared fake chip models it
 *   (../shared/sx1301/fake-chip/README.md "MCU program RAM and firmware");
 * - writes to a byte that holds only read-only registers are refused and
 *   recorded as violations, as is touching a paged address on page 3.
 * - the SX1257 radios behind the SPI bridge (page 2): on a rising edge of a
 *   radio's CS, ADDR bit 7 set writes DATA to the radio register, clear
 *   copies the radio register to DATA_READBACK; writing radio register 0
 *   with bit 1 (RX on) sets the PLL lock bit (0x11 bit 1); RADIO_RST going
 *   from 1 to 0 clears the radio registers (as the shared fake chip does).
 * Not modelled yet: running the MCUs (firmware versions), calibration, the
 * AGC handshake, RX FIFO, TX, counters and PPS.
 */
import { SpiError, transferViaSync, type SpiTransport } from '../sx127x/spi-transport.js';
import { SX1301_REGISTER_ROWS } from './register-table.js';

/** One SPI transaction as the emulated chip saw it. */
export interface Sx1301Transaction {
  write: boolean;
  addr: number;
  /** Page in PAGE_REG when the transaction started. */
  page: number;
  data: Buffer;
}

/** Addresses whose bursts stream through one port instead of incrementing. */
export const DATA_PORTS: ReadonlySet<number> = new Set([4, 6, 8, 10]);
const PAGED_FIRST = 33;
const PROM_BYTES = 8192;
const MCU_PROM_ADDR = 9;
const MCU_PROM_DATA = 10;
/** Page 0, address 106: MCU_RST_0/1 (bits 0, 1), MCU_SELECT_MUX_0/1 (bits 2, 3). */
const MCU_CTRL = 106;
/** Page 2 bridge addresses per radio: DATA, DATA_READBACK, ADDR, CS. */
const BRIDGE = [{ data: 33, readback: 34, addr: 35, cs: 37 }, { data: 38, readback: 39, addr: 40, cs: 42 }] as const;
/** Page 2, address 43: RADIO_A_EN, RADIO_B_EN, RADIO_RST (bit 2). */
const RADIO_CTRL = 43;
const PAGED_LAST = 124;

/** Reset image: [common bytes (128), page 0..3 bytes (128 each)], and the read-only mask per byte. */
function resetImage(): { bytes: Uint8Array[]; readOnlyByte: boolean[][] } {
  const bytes = [0, 1, 2, 3, 4].map(() => new Uint8Array(128));
  const writable = [0, 1, 2, 3, 4].map(() => new Array<boolean>(128).fill(false));
  const named = [0, 1, 2, 3, 4].map(() => new Array<boolean>(128).fill(false));
  for (const [, page, addr, offs, , len, readOnly, dflt] of SX1301_REGISTER_ROWS) {
    const bank = page < 0 ? 0 : page + 1;
    let v = dflt < 0 ? dflt + 2 ** len : dflt;
    if (offs + len <= 8) {
      const b = bytes[bank]!;
      b[addr] = (b[addr]! & ~(((1 << len) - 1) << offs)) | ((v << offs) & 0xff);
      named[bank]![addr] = true;
      if (!readOnly) writable[bank]![addr] = true;
    } else {
      for (let i = 0; i < Math.ceil(len / 8); i++) {
        bytes[bank]![addr + i] = v % 256;
        v = Math.floor(v / 256);
        named[bank]![addr + i] = true;
        if (!readOnly) writable[bank]![addr + i] = true;
      }
    }
  }
  return { bytes, readOnlyByte: named.map((n, bank) => n.map((isNamed, a) => isNamed && !writable[bank]![a])) };
}

/** Register-level SX1301 (register file and paging). */
export class Sx1301Emulator implements SpiTransport {
  readonly transactions: Sx1301Transaction[] = [];
  readonly violations: string[] = [];
  /** Bytes written to each data port, in order. */
  readonly portWrites = new Map<number, number[]>();
  private bytes: Uint8Array[];
  private readonly readOnlyByte: boolean[][];
  private closed = false;
  /** PROMs of MCU 0 (arbiter) and MCU 1 (AGC). */
  readonly prom: [Uint8Array, Uint8Array] = [new Uint8Array(PROM_BYTES), new Uint8Array(PROM_BYTES)];
  /** Registers of SX1257 A and B (128 each). */
  readonly radios: [Uint8Array, Uint8Array] = [new Uint8Array(128), new Uint8Array(128)];
  private promPtr = 0;
  /** The byte the PROM port hands out on the next read (one behind the pointer), or null when stale. */
  private promLatch: number | null = null;

  constructor() {
    const img = resetImage();
    this.bytes = img.bytes;
    this.readOnlyByte = img.readOnlyByte;
  }

  /** Page in PAGE_REG. */
  get page(): number {
    return this.bytes[0]![0]! & 0x03;
  }

  /** Raw byte at `addr` as seen from `page` (test control). */
  peek(addr: number, page = this.page): number {
    return this.bytes[this.bank(addr, page)]![addr]!;
  }

  transfer(tx: Buffer): Promise<Buffer> {
    return transferViaSync((b) => this.transferSync(b), tx);
  }

  transferSync(tx: Buffer): Buffer {
    if (this.closed) throw new SpiError('ECLOSED', 'SX1301 emulator: transfer after close');
    if (tx.length < 2) throw new SpiError('EINVAL', 'SX1301 emulator: a transaction is a command byte and at least one data byte');
    const write = (tx[0]! & 0x80) !== 0;
    const addr = tx[0]! & 0x7f;
    const page = this.page;
    const rx = Buffer.alloc(tx.length);
    for (let i = 1; i < tx.length; i++) {
      const a = DATA_PORTS.has(addr) ? addr : addr + i - 1;
      if (a > 127) {
        this.violations.push(`burst from ${addr} runs past address 127`);
        break;
      }
      if (write) this.writeByte(a, tx[i]!);
      else rx[i] = this.readByte(a);
    }
    this.transactions.push({ write, addr, page, data: Buffer.from(write ? tx.subarray(1) : rx.subarray(1)) });
    return rx;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private get mcuCtrl(): number {
    return this.bytes[1]![MCU_CTRL]!;
  }

  private writeProm(v: number): void {
    for (const mcu of [0, 1] as const) {
      if ((this.mcuCtrl & (0x04 << mcu)) === 0) this.prom[mcu]![this.promPtr] = v;
    }
    this.promPtr = (this.promPtr + 1) % PROM_BYTES;
    this.promLatch = null;
  }

  private readProm(): number {
    const src = (this.mcuCtrl & 0x08) === 0 ? this.prom[1]! : this.prom[0]!;
    const out = this.promLatch ?? 0xa5;
    this.promLatch = src[this.promPtr]!;
    this.promPtr = (this.promPtr + 1) % PROM_BYTES;
    return out;
  }

  private bank(addr: number, page: number): number {
    return addr >= PAGED_FIRST && addr <= PAGED_LAST ? page + 1 : 0;
  }

  private readByte(a: number): number {
    if (a === MCU_PROM_DATA) return this.readProm();
    if (DATA_PORTS.has(a)) return 0;
    if (a >= PAGED_FIRST && a <= PAGED_LAST && this.page === 3) this.violations.push(`address ${a} read on page 3, which has no registers`);
    return this.bytes[this.bank(a, this.page)]![a]!;
  }

  private writeByte(a: number, v: number): void {
    if (a === MCU_PROM_DATA) this.writeProm(v);
    if (a === MCU_PROM_ADDR) {
      this.promPtr = v; // an 8-bit register: the pointer restarts at 0..255
      this.promLatch = null;
    }
    if (DATA_PORTS.has(a)) {
      const list = this.portWrites.get(a) ?? [];
      list.push(v);
      this.portWrites.set(a, list);
      return;
    }
    if (a === 0 && (v & 0x80) !== 0) {
      // SOFT_RESET: every register back to its reset value, page 0.
      this.bytes = resetImage().bytes;
      return;
    }
    if (a >= PAGED_FIRST && a <= PAGED_LAST && this.page === 3) {
      this.violations.push(`address ${a} written on page 3, which has no registers`);
      return;
    }
    const bank = this.bank(a, this.page);
    if (this.readOnlyByte[bank]![a]) {
      this.violations.push(`write 0x${v.toString(16)} to read-only address ${a} (page ${this.page}) refused`);
      return;
    }
    const before = this.bytes[bank]![a]!;
    this.bytes[bank]![a] = v;
    if (this.page === 2) this.onPage2Write(a, before, v);
  }

  /** The radio bridge and radio reset (page 2). */
  private onPage2Write(a: number, before: number, v: number): void {
    const p2 = this.bytes[3]!;
    if (a === RADIO_CTRL && (before & 0x04) !== 0 && (v & 0x04) === 0) {
      for (const r of this.radios) r.fill(0);
      return;
    }
    BRIDGE.forEach((b, i) => {
      if (a !== b.cs || (before & 1) !== 0 || (v & 1) === 0) return;
      const radio = this.radios[i]!;
      const ra = p2[b.addr]!;
      if (ra & 0x80) {
        radio[ra & 0x7f] = p2[b.data]!;
        if ((ra & 0x7f) === 0 && (p2[b.data]! & 0x02) !== 0) radio[0x11] = radio[0x11]! | 0x02; // RX on: PLL locks
      } else {
        p2[b.readback] = radio[ra & 0x7f]!;
      }
    });
  }
}
