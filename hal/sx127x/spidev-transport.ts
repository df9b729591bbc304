/**
 * The real {@link SpiTransport}: Linux spidev through the `spi-device` module
 * (sx127x.md §16: mode and speed are device options given at open; a message
 * is an array of transfers). SPI mode 0, MSB first, 8 bits [sx127x.md §1].
 *
 * - `spi-device` is an optional dependency with a native build: it is loaded
 *   by {@link openSpidevTransport}, only when an SX127x radio is configured.
 * - The device node is opened on the first transfer, so constructing the
 *   radio never fails on a machine without SPI; the first access does, with a
 *   message that says how to enable SPI or get permission.
 * - Chip select: the spidev CE line, or a GPIO driven low around each
 *   transfer (the Dragino HAT's NSS is BCM25, not CE0 [sx127x.md §14]). The
 *   kernel still toggles its own CE line, which the radio does not see.
 */
import type { SpiDevice, SpiOptions } from 'spi-device';
import type { OutputLine } from '../gpio/lines.js';
import { SpiError, transferViaSync, type SpiTransport } from './spi-transport.js';

type SpiDeviceModule = { openSync(bus: number, device: number, options?: SpiOptions): SpiDevice; MODE0: 0 };

/** Options of the spidev transport. */
export interface SpidevTransportOptions {
  /** `/dev/spidevB.D`. */
  path: string;
  speedHz: number;
  /** GPIO chip select (active low), or undefined to use the spidev CE line. */
  cs?: OutputLine;
}

/** `/dev/spidevB.D` → bus and device numbers, or null. */
export function parseSpidevPath(path: string): { bus: number; device: number } | null {
  const m = /^\/dev\/spidev(\d+)\.(\d+)$/.exec(path);
  return m ? { bus: Number(m[1]), device: Number(m[2]) } : null;
}

/** Why opening `path` failed, on one line with what to do. */
export function describeSpidevOpenError(err: unknown, path: string): string {
  const code = (err as { code?: string }).code;
  const msg = (err as Error).message ?? String(err);
  if (code === 'ENOENT' || /ENOENT|no such file/i.test(msg)) {
    return `${path} does not exist: enable SPI (sudo raspi-config nonint do_spi 0, or dtparam=spi=on in /boot/firmware/config.txt) and reboot`;
  }
  if (code === 'EACCES' || code === 'EPERM' || /EACCES|permission denied/i.test(msg)) {
    return `${path}: permission denied; join the spi group with \`sudo usermod -aG spi $USER\`, then log out and in again`;
  }
  return `${path}: ${msg.split('\n')[0]}`;
}

/** Loads `spi-device` and returns a transport that opens `opts.path` on first use. */
export async function openSpidevTransport(opts: SpidevTransportOptions): Promise<SpiTransport> {
  const where = parseSpidevPath(opts.path);
  if (!where) throw new SpiError('EINVAL', `spi_device "${opts.path}" is not of the form /dev/spidevB.D`);
  let mod: SpiDeviceModule;
  try {
    const imported = (await import('spi-device')) as unknown as SpiDeviceModule & { default?: SpiDeviceModule };
    mod = imported.default ?? imported;
  } catch (err) {
    throw new SpiError(
      'ENODEV',
      `the spi-device module is not installed or did not build (${(err as Error).message.split('\n')[0]}); ` +
        'on the Pi: sudo apt install build-essential python3, then npm rebuild spi-device',
    );
  }
  return new SpidevTransport(mod, where.bus, where.device, opts);
}

/** spidev through an already-loaded `spi-device` module (exported for tests that pass their own). */
export class SpidevTransport implements SpiTransport {
  private dev: SpiDevice | null = null;
  private closed = false;

  constructor(
    private readonly mod: SpiDeviceModule,
    private readonly bus: number,
    private readonly device: number,
    private readonly opts: SpidevTransportOptions,
  ) {}

  transfer(tx: Buffer): Promise<Buffer> {
    return transferViaSync((b) => this.transferSync(b), tx);
  }

  transferSync(tx: Buffer): Buffer {
    if (this.closed) throw new SpiError('ECLOSED', `${this.opts.path}: transfer after close`);
    if (tx.length === 0) throw new SpiError('EINVAL', `${this.opts.path}: empty transfer`);
    const dev = this.device_();
    const rx = Buffer.alloc(tx.length);
    const cs = this.opts.cs;
    try {
      cs?.write(0);
      dev.transferSync([{ byteLength: tx.length, sendBuffer: tx, receiveBuffer: rx, speedHz: this.opts.speedHz }]);
    } catch (err) {
      throw new SpiError('EIO', `${this.opts.path}: transfer failed: ${(err as Error).message}`);
    } finally {
      try {
        cs?.write(1);
      } catch {
        // reported by the next write to the pin
      }
    }
    return rx;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      try {
        this.dev?.closeSync();
      } catch {
        // closing a device that failed is not worth an error
      }
      this.dev = null;
    }
    return Promise.resolve();
  }

  private device_(): SpiDevice {
    if (this.dev) return this.dev;
    try {
      this.dev = this.mod.openSync(this.bus, this.device, { mode: this.mod.MODE0, maxSpeedHz: this.opts.speedHz });
    } catch (err) {
      throw new SpiError('ENODEV', describeSpidevOpenError(err, this.opts.path));
    }
    return this.dev;
  }
}
