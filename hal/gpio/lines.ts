/**
 * The GPIO boundary of the radio drivers: an output line (reset, chip select)
 * and an input line that reports rising edges (DIO0, PPS). The real provider
 * uses `onoff` on sysfs; tests and the emulated radio use lines wired to an
 * emulator. Pins are always named by their BCM number; the provider translates.
 */
import type { Gpio as OnoffGpio } from 'onoff';
import { describeGpioAccessError, type CodedError } from './gpio-errors.js';
import { DEFAULT_SYSFS_GPIO_ROOT, bcmToSysfs, listGpioChips } from './sysfs-numbering.js';

/** A pin driven by us. */
export interface OutputLine {
  /** Drive the pin low (0) or high (1). */
  write(value: 0 | 1): void;
  /** Stop driving: the pin becomes an input (high impedance), as the SX127x NRESET wants after the pulse. */
  release(): void;
  close(): void;
}

/** A pin we listen to. */
export interface EdgeLine {
  /** Call `cb` on each rising edge (from the event loop; stamp time inside the callback); `onError` for a failed read of the edge. */
  watch(cb: () => void, onError?: (err: Error) => void): void;
  /** Current level. */
  read(): 0 | 1;
  close(): void;
}

/** Opens lines by BCM number; `label` names the pin's role in error messages ("reset", "dio0", "cs"). */
export interface GpioProvider {
  /** An output line; 'released' opens it as an input until the first write (the SX127x NRESET idles floating). */
  output(bcm: number, label: string, initial: 0 | 1 | 'released'): OutputLine;
  risingEdge(bcm: number, label: string): EdgeLine;
}

/** Code of errors from opening a GPIO line. */
export const EGPIO = 'EGPIO';

function gpioError(message: string, cause?: unknown): CodedError {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code: EGPIO });
}

type OnoffModule = { Gpio: typeof OnoffGpio };

/**
 * The sysfs provider over `onoff` 6 (sx127x.md §16). `onoff` is an optional
 * dependency with a native part (epoll): it is loaded here, on first use, so
 * a machine without it (or without GPIO) runs everything else.
 */
export async function openOnoffGpio(sysfsRoot: string = DEFAULT_SYSFS_GPIO_ROOT): Promise<GpioProvider> {
  let mod: OnoffModule;
  try {
    mod = (await import('onoff')) as unknown as OnoffModule;
  } catch (err) {
    throw gpioError(
      `the onoff module is not installed or did not build (${(err as Error).message.split('\n')[0]}); ` +
        'on the Pi: sudo apt install build-essential python3, then npm rebuild onoff',
      err,
    );
  }
  const chips = listGpioChips(sysfsRoot);
  const sysfsOf = (bcm: number, label: string): number => {
    const r = bcmToSysfs(bcm, chips);
    if (!r.ok) throw gpioError(`${label} pin BCM${bcm}: ${r.reason}`);
    return r.sysfs;
  };
  const open = (bcm: number, label: string, make: (n: number) => OnoffGpio): { gpio: OnoffGpio; sysfs: number } => {
    const sysfs = sysfsOf(bcm, label);
    try {
      return { gpio: make(sysfs), sysfs };
    } catch (err) {
      throw gpioError(describeGpioAccessError(err, label, bcm, sysfs), err);
    }
  };
  return {
    output(bcm, label, initial) {
      const { gpio, sysfs } = open(bcm, label, (n) => new mod.Gpio(n, initial === 'released' ? 'in' : initial ? 'high' : 'low'));
      let driving = initial !== 'released';
      const guard = (what: () => void): void => {
        try {
          what();
        } catch (err) {
          throw gpioError(describeGpioAccessError(err, label, bcm, sysfs), err);
        }
      };
      return {
        write: (v) => guard(() => {
          // Writing "high"/"low" to direction makes an input an output at that level in one step.
          if (driving) gpio.writeSync(v);
          else gpio.setDirection(v ? 'high' : 'low');
          driving = true;
        }),
        release: () => guard(() => {
          gpio.setDirection('in');
          driving = false;
        }),
        close: () => gpio.unexport(),
      };
    },
    risingEdge(bcm, label) {
      const { gpio } = open(bcm, label, (n) => new mod.Gpio(n, 'in', 'rising'));
      return {
        watch: (cb, onError) => gpio.watch((err) => {
          if (err) onError?.(err);
          else cb();
        }),
        read: () => gpio.readSync(),
        close: () => {
          gpio.unwatchAll();
          gpio.unexport();
        },
      };
    },
  };
}
