/**
 * Just-in-time downlink queue: pure, clock-free, u32-counter wrap-safe.
 * See jit-queue.ts for the semantics and constants.ts for the tunables.
 */
export {
  JitQueue,
  type JitRequest,
  type JitEntry,
  type JitEntryView,
  type JitError,
  type JitEnqueueResult,
  type JitTakeResult,
} from './jit-queue.js';
export { type JitClass, type JitSlot, preDelayUs, postDelayUs, slotsCollide } from './slot.js';
export {
  DEFAULT_JIT_TIMINGS,
  JitArgumentError,
  resolveJitTimings,
  type JitTimings,
  type ResolvedJitTimings,
} from './constants.js';
