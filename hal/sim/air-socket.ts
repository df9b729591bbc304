/**
 * The radio side of the virtual air, shared by the simulated concentrator and
 * the emulated SX1276: binding its UDP socket with a coded error, and the
 * bounded set of listeners that hear every emission.
 */
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import { guard } from '../guard.js';

/** Most virtual-air listeners kept at once; a new one evicts the oldest. */
export const MAX_LISTENERS = 16;

/**
 * Binds a UDP socket for the virtual air at `address:port` (0 = any free
 * port); rejects with a coded error naming the address when that fails.
 * `onMessage` runs under a last-resort guard: an exception is logged, told
 * to `onInternalError` and the socket keeps receiving.
 */
export async function bindAirSocket(
  address: string,
  port: number,
  log: Logger,
  onMessage: (m: Buffer, from: dgram.RemoteInfo) => void,
  onInternalError: (handler: string) => void,
): Promise<dgram.Socket> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', guard(log, onInternalError, 'virtual air datagram', onMessage));
  sock.on('error', (err) => log.warn({ err: err.message }, 'virtual air socket error'));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => {
      sock.off('error', reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    sock.close();
    throw Object.assign(new Error(`virtual air: cannot bind ${address}:${port}: ${err.message}`), { code: err.code ?? 'EBIND' });
  });
  return sock;
}

/** Who hears emissions: at most {@link MAX_LISTENERS}, oldest subscription dropped first. */
export class AirListeners {
  private readonly map = new Map<string, { address: string; port: number }>();

  /** (Re)subscribes the sender of a `listen` message; it moves to the newest place. */
  add(from: { address: string; port: number }): void {
    const key = `${from.address}:${from.port}`;
    this.map.delete(key);
    this.map.set(key, { address: from.address, port: from.port });
    // Map keeps insertion order, so the first key is the oldest subscription.
    if (this.map.size > MAX_LISTENERS) this.map.delete(this.map.keys().next().value!);
  }

  /** Sends `text` to every listener. */
  sendAll(sock: dgram.Socket | null, text: string): void {
    for (const l of this.map.values()) sock?.send(text, l.port, l.address);
  }
}
