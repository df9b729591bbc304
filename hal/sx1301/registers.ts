/**
 * SX1301 register access over SPI, following the rules of sx1301.md §1-2
 * (facts from libloragw v5.0.1 `loragw_reg.c`; the code is ours):
 * - command byte `0x80 | addr` to write, `addr` to read, then data;
 * - registers 0-32 and 125-127 are on every page; 33-124 belong to the page
 *   in PAGE_REG (address 0, bits 1:0), cached here so it is written only
 *   when it changes; SOFT_RESET (address 0, bit 7) returns the chip to page 0;
 * - a field inside one byte is read-modify-written; a wider field (offset 0)
 *   is a burst of ceil(len/8) bytes, least significant byte first;
 * - bursts are cut into 1 024-byte chunks, each repeating the command byte at
 *   the same address (right for the data ports, which do not auto-increment).
 * All access is synchronous (one spidev ioctl each), hence serialised.
 */
import type { SpiTransport } from '../sx127x/spi-transport.js';
import { SX1301_REGISTER_ROWS, type RegisterName } from './register-table.js';

/** A decoded row of the register table. */
export interface RegisterDef {
  name: RegisterName;
  /** -1: on every page. */
  page: number;
  addr: number;
  offs: number;
  signed: boolean;
  len: number;
  readOnly: boolean;
  dflt: number;
}

/** Largest burst chunk, bytes (`LGW_BURST_CHUNK`) [sx1301.md §1]. */
export const BURST_CHUNK = 1024;

const BY_NAME: ReadonlyMap<string, RegisterDef> = new Map(
  SX1301_REGISTER_ROWS.map(([name, page, addr, offs, signed, len, readOnly, dflt]) => [name, { name, page, addr, offs, signed, len, readOnly, dflt }]),
);

/** The table row of a register. Throws (code ENOREG) for an unknown name. */
export function registerDef(name: RegisterName): RegisterDef {
  const d = BY_NAME.get(name);
  if (!d) throw Object.assign(new Error(`unknown SX1301 register ${name}`), { code: 'ENOREG' });
  return d;
}

/** Errors of the register layer: programmer errors and refused writes, with a code. */
export class RegisterError extends Error {
  constructor(message: string, readonly code: 'EREADONLY' | 'ERANGE' | 'EUNSUPPORTED') {
    super(message);
    this.name = 'RegisterError';
  }
}

/** Reads and writes named SX1301 registers through an SPI transport. */
export class Sx1301Registers {
  /** Page last written to PAGE_REG; null until known. */
  private page: number | null = null;

  constructor(private readonly spi: SpiTransport) {}

  /** Current cached page (null before the first paged access or after an unknown change). */
  get cachedPage(): number | null {
    return this.page;
  }

  /** Reads a register's value (sign-extended when signed). */
  read(name: RegisterName): number {
    const r = registerDef(name);
    this.selectPage(r.page);
    if (r.offs + r.len <= 8) {
      const byte = this.readByte(r.addr);
      return extend((byte >> r.offs) & mask(r.len), r);
    }
    if (r.offs !== 0) throw new RegisterError(`${name}: a ${r.len}-bit field at bit ${r.offs} cannot be read`, 'EUNSUPPORTED');
    const bytes = this.burst(r.addr, Math.ceil(r.len / 8));
    let v = 0;
    for (let i = bytes.length - 1; i >= 0; i--) v = v * 256 + bytes[i]!;
    return extend(v % 2 ** r.len, r);
  }

  /** Writes a register. Refuses read-only registers and values that do not fit. */
  write(name: RegisterName, value: number): void {
    const r = registerDef(name);
    if (r.readOnly) throw new RegisterError(`${name} is read-only`, 'EREADONLY');
    const lo = r.signed ? -(2 ** (r.len - 1)) : 0;
    const hi = r.signed ? 2 ** (r.len - 1) - 1 : 2 ** r.len - 1;
    if (!Number.isInteger(value) || value < lo || value > hi) {
      throw new RegisterError(`${name}: ${value} does not fit ${r.signed ? 'a signed' : 'an unsigned'} ${r.len}-bit field`, 'ERANGE');
    }
    const raw = value < 0 ? value + 2 ** r.len : value;
    if (r.name === 'PAGE_REG') {
      this.writeByte(r.addr, raw);
      this.page = raw;
      return;
    }
    if (r.name === 'SOFT_RESET') {
      // The whole byte: bit 7 resets the chip, which comes back on page 0 [sx1301.md §2].
      this.writeByte(r.addr, raw << 7);
      if (raw) this.page = 0;
      return;
    }
    this.selectPage(r.page);
    if (r.offs === 0 && r.len === 8) {
      this.writeByte(r.addr, raw);
    } else if (r.offs + r.len <= 8) {
      const m = mask(r.len) << r.offs;
      this.writeByte(r.addr, (this.readByte(r.addr) & ~m & 0xff) | ((raw << r.offs) & m));
    } else if (r.offs === 0) {
      // The bytes of the value as a 32-bit two's complement number, not masked to the field:
      // libloragw writes IF_FREQ_0 = -819 (13 bits) as CD FC [sx1301.md §2], and so do we.
      const n = Math.ceil(r.len / 8);
      const bytes = Buffer.alloc(n);
      let v = value < 0 ? value + 2 ** 32 : value;
      for (let i = 0; i < n; i++) {
        bytes[i] = v % 256;
        v = Math.floor(v / 256);
      }
      this.writeBurstAt(r.addr, bytes);
    } else {
      throw new RegisterError(`${name}: a ${r.len}-bit field at bit ${r.offs} cannot be written`, 'EUNSUPPORTED');
    }
  }

  /** Burst-reads `n` bytes from a register (a data port, usually). */
  readBurst(name: RegisterName, n: number): Buffer {
    const r = registerDef(name);
    this.selectPage(r.page);
    return this.burst(r.addr, n);
  }

  /** Burst-writes `data` to a register (a data port, usually). */
  writeBurst(name: RegisterName, data: Uint8Array): void {
    const r = registerDef(name);
    if (r.readOnly) throw new RegisterError(`${name} is read-only`, 'EREADONLY');
    this.selectPage(r.page);
    this.writeBurstAt(r.addr, data);
  }

  /** Writes PAGE_REG when `page` differs from the cached one (page -1: nothing to do). */
  private selectPage(page: number): void {
    if (page < 0 || page === this.page) return;
    this.writeByte(0, page);
    this.page = page;
  }

  private readByte(addr: number): number {
    return this.spi.transferSync(Buffer.from([addr & 0x7f, 0]))[1]!;
  }

  private writeByte(addr: number, value: number): void {
    this.spi.transferSync(Buffer.from([0x80 | (addr & 0x7f), value & 0xff]));
  }

  private burst(addr: number, n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let at = 0; at < n; at += BURST_CHUNK) {
      const len = Math.min(BURST_CHUNK, n - at);
      const tx = Buffer.alloc(len + 1);
      tx[0] = addr & 0x7f;
      this.spi.transferSync(tx).copy(out, at, 1);
    }
    return out;
  }

  private writeBurstAt(addr: number, data: Uint8Array): void {
    for (let at = 0; at < data.length; at += BURST_CHUNK) {
      const chunk = data.subarray(at, Math.min(data.length, at + BURST_CHUNK));
      const tx = Buffer.alloc(chunk.length + 1);
      tx[0] = 0x80 | (addr & 0x7f);
      tx.set(chunk, 1);
      this.spi.transferSync(tx);
    }
  }
}

function mask(len: number): number {
  return len >= 32 ? 0xffffffff : (1 << len) - 1;
}

/** Two's-complement sign extension of a `len`-bit value when the register is signed. */
function extend(v: number, r: RegisterDef): number {
  if (!r.signed) return v;
  return v >= 2 ** (r.len - 1) ? v - 2 ** r.len : v;
}
