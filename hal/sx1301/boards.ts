/**
 * SX1301 concentrator boards on the Raspberry Pi header: where the SPI is
 * and which GPIO resets the concentrator (BCM numbers, active-high pulse).
 * Named in `SX1301_conf.board`; an explicit `reset_pin` or `spi_device`
 * overrides the preset. Facts: shared/reference/sx127x.md §14 "SX1301
 * boards", with the source of each row.
 */

/** One board's wiring. */
export interface Sx1301Board {
  name: string;
  description: string;
  spiDevice: string;
  resetPinBcm: number | null;
  source: string;
}

const board = (name: string, description: string, resetPinBcm: number | null, source: string): Sx1301Board => ({
  name, description, spiDevice: '/dev/spidev0.0', resetPinBcm, source,
});

/** The presets, by name. */
export const SX1301_BOARDS: Readonly<Record<string, Sx1301Board>> = Object.fromEntries(
  [
    board('rak831', 'RAK831 on the RAK Pi adapter', 17, 'RAK start scripts SX1301_RESET_BCM_PIN=17'),
    board('rak2245', 'RAK2245 Pi HAT', 17, 'RAK start scripts SX1301_RESET_BCM_PIN=17; chirpstack-concentratord vendor/rak/rak2245.rs get_sx1301_reset_pin(17)'),
    board('rak2247', 'RAK2247 on a Pi adapter', 17, 'RAK start scripts SX1301_RESET_BCM_PIN=17'),
    board('ic880a', 'IMST iC880A on the ttn-zh small adapter', 25, 'ttn-zh/ic880a-gateway start.sh'),
    board('ic880a-ch2i', 'IMST iC880A on the ch2i board', 17, 'ttn-zh/ic880a-gateway install.sh'),
    board('imst-lite-gateway', 'IMST WiMOD Lite Gateway', 5, 'chirpstack-concentratord vendor/imst/ic880a.rs'),
    board('pi-supply-lora-gateway-hat', 'Pi Supply LoRa Gateway HAT', 22, 'chirpstack-concentratord vendor config'),
    board('rhf0m301', 'RisingHF RHF0M301 on its Pi adapter', 7, 'chirpstack-concentratord vendor config'),
  ].map((b) => [b.name, b]),
);

/** What `custom` (the default) means: spidev0.0, reset not driven. */
export const SX1301_CUSTOM_BOARD: Sx1301Board = {
  name: 'custom', description: 'wiring from the explicit keys', spiDevice: '/dev/spidev0.0', resetPinBcm: null, source: 'none',
};
