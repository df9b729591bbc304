/**
 * The simulated chip's transmitter, on its own thread so that emission timing
 * does not depend on how busy the forwarder's event loop is (the real SX1301
 * emits from hardware at the programmed counter value, whatever the host does).
 *
 * It sleeps with Atomics.wait until SPIN_US before the target, then spins on
 * the monotonic clock until the counter reaches the target, reads the counter
 * and sends the `downlink` datagram to every listener of the virtual air.
 */
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { encodeAirMessage, type AirDownlink } from './air-protocol.js';
import { SimClock } from './sim-clock.js';

/** Last stretch before the target that is busy-waited instead of slept, µs. */
const SPIN_US = 2000;

/** Message from the sim to this worker. */
export type TxWorkerRequest =
  | { type: 'emit'; id: number; targetUs: number | null; downlink: Omit<AirDownlink, 'countUs' | 'targetUs'>; listeners: { address: string; port: number }[] };

/** Message from this worker to the sim. */
export interface TxWorkerReport {
  type: 'emitted';
  id: number;
  countUs: number;
}

interface WorkerInit {
  originNs: bigint;
  startUs: number;
  /** Int32Array(1) on a SharedArrayBuffer: set to 1 and notified to cancel a sleep at stop. */
  stopFlag: SharedArrayBuffer;
}

const init = workerData as WorkerInit;
const clock = new SimClock(init.startUs, init.originNs);
const flag = new Int32Array(init.stopFlag);
const sock = dgram.createSocket('udp4');
sock.unref();

parentPort!.on('message', (req: TxWorkerRequest) => {
  if (req.type !== 'emit') return;
  if (req.targetUs !== null) {
    let ahead = (req.targetUs - clock.nowUs()) | 0;
    if (ahead > SPIN_US) {
      // Sleep until SPIN_US before the target; a stop wakes it early.
      Atomics.wait(flag, 0, 0, (ahead - SPIN_US) / 1000);
      if (Atomics.load(flag, 0) !== 0) return;
    }
    do ahead = (req.targetUs - clock.nowUs()) | 0;
    while (ahead > 0);
  }
  const countUs = clock.nowUs();
  const text = encodeAirMessage({ ...req.downlink, op: 'downlink', countUs, targetUs: req.targetUs });
  for (const l of req.listeners) sock.send(text, l.port, l.address);
  parentPort!.postMessage({ type: 'emitted', id: req.id, countUs } satisfies TxWorkerReport);
});
