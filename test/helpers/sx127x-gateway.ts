/**
 * The single-channel gateway's radio for in-process tests: the SX127x driver
 * on the emulated SX1276 (behind the SPI/GPIO boundary), set up from a
 * config's SX127x_conf, and a device's receiver radio for its downlinks.
 */
import type { Logger } from 'pino';
import { EmulatedSx127x, Sx1276Emulator, Sx127xConcentrator } from '../../hal/index.js';
import { Sx127xModem } from '../../hal/sx127x/modem.js';
import { Reg } from '../../hal/sx127x/registers.js';
import type { ForwarderConfig } from '../../src/config/index.js';

/** The driver on an emulated chip, configured as the forwarder would from `config`. */
export function emulatedSx127xRadio(config: ForwarderConfig, log: Logger, clockUs: () => number): { emu: EmulatedSx127x; conc: Sx127xConcentrator } {
  const emu = new EmulatedSx127x({ clockUs });
  const sx = config.sx127x!;
  const conc = new Sx127xConcentrator({
    open: async () => emu.hardware(),
    rx: { freqHz: sx.freqHz, sf: sx.spreadingFactor, bwHz: sx.bandwidthHz, codeRate: sx.codeRate, syncWord: sx.syncWord },
    paOutput: sx.paOutput, txPowerMaxDbm: sx.txPowerMaxDbm, txFreqMinHz: sx.txFreqMinHz, txFreqMaxHz: sx.txFreqMaxHz,
    log, clockUs,
  });
  return { emu, conc };
}

/** A device's radio after its uplink: RX on `freqHz`/`sf`, inverted I/Q (sx127x.md §10 "RX inverted"). */
export async function deviceReceiver(freqHz: number, sf: 7 | 12, clockUs: () => number): Promise<Sx1276Emulator> {
  const chip = new Sx1276Emulator({ now: clockUs });
  const modem = new Sx127xModem(chip);
  await modem.startRx({ freqHz, sf, bwHz: 125000, codeRate: '4/5', syncWord: 0x34 });
  await modem.write(Reg.InvertIQ, 0x67);
  await modem.write(Reg.InvertIQ2, 0x19);
  return chip;
}
