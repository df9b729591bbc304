import type { Sx127xBoard } from './index.js';

/**
 * Adafruit LoRa Radio Bonnet (RFM95W): CS on CE1 (spidev0.1), RESET BCM25.
 * Its DIO0 pin is not verified in our references, so the preset polls the
 * IRQ register; set `dio0_pin` if you know your wiring.
 */
export const ADAFRUIT_RFM95_BONNET: Sx127xBoard = {
  name: 'adafruit-rfm95-bonnet',
  description: 'Adafruit LoRa Radio Bonnet (RFM95W)',
  spiDevice: '/dev/spidev0.1',
  csPinBcm: null,
  resetPinBcm: 25,
  dio0PinBcm: null,
  paOutput: 'PA_BOOST',
  source: 'shared/reference/sx127x.md §14: Adafruit example (CS = board.CE1, RESET = board.D25)',
};
