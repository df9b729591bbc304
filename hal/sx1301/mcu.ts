/**
 * Loading a firmware image into one of the SX1301's two MCUs, the way
 * libloragw v5.0.1 does it (facts: ../shared/sx1301/firmware/README.md
 * "What a driver does with them" and the golden trace, transactions
 * 253-276 of eu868/raw.txt; the code is ours):
 * 1. hold the MCU in reset (MCU_RST_n = 1) and give the host its program
 *    RAM (MCU_SELECT_MUX_n = 0);
 * 2. MCU_PROM_ADDR = 0, then the 8192 bytes to the MCU_PROM_DATA port;
 * 3. one throw-away read of the port (it answers one byte late), then read
 *    the 8192 bytes back and compare;
 * 4. give the program RAM back to the MCU (MCU_SELECT_MUX_n = 1).
 * Releasing the reset is left to the caller: start-up does other things
 * in between (the golden trace sets the radio controls before it).
 */
import { FIRMWARE_BYTES } from './firmware.js';
import type { RegisterName } from './register-table.js';
import type { Sx1301Registers } from './registers.js';

/** MCU 0 runs the arbiter firmware, MCU 1 the AGC (and calibration) firmware. */
export type McuIndex = 0 | 1;

/** Writes `image` into the program RAM of `mcu` and checks it by reading it back. Throws (code EFWVERIFY) on a mismatch. */
export function loadMcuFirmware(regs: Sx1301Registers, mcu: McuIndex, image: Uint8Array): void {
  if (image.length !== FIRMWARE_BYTES) {
    throw Object.assign(new Error(`MCU ${mcu} firmware is ${image.length} bytes, expected ${FIRMWARE_BYTES}`), { code: 'EFIRMWARE' });
  }
  const rst: RegisterName = mcu === 0 ? 'MCU_RST_0' : 'MCU_RST_1';
  const mux: RegisterName = mcu === 0 ? 'MCU_SELECT_MUX_0' : 'MCU_SELECT_MUX_1';
  regs.write(rst, 1);
  regs.write(mux, 0);
  regs.write('MCU_PROM_ADDR', 0);
  regs.writeBurst('MCU_PROM_DATA', image);
  regs.read('MCU_PROM_DATA'); // the port answers one byte late: this first byte is stale
  const back = regs.readBurst('MCU_PROM_DATA', FIRMWARE_BYTES);
  const bad = back.findIndex((b, i) => b !== image[i]);
  if (bad >= 0) {
    throw Object.assign(
      new Error(`MCU ${mcu} firmware read back differs at byte ${bad} (wrote 0x${image[bad]!.toString(16)}, read 0x${back[bad]!.toString(16)}): check the SPI link`),
      { code: 'EFWVERIFY' },
    );
  }
  regs.write(mux, 1);
}
