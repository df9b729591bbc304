/**
 * The SX1301 board's links, read from `SX1301_conf` beside the channel plan
 * (our extension keys): a `board` preset (hal/sx1301/boards.ts, each citing
 * its source), SPI device, reset pin, firmware directory. An explicit key
 * overrides the preset.
 */
import { SX1301_BOARDS, SX1301_CUSTOM_BOARD } from '../../hal/sx1301/boards.js';
import { int, nullable, oneOf, str, type Section } from './section.js';

/** Where the SX1301 is and how to start it. */
export interface Sx1301Link {
  /** Preset name, or 'custom'. */
  board: string;
  spiDevice: string;
  spiSpeedHz: number;
  /** Reset pin (BCM, active high): 17 on RAK831/RAK2245, 25 on the iC880A ttn-zh adapter [sx127x.md §14]; null = not driven. */
  resetPinBcm: number | null;
  /** Directory of cal.bin, agc.bin, arb.bin (`pktfwd sx1301-firmware import`). */
  firmwareDir: string;
}

/** The keys this reads; readBoardConf marks them known. */
export const SX1301_LINK_KEYS = ['board', 'spi_device', 'spi_speed_hz', 'reset_pin', 'firmware_dir'] as const;

/** Reads the link keys of `SX1301_conf`. */
export function readSx1301Link(sec: Section): Sx1301Link {
  const board = sec.get('board', oneOf(['custom', ...Object.keys(SX1301_BOARDS)]), 'custom');
  const preset = SX1301_BOARDS[board] ?? SX1301_CUSTOM_BOARD;
  return {
    board,
    spiDevice: sec.get('spi_device', str('a spidev path such as /dev/spidev0.0', (v) => (/^\/dev\/spidev\d+\.\d+$/.test(v) ? v : undefined)), preset.spiDevice),
    spiSpeedHz: sec.get('spi_speed_hz', int(100_000, 10_000_000), 8_000_000),
    resetPinBcm: sec.get('reset_pin', nullable(int(0, 27, 'a BCM GPIO number 0..27')), preset.resetPinBcm),
    firmwareDir: sec.get('firmware_dir', str('a directory path'), '/var/lib/pktfwd/sx1301-firmware'),
  };
}
