import type { PaOutput } from '../modem-config.js';

/** Wiring of an SX127x board on the Raspberry Pi header (BCM numbers). */
export interface Sx127xBoard {
  /** Preset name used in `SX127x_conf.board`. */
  name: string;
  description: string;
  spiDevice: string;
  /** GPIO driven as chip select around each transfer; null = the spidev CE line. */
  csPinBcm: number | null;
  resetPinBcm: number | null;
  /** DIO0 (RxDone/TxDone); null = poll RegIrqFlags. */
  dio0PinBcm: number | null;
  paOutput: PaOutput;
  /** Where the wiring facts come from. */
  source: string;
}

export { DRAGINO_LORA_GPS_HAT } from './dragino.js';
export { ADAFRUIT_RFM95_BONNET } from './adafruit.js';

import { ADAFRUIT_RFM95_BONNET } from './adafruit.js';
import { DRAGINO_LORA_GPS_HAT } from './dragino.js';

/** Every preset, by name. */
export const SX127X_BOARDS: Readonly<Record<string, Sx127xBoard>> = {
  [DRAGINO_LORA_GPS_HAT.name]: DRAGINO_LORA_GPS_HAT,
  [ADAFRUIT_RFM95_BONNET.name]: ADAFRUIT_RFM95_BONNET,
};
