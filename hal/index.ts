/**
 * Public entry of the hardware abstraction layer. `src/` imports only this file.
 * hal/ knows nothing of UDP or JSON-over-UDP; it never imports from src/.
 */
export * from './types.js';
export type { Concentrator } from './concentrator.js';
export { timeOnAirUs, type AirtimeParams } from './lora/time-on-air.js';
export { SimConcentrator, type SimConcentratorOptions } from './sim/sim-concentrator.js';
export * from './sim/air-protocol.js';
export { checkJsonLimits, parseJsonWithin, showJsonValue, SHOWN_CHARS, type JsonLimits, type BoundedJson } from './json-limits.js';
export { guard, GUARD_LOG_INTERVAL_MS } from './guard.js';
export {
  listGpioChips,
  bcmToSysfs,
  type GpioChipInfo,
  type BcmToSysfsResult,
} from './gpio/sysfs-numbering.js';
export { describeGpioAccessError } from './gpio/gpio-errors.js';
export { SX127X_BOARDS, type Sx127xBoard } from './sx127x/boards/index.js';
export type { PaOutput } from './sx127x/modem-config.js';
export { Sx127xConcentrator, type Sx127xConcentratorOptions, type Sx127xHardware, type Sx127xCounters } from './sx127x/sx127x-concentrator.js';
export { createSx127xRadio, type Sx127xRadioSettings } from './sx127x/radio-factory.js';
export { EmulatedSx127x } from './sx127x/emulated-radio.js';
export { Sx1276Emulator } from './sx127x/sx1276-emulator.js';
export { importFirmware, loadFirmware, FIRMWARE_IMAGES, FIRMWARE_BYTES, type FirmwareImage } from './sx1301/firmware.js';
export { SX1301_BOARDS, type Sx1301Board } from './sx1301/boards.js';
export { createSx1301Concentrator, type Sx1301RadioSettings } from './sx1301/factory.js';
export { Sx1301Concentrator, type Sx1301ConcentratorOptions, type Sx1301Hardware } from './sx1301/sx1301-concentrator.js';
