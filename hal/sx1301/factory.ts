/**
 * Builds the SX1301 concentrator from its settings: spidev and the reset
 * GPIO, each loaded and opened at start; the firmware from its directory.
 */
import type { Logger } from 'pino';
import { openOnoffGpio } from '../gpio/lines.js';
import { openSpidevTransport } from '../sx127x/spidev-transport.js';
import type { BoardConfig } from '../types.js';
import { loadFirmware } from './firmware.js';
import { Sx1301Concentrator } from './sx1301-concentrator.js';

/** What the factory needs. */
export interface Sx1301RadioSettings {
  board: BoardConfig;
  spiDevice: string;
  spiSpeedHz: number;
  resetPinBcm: number | null;
  firmwareDir: string;
  log: Logger;
}

/** The concentrator for an SX1301 board (nothing is opened until start()). */
export function createSx1301Concentrator(s: Sx1301RadioSettings): Sx1301Concentrator {
  return new Sx1301Concentrator({
    board: s.board,
    log: s.log,
    firmware: () => loadFirmware(s.firmwareDir),
    open: async () => {
      const reset = s.resetPinBcm !== null ? (await openOnoffGpio()).output(s.resetPinBcm, 'reset', 0) : null;
      try {
        const spi = await openSpidevTransport({ path: s.spiDevice, speedHz: s.spiSpeedHz });
        return {
          spi, reset,
          close: async () => {
            await spi.close();
            reset?.close();
          },
        };
      } catch (err) {
        reset?.close();
        throw err;
      }
    },
  });
}
