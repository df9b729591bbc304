/**
 * The SPI boundary of the SX127x driver: one full-duplex transfer per
 * chip-select assertion. The real implementation wraps `spi-device`; tests use
 * the register-level `Sx1276Emulator`.
 *
 * SX127x framing [sx127x.md §1; LMN sx1276.c `SX1276WriteBuffer`/`ReadBuffer`]:
 * - SPI mode 0, MSB first, NSS held low for the whole transaction.
 * - Byte 0 is the register address with bit 7 set for a write (`addr | 0x80`)
 *   and clear for a read (`addr & 0x7F`).
 * - The following bytes are data. A burst auto-increments the register
 *   address after each byte, except for register 0x00 (RegFifo), where the
 *   address stays and the FIFO pointer RegFifoAddrPtr advances instead.
 * - On a read the chip returns the data in the bytes that follow the address
 *   byte; what comes back during the address byte carries no information.
 */

/** Error codes a transport throws (rejects with). */
export type SpiErrorCode =
  /** The transport was closed before or during the call. */
  | 'ECLOSED'
  /** The bus or the device failed the transfer. */
  | 'EIO'
  /** The caller passed a buffer the framing cannot carry (programmer error). */
  | 'EINVAL'
  /** The device node could not be opened (SPI not enabled, no permission, module missing). */
  | 'ENODEV';

/** Error thrown by an {@link SpiTransport}; branch on `code`. */
export class SpiError extends Error {
  /**
   * @param code stable error code
   * @param message human-readable detail
   */
  constructor(
    readonly code: SpiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SpiError';
  }
}

/** A full-duplex SPI link to one SX127x chip. */
export interface SpiTransport {
  /**
   * Clock `tx` out (address byte first, then data) while clocking in the same
   * number of bytes, under one chip-select assertion; resolves with the bytes
   * received. Rejects with an {@link SpiError}-like error carrying `code`
   * (`ECLOSED` after close, `EIO` on a bus failure, `EINVAL` for an empty buffer).
   */
  transfer(tx: Buffer): Promise<Buffer>;
  /**
   * The same transaction, completed before returning (throws instead of
   * rejecting). The driver uses this form: an SX127x register access is a few
   * bytes, and a synchronous ioctl avoids the thread-pool round trip of an
   * asynchronous one (its latency and jitter would land on the time-critical
   * TX-start write and on the tmst of every frame).
   */
  transferSync(tx: Buffer): Buffer;
  /** Release the device; later transfers reject with code `ECLOSED`. Idempotent. */
  close(): Promise<void>;
}

/** The asynchronous form of a synchronous transfer: resolves with its bytes or rejects with its error. */
export function transferViaSync(transferSync: (tx: Buffer) => Buffer, tx: Buffer): Promise<Buffer> {
  try {
    return Promise.resolve(transferSync(tx));
  } catch (err) {
    return Promise.reject(err as Error);
  }
}
