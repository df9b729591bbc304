import type { Sx127xBoard } from './index.js';

/**
 * Dragino LoRa/GPS HAT (SX1276/RFM95). NSS is BCM25 (header pin 22), not CE0;
 * RESET BCM17 (pin 11); DIO0 BCM4 (pin 7). Only PA_BOOST is wired out.
 * With `dtoverlay=spi0-1cs,cs0_pin=25` spidev0.0 drives BCM25 itself and
 * `cs_pin` can be set to null.
 */
export const DRAGINO_LORA_GPS_HAT: Sx127xBoard = {
  name: 'dragino-lora-gps-hat',
  description: 'Dragino LoRa/GPS HAT',
  spiDevice: '/dev/spidev0.0',
  csPinBcm: 25,
  resetPinBcm: 17,
  dio0PinBcm: 4,
  paOutput: 'PA_BOOST',
  source:
    'shared/reference/sx127x.md §14: wklenk/lmic-rpi-lora-gps-hat lora_gps_hat/hal.c (NSS 6, RST 0, DIO {4,23,24} in wiringPi/BCM), tftelkamp/single_chan_pkt_fwd README',
};
