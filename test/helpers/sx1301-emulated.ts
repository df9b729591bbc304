/**
 * The SX1301 driver on the TypeScript emulator, for tests: three distinct
 * 8192-byte images standing in for cal/agc/arb (the emulator is told which
 * is which), and a concentrator wired to the emulated chip with no-op
 * start-up waits.
 */
import { createHash } from 'node:crypto';
import type { BoardConfig } from '../../hal/index.js';
import { Sx1301Concentrator, type Sx1301ConcentratorOptions } from '../../hal/sx1301/sx1301-concentrator.js';
import { Sx1301Emulator, type Sx1301EmulatorOptions } from '../../hal/sx1301/sx1301-emulator.js';
import { memoryLogger } from './harness.js';

export function fakeFirmware(): { cal: Buffer; agc: Buffer; arb: Buffer } {
  const image = (tag: string) => {
    const out = Buffer.alloc(8192);
    for (let i = 0; i < 8192; i += 32) createHash('sha256').update(`${tag}${i}`).digest().copy(out, i);
    return out;
  };
  return { cal: image('cal'), agc: image('agc'), arb: image('arb') };
}

/**
 * An emulated chip and the driver on it; `swapImages` loads the AGC and
 * arbiter images into each other's MCU; `keepChip`: closing the link leaves
 * the chip as it is (re-initialisation tests).
 */
export function emulatedSx1301(
  board: BoardConfig,
  opts: Sx1301EmulatorOptions & { swapImages?: boolean; keepChip?: boolean } = {},
  conc: Partial<Sx1301ConcentratorOptions> = {},
) {
  const fw = fakeFirmware();
  const chip = new Sx1301Emulator({ firmware: fw, ...opts });
  const { log, lines } = memoryLogger();
  const loaded = opts.swapImages ? { cal: fw.cal, agc: fw.arb, arb: fw.agc } : fw;
  const c = new Sx1301Concentrator({
    board, log, firmware: () => loaded, pollIntervalMs: 5, sleep: async () => undefined,
    open: async () => ({ spi: chip, reset: null, close: () => (opts.keepChip ? Promise.resolve() : chip.close()) }),
    ...conc,
  });
  return { chip, conc: c, lines };
}
