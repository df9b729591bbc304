/**
 * The simulated chip's transmitter, on its own thread so that emission timing
 * does not depend on how busy the forwarder's event loop is (the real SX1301
 * emits from hardware at the programmed counter value, whatever the host does).
 *
 * It sleeps with Atomics.wait until SPIN_US before the target, then spins on
 * the monotonic clock until the counter reaches the target, reads the counter
 * and sends the `downlink` datagram to every listener of the virtual air.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { encodeAirMessage, type AirDownlink } from './air-protocol.js';
import { SimClock } from './sim-clock.js';

/**
 * Last stretch before the target that is busy-waited instead of slept, µs:
 * Atomics.wait oversleeps by up to ~3.4 ms on a loaded 2-core VM (measured:
 * p99 1.2 ms), so the thread wakes 6 ms early and spins.
 * Tried and measured (dev VM, A/B interleaved, `npm run bench` downlink phase
 * with 5000 uplinks/s): short sleeps down to a 500 µs final spin gave p99
 * 312–322 µs against 204–270 µs for this 6 ms spin; idle it was the other way
 * round (53–177 µs against 257–312 µs). The bench's condition decides.
 */
const SPIN_US = 6000;

/** Message from the sim to this worker. */
export type TxWorkerRequest =
  | { type: 'emit'; id: number; targetUs: number | null; downlink: Omit<AirDownlink, 'countUs' | 'targetUs'> };

/** Message from this worker to the sim. */
export type TxWorkerReport =
  /** `text` is the downlink datagram; the sim sends it to the listeners of the moment. */
  | { type: 'emitted'; id: number; countUs: number; text: string }
  | { type: 'started'; priorityRaised: boolean };

interface WorkerInit {
  originNs: bigint;
  startUs: number;
  /** Int32Array(1) on a SharedArrayBuffer: set to 1 and notified to cancel a sleep at stop. */
  stopFlag: SharedArrayBuffer;
}

const init = workerData as WorkerInit;
const clock = new SimClock(init.startUs, init.originNs);
const flag = new Int32Array(init.stopFlag);

/** Nice value asked for this thread: it stands in for the chip's hardware timer. */
const TX_THREAD_NICE = -10;
let priorityRaised = true;
try {
  // On Linux, setpriority(PRIO_PROCESS, 0) changes the calling thread only, not the forwarder.
  setPriority(0, TX_THREAD_NICE);
} catch {
  // Needs CAP_SYS_NICE; without it emissions are just more exposed to preemption on a busy host.
  priorityRaised = false;
}
parentPort!.postMessage({ type: 'started', priorityRaised });

parentPort!.on('message', (req: TxWorkerRequest) => {
  if (req.type !== 'emit') return;
  // The counter reading that ends the wait is the emission instant: keep that
  // reading (a fresh read after the loop costs ~40 µs as V8 leaves the
  // on-stack-replaced loop, measured).
  let countUs = clock.nowUs();
  if (req.targetUs !== null) {
    const target = req.targetUs;
    const ahead = (target - countUs) | 0;
    if (ahead > SPIN_US) {
      // Sleep until SPIN_US before the target; a stop wakes it early.
      Atomics.wait(flag, 0, 0, (ahead - SPIN_US) / 1000);
      if (Atomics.load(flag, 0) !== 0) return;
    }
    do countUs = clock.nowUs();
    while (((target - countUs) | 0) > 0);
  }
  // An immediate request (timed by the JIT queue) is reported as immediate: target_us null (air contract).
  const text = encodeAirMessage({ ...req.downlink, op: 'downlink', countUs, targetUs: req.downlink.imme === true ? null : req.targetUs });
  parentPort!.postMessage({ type: 'emitted', id: req.id, countUs, text } satisfies TxWorkerReport);
});
