/**
 * BCM GPIO numbers (what users write in their config and what board pin-outs
 * give: the Dragino HAT's NSS is BCM25, RESET BCM17, DIO0 BCM4 [sx127x.md §14])
 * to Linux sysfs GPIO numbers (what `/sys/class/gpio/export` and onoff take).
 *
 * The two are equal only on old kernels. Raspberry Pi OS kernel 6.6 moved the
 * chip bases: dynamic bases start at 512, so BCM17 is 529 on a Pi 4 and 588 on
 * a Pi 5 [sx127x.md §15, raspberrypi/linux#6084]. The rule is to read every
 * `gpiochip*` `label` and `base` and add the BCM line to the base of the SoC's
 * chip; never hard-code the base [sx127x.md §15].
 *
 * Reading is node:fs only; the root is a parameter so tests use a fake tree.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gpioSysfsUnavailable } from './gpio-errors.js';

/** Where the kernel's sysfs GPIO class lives. */
export const DEFAULT_SYSFS_GPIO_ROOT = '/sys/class/gpio';

/** One `/sys/class/gpio/gpiochipN` directory. */
export interface GpioChipInfo {
  /** Directory name, e.g. "gpiochip512". */
  readonly name: string;
  /** First sysfs GPIO number of the chip (the `base` file). */
  readonly base: number;
  /** Number of lines of the chip (the `ngpio` file). */
  readonly ngpio: number;
  /** Driver label (the `label` file), e.g. "pinctrl-bcm2711". */
  readonly label: string;
}

/**
 * Labels of the Raspberry Pi SoC GPIO chips whose line N is BCM N
 * [sx127x.md §15 "Rule"]. Order does not matter: a Pi has only one of them.
 */
export const SOC_GPIO_CHIP_LABELS: Readonly<Record<string, string>> = {
  'pinctrl-bcm2835': 'Raspberry Pi 0-3',
  'pinctrl-bcm2711': 'Raspberry Pi 4',
  'pinctrl-rp1': 'Raspberry Pi 5',
};

/** Highest BCM number on the 40-pin header (BCM0..BCM27). */
export const HEADER_MAX_BCM = 27;

/**
 * Legacy fallback: before 6.6 the SoC chip sat at base 0 with 54 lines
 * (BCM2835) or more (BCM2711 has 58 [sx127x.md §15]), so a base-0 chip that
 * large is the SoC even if its label is not one we know.
 */
export const LEGACY_SOC_MIN_NGPIO = 54;

/** Result of {@link bcmToSysfs}: the sysfs number and the chip it is on, or why not. */
export type BcmToSysfsResult =
  | { readonly ok: true; readonly sysfs: number; readonly chip: GpioChipInfo }
  | { readonly ok: false; readonly reason: string };

/** Read a small sysfs attribute file; undefined when it cannot be read. */
function readAttr(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Parse a non-negative decimal integer as sysfs writes it; undefined otherwise. */
function parseCount(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/**
 * List every `gpiochipN` under `sysfsRoot` with its base, ngpio and label,
 * sorted by base. A chip directory that is missing, unreadable or has a
 * malformed attribute is skipped (never thrown): one odd chip must not hide the
 * SoC chip. Throws a coded error (`ENOGPIOSYSFS`) when `sysfsRoot` itself does
 * not exist or is not a directory; other errors listing the root (e.g. EACCES)
 * are rethrown with their own code.
 */
export function listGpioChips(sysfsRoot: string = DEFAULT_SYSFS_GPIO_ROOT): GpioChipInfo[] {
  let names: string[];
  try {
    if (!statSync(sysfsRoot).isDirectory()) throw gpioSysfsUnavailable(sysfsRoot);
    names = readdirSync(sysfsRoot);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw gpioSysfsUnavailable(sysfsRoot, err);
    throw err;
  }
  const chips: GpioChipInfo[] = [];
  for (const name of names) {
    // The class directory also holds `export`, `unexport` and exported `gpioN` entries.
    if (!/^gpiochip\d+$/.test(name)) continue;
    const dir = join(sysfsRoot, name);
    const base = parseCount(readAttr(dir, 'base'));
    const ngpio = parseCount(readAttr(dir, 'ngpio'));
    const label = readAttr(dir, 'label');
    if (base === undefined || ngpio === undefined || label === undefined) continue;
    chips.push({ name, base, ngpio, label });
  }
  return chips.sort((a, b) => a.base - b.base);
}

/** "gpiochip512 "pinctrl-bcm2711" base 512, 58 lines" for messages. */
function describeChip(chip: GpioChipInfo): string {
  return `${chip.name} "${chip.label}" base ${chip.base}, ${chip.ngpio} lines`;
}

/** The SoC chip by label, else the legacy base-0 chip, else undefined. */
function findSocChip(chips: readonly GpioChipInfo[]): GpioChipInfo | undefined {
  return (
    chips.find((c) => Object.hasOwn(SOC_GPIO_CHIP_LABELS, c.label)) ??
    chips.find((c) => c.base === 0 && c.ngpio >= LEGACY_SOC_MIN_NGPIO)
  );
}

/**
 * Translate a BCM GPIO number to the sysfs number on this machine: base of the
 * SoC chip (found by label, see {@link SOC_GPIO_CHIP_LABELS}) plus the BCM line.
 * When no known label is present, a chip at base 0 with at least
 * {@link LEGACY_SOC_MIN_NGPIO} lines is taken (pre-6.6 numbering); otherwise the
 * reason lists the chips seen. The BCM number must be an integer in
 * 0..{@link HEADER_MAX_BCM} (the 40-pin header) and below the chip's ngpio.
 * Pure: takes the chip list, reads nothing.
 */
export function bcmToSysfs(bcm: number, chips: readonly GpioChipInfo[]): BcmToSysfsResult {
  if (!Number.isInteger(bcm) || bcm < 0) {
    return { ok: false, reason: `BCM${bcm} is not a GPIO number: expected an integer 0..${HEADER_MAX_BCM}` };
  }
  if (bcm > HEADER_MAX_BCM) {
    // Header pins go up to 40, so a number above 27 is often a physical pin number.
    return {
      ok: false,
      reason:
        `BCM${bcm} is not on the 40-pin header (BCM0..BCM${HEADER_MAX_BCM}); ` +
        'pins are configured by BCM number, not physical pin number',
    };
  }
  const chip = findSocChip(chips);
  if (chip === undefined) {
    const seen = chips.length === 0 ? 'no GPIO chips at all' : chips.map(describeChip).join('; ');
    return {
      ok: false,
      reason:
        `no Raspberry Pi GPIO chip found (looked for labels ${Object.keys(SOC_GPIO_CHIP_LABELS).join(', ')}, ` +
        `or a chip at base 0 with at least ${LEGACY_SOC_MIN_NGPIO} lines); saw ${seen}`,
    };
  }
  if (bcm >= chip.ngpio) {
    return { ok: false, reason: `BCM${bcm} is beyond ${describeChip(chip)}` };
  }
  return { ok: true, sysfs: chip.base + bcm, chip };
}
