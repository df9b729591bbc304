/**
 * Builds the SX127x concentrator from its settings: the real radio (spidev +
 * onoff GPIO, each loaded and opened at start) or, with `spiDevice:
 * "emulator"`, the register-level emulator on the virtual air.
 */
import type { Logger } from 'pino';
import { openOnoffGpio, type GpioProvider, type OutputLine } from '../gpio/lines.js';
import { EmulatedSx127x } from './emulated-radio.js';
import { EmulatorAir } from './emulator-air.js';
import type { PaOutput } from './modem-config.js';
import type { RxChannel } from './modem.js';
import { openSpidevTransport } from './spidev-transport.js';
import { Sx127xConcentrator, type Sx127xHardware } from './sx127x-concentrator.js';

/** What the factory needs (the `SX127x_conf` values, in hal terms). */
export interface Sx127xRadioSettings {
  spiDevice: string;
  spiSpeedHz: number;
  csPinBcm: number | null;
  resetPinBcm: number | null;
  dio0PinBcm: number | null;
  rx: RxChannel;
  paOutput: PaOutput;
  txPowerMaxDbm: number;
  txFreqMinHz: number;
  txFreqMaxHz: number;
  dio0LatencyUs: number | 'auto';
  pollIntervalMs: number;
  /** Virtual air of the emulator (sim_conf). */
  air: { address: string; port: number };
  counterStartUs?: number | null;
  log: Logger;
}

const clockUs = () => performance.now() * 1000;

/** The concentrator for an SX127x radio (nothing is opened until start()). */
export function createSx127xRadio(s: Sx127xRadioSettings): Sx127xConcentrator {
  let conc: Sx127xConcentrator;
  const open = async (): Promise<Sx127xHardware> => {
    if (s.spiDevice === 'emulator') {
      const board = new EmulatedSx127x({ clockUs, dio0: s.dio0PinBcm !== null, reset: s.resetPinBcm !== null });
      const air = new EmulatorAir({ chip: board.chip, counter: conc, clockUs, airAddress: s.air.address, airPort: s.air.port, log: s.log, onInternalError: conc.countInternalError });
      await air.start();
      const hw = board.hardware();
      return { ...hw, close: async () => {
        await hw.close();
        air.stop();
      } };
    }
    const pins = [s.csPinBcm, s.resetPinBcm, s.dio0PinBcm].filter((p) => p !== null);
    const gpio: GpioProvider | null = pins.length ? await openOnoffGpio() : null;
    const opened: Array<{ close(): void }> = [];
    try {
      let cs: OutputLine | undefined;
      if (s.csPinBcm !== null) opened.push((cs = gpio!.output(s.csPinBcm, 'cs', 1)));
      const reset = s.resetPinBcm !== null ? gpio!.output(s.resetPinBcm, 'reset', 'released') : null;
      if (reset) opened.push(reset);
      const dio0 = s.dio0PinBcm !== null ? gpio!.risingEdge(s.dio0PinBcm, 'dio0') : null;
      if (dio0) opened.push(dio0);
      const spi = await openSpidevTransport({ path: s.spiDevice, speedHz: s.spiSpeedHz, cs });
      return {
        spi, reset, dio0,
        close: async () => {
          await spi.close();
          for (const l of opened) l.close();
        },
      };
    } catch (err) {
      for (const l of opened) {
        try {
          l.close();
        } catch {
          // already failing; the first error is the one to report
        }
      }
      throw err;
    }
  };
  conc = new Sx127xConcentrator({
    open, rx: s.rx, paOutput: s.paOutput, txPowerMaxDbm: s.txPowerMaxDbm, txFreqMinHz: s.txFreqMinHz, txFreqMaxHz: s.txFreqMaxHz,
    log: s.log, clockUs, counterStartUs: s.counterStartUs, dio0LatencyUs: s.dio0LatencyUs, pollIntervalMs: s.pollIntervalMs,
  });
  return conc;
}
