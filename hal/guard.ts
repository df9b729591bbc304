/**
 * The last-resort catch for callbacks that Node calls from its event loop
 * (socket messages, timers, serial data, worker messages). An exception
 * escaping one of them ends the process, and a rejected promise left by an
 * async one does too (Node ≥ 15). Decoders return results and never throw
 * on input; this is for the bug nobody found yet: it is logged (at most one
 * line per handler per {@link GUARD_LOG_INTERVAL_MS}, with the number
 * suppressed meanwhile), counted by the owner, and the loop carries on.
 */
import type { Logger } from 'pino';

/** Shortest time between two log lines of one guarded handler, ms. */
export const GUARD_LOG_INTERVAL_MS = 10_000;

/**
 * Wraps `fn` so that nothing it throws, synchronously or through the promise
 * it returns, leaves it. `count(name)` is called once per exception; `name`
 * says which handler in the log and in per-handler counts.
 */
export function guard<A extends unknown[]>(
  log: Logger,
  count: (name: string) => void,
  name: string,
  fn: (...args: A) => unknown,
): (...args: A) => void {
  let lastLogMs = -Infinity;
  let suppressed = 0;
  const caught = (err: unknown) => {
    try {
      count(name);
      const now = performance.now();
      if (now - lastLogMs < GUARD_LOG_INTERVAL_MS) {
        suppressed++;
        return;
      }
      lastLogMs = now;
      const e = err as { message?: unknown; code?: unknown; stack?: unknown };
      log.error(
        { handler: name, err: String(e?.message ?? err), code: e?.code, stack: typeof e?.stack === 'string' ? e.stack.slice(0, 2000) : undefined, suppressed },
        'internal error in a handler; carrying on',
      );
      suppressed = 0;
    } catch {
      // Counting or logging failed too: nothing safe is left to do but carry on.
    }
  };
  return (...args: A): void => {
    try {
      const r = fn(...args);
      if (r instanceof Promise) r.catch(caught);
    } catch (err) {
      caught(err);
    }
  };
}
