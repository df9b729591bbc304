/**
 * The SX1257/SX1255 radios behind the SX1301's SPI bridge, and their set-up
 * at start (facts: sx1301.md §2 "reached indirectly", §3 step 5; the golden
 * eu868 trace, transactions 18-243; the code is ours).
 * - A radio register is written with CS = 0, ADDR = 0x80 | reg, DATA =
 *   value, CS = 1, CS = 0; read with ADDR = reg, DATA = 0, CS = 1, CS = 0,
 *   then DATA_READBACK.
 * - PLL word for a 32 MHz reference: SX1257 integer f / 4 MHz, fraction
 *   (f mod 4 MHz)·256/15625; SX1255 f / 2 MHz and ·512/15625.
 */
import type { RegisterName } from './register-table.js';
import type { Sx1301Registers } from './registers.js';

/** Radio A (RF chain 0) or B (RF chain 1). */
export type RadioIndex = 0 | 1;

/** The radio chips an SX1301 board carries. */
export type Sx125xType = 'SX1257' | 'SX1255';

const BRIDGE: Record<RadioIndex, { cs: RegisterName; addr: RegisterName; data: RegisterName; readback: RegisterName }> = {
  0: { cs: 'SPI_RADIO_A__CS', addr: 'SPI_RADIO_A__ADDR', data: 'SPI_RADIO_A__DATA', readback: 'SPI_RADIO_A__DATA_READBACK' },
  1: { cs: 'SPI_RADIO_B__CS', addr: 'SPI_RADIO_B__ADDR', data: 'SPI_RADIO_B__DATA', readback: 'SPI_RADIO_B__DATA_READBACK' },
};

/** Writes one register of radio `radio` through the bridge. */
export function sx125xWrite(regs: Sx1301Registers, radio: RadioIndex, reg: number, value: number): void {
  const b = BRIDGE[radio];
  regs.write(b.cs, 0);
  regs.write(b.addr, 0x80 | (reg & 0x7f));
  regs.write(b.data, value & 0xff);
  regs.write(b.cs, 1);
  regs.write(b.cs, 0);
}

/** Reads one register of radio `radio` through the bridge. */
export function sx125xRead(regs: Sx1301Registers, radio: RadioIndex, reg: number): number {
  const b = BRIDGE[radio];
  regs.write(b.cs, 0);
  regs.write(b.addr, reg & 0x7f);
  regs.write(b.data, 0);
  regs.write(b.cs, 1);
  regs.write(b.cs, 0);
  return regs.read(b.readback);
}

/** The three PLL bytes (registers 0x01-0x03) for `freqHz` [sx1301.md §2]: 867.5 MHz on an SX1257 → D8 E0 00. */
export function sx125xPllBytes(type: Sx125xType, freqHz: number): [number, number, number] {
  const step = type === 'SX1257' ? 4_000_000 : 2_000_000;
  const mul = type === 'SX1257' ? 256 : 512;
  const int = Math.floor(freqHz / step);
  // The HAL computes in integers: the fraction truncates.
  const frac = Math.floor(((freqHz % step) * mul) / 15625);
  return [int & 0xff, (frac >> 8) & 0xff, frac & 0xff];
}

/** One radio's set-up inputs. */
export interface Sx125xSetup {
  type: Sx125xType;
  enable: boolean;
  freqHz: number;
  /** This radio feeds the SX1301's clock (`clksrc`). */
  clockSource: boolean;
}

/** PLL lock: radio register 0x11 bit 1, polled at most this many times, 1 ms apart (PLL_LOCK_MAX_ATTEMPTS). */
export const PLL_LOCK_MAX_ATTEMPTS = 5;

/**
 * `lgw_setup_sx125x` as the golden trace shows it: clock select, oscillator
 * trim, and for an enabled radio the gain and trim constants, the RX PLL,
 * standby then RX on, and the wait for PLL lock. Throws (code EPLLLOCK)
 * when the PLL never locks.
 */
export async function setupSx125x(regs: Sx1301Registers, radio: RadioIndex, s: Sx125xSetup, sleep: (ms: number) => Promise<void>): Promise<void> {
  // 0x10: TX DAC clock select; +2 on the radio that provides the SX1301 clock [§3 step 5].
  sx125xWrite(regs, radio, 0x10, s.clockSource ? 0x03 : 0x01);
  // Oscillator setting: 0x26 on the SX1257, 0x28 on the SX1255; the trace wrote 0x2D.
  sx125xWrite(regs, radio, s.type === 'SX1257' ? 0x26 : 0x28, 0x2d);
  if (!s.enable) return;
  // TX gain and trim constants, RX settings: 2E 20 05 39 F8 00 in the trace [§3 step 5].
  const constants: Array<[number, number]> = [[0x08, 0x2e], [0x0a, 0x20], [0x0b, 0x05], [0x0c, 0x39], [0x0d, 0xf8], [0x0e, 0x00]];
  for (const [reg, v] of constants) sx125xWrite(regs, radio, reg, v);
  const pll = sx125xPllBytes(s.type, s.freqHz);
  pll.forEach((v, i) => sx125xWrite(regs, radio, 0x01 + i, v));
  sx125xWrite(regs, radio, 0x00, 0x01); // crystal oscillator on (standby)
  sx125xWrite(regs, radio, 0x00, 0x03); // RX on: starts the PLL
  for (let attempt = 1; ; attempt++) {
    if ((sx125xRead(regs, radio, 0x11) & 0x02) !== 0) return;
    if (attempt >= PLL_LOCK_MAX_ATTEMPTS) {
      throw Object.assign(new Error(`radio ${radio === 0 ? 'A' : 'B'} (${s.type}) PLL did not lock at ${s.freqHz} Hz after ${attempt} tries`), { code: 'EPLLLOCK' });
    }
    await sleep(1);
  }
}
