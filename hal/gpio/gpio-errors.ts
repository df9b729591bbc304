/**
 * One-line, actionable messages for GPIO failures: sysfs GPIO missing, a wrong
 * pin number, a missing permission, a pin someone else holds.
 *
 * Pins are named the way the user wrote them (BCM numbers) next to the sysfs
 * number we actually touched, because since kernel 6.6 the two differ by the
 * chip base (512 on a Pi 4, 571 on a Pi 5) [sx127x.md §15].
 */

/** An Error carrying a machine-readable `code`, as the house rules require for thrown errors. */
export type CodedError = Error & { readonly code: string };

/** Code of the error thrown when the sysfs GPIO class directory does not exist. */
export const ENOGPIOSYSFS = 'ENOGPIOSYSFS';

/**
 * The Unix group that owns `/sys/class/gpio` on Raspberry Pi OS: "By default the
 * GPIO devices can be controlled by anyone in the “gpio” unix group"
 * [limako.github.io/rpi-gpio, lesson 02 "Permissions"; not in sx127x.md].
 */
export const GPIO_GROUP = 'gpio';

/** Build the coded error thrown when `sysfsRoot` does not exist or is not a directory. */
export function gpioSysfsUnavailable(sysfsRoot: string, cause?: unknown): CodedError {
  const err = new Error(
    `sysfs GPIO is not available: ${sysfsRoot} does not exist ` +
      '(kernel built without CONFIG_GPIO_SYSFS, /sys not mounted in this container, or not a Raspberry Pi); ' +
      'run on Raspberry Pi OS, or in a container bind-mount /sys/class/gpio',
    cause === undefined ? undefined : { cause },
  );
  return Object.assign(err, { code: ENOGPIOSYSFS });
}

/** `code` of a Node system error (or anything shaped like one), else undefined. */
function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The file a Node fs error was about, if it says. */
function errorPath(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const path = (err as { path?: unknown }).path;
  return typeof path === 'string' ? path : undefined;
}

/** Collapse whitespace so a multi-line message still logs and exits as one line. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Turn a failure to export/open/write a GPIO into one line naming the pin.
 *
 * `pinLabel` is the pin's role ("reset", "dio0", "cs"); " pin" is appended unless
 * the label already ends with it, giving e.g. "reset pin BCM17 (sysfs 529): ...".
 * - EACCES/EPERM: names the `gpio` group and the command to join it.
 * - EBUSY: another program or a kernel driver holds the pin.
 * - ENOENT/EINVAL: the sysfs number does not exist on this kernel; writing a
 *   pre-6.6 number to `export` fails with EINVAL [sx127x.md §15, raspberrypi/linux#6084].
 * Anything else is reported with its code and message, still on one line.
 */
export function describeGpioAccessError(err: unknown, pinLabel: string, bcm: number, sysfs: number): string {
  const label = /\bpin$/i.test(pinLabel.trim()) ? pinLabel.trim() : `${pinLabel.trim()} pin`;
  const pin = `${label} BCM${bcm} (sysfs ${sysfs})`;
  const code = errorCode(err);
  const path = errorPath(err);
  const on = path === undefined ? '' : ` on ${path}`;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return oneLine(
        `${pin}: permission denied (${code})${on}; join the ${GPIO_GROUP} group with ` +
          `\`sudo usermod -aG ${GPIO_GROUP} $USER\`, then log out and in again`,
      );
    case 'EBUSY':
      // A kernel driver can own the line too: with `dtoverlay=spi0-1cs,cs0_pin=25`
      // the SPI controller drives BCM25 itself [sx127x.md §14, Dragino NSS].
      return oneLine(
        `${pin}: busy (EBUSY)${on}; another program or a kernel driver (e.g. an SPI chip-select overlay) ` +
          'holds this pin; stop it or remove the pin from this config',
      );
    case 'ENOENT':
    case 'EINVAL':
      return oneLine(
        `${pin}: GPIO ${sysfs} does not exist on this kernel (${code})${on}; ` +
          'check the BCM number and that the chip base was read from /sys/class/gpio/gpiochip*/base ' +
          '(kernel 6.6+ numbers from 512)',
      );
    default: {
      const message = err instanceof Error ? err.message : String(err);
      return oneLine(`${pin}: ${code === undefined ? '' : `${code}: `}${message}`);
    }
  }
}
