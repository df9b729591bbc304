/**
 * systemd readiness and watchdog without a native addon: when systemd
 * started us with `Type=notify` it sets NOTIFY_SOCKET (and WATCHDOG_USEC
 * with `WatchdogSec=`). Node cannot send on a Unix datagram socket, so the
 * messages go through `systemd-notify` (part of systemd), which needs
 * `NotifyAccess=all` in the unit because it is a child process.
 *
 * - READY=1 once started, and again with every watchdog ping: a message
 *   from a short-lived child can be dropped when systemd looks up its
 *   cgroup after it exited, and repeating READY=1 is harmless.
 * - WATCHDOG=1 every WATCHDOG_USEC / 2 from an event-loop timer, so a
 *   stuck event loop stops the pings and systemd restarts the service.
 * - STOPPING=1 when shutting down.
 */
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

/** The handle runForwarder keeps. */
export interface SystemdNotify {
  /** True when NOTIFY_SOCKET was set. */
  active: boolean;
  /** Pings sent so far. */
  pings: number;
  stopping(): void;
  close(): void;
}

/** Starts notifying when run by systemd; a no-op otherwise. */
export function startSystemdNotify(log: Logger, env: NodeJS.ProcessEnv = process.env, command = 'systemd-notify'): SystemdNotify {
  const socket = env.NOTIFY_SOCKET;
  const handle: SystemdNotify = { active: false, pings: 0, stopping() {}, close() {} };
  if (!socket) return handle;
  handle.active = true;
  let warned = false;
  const send = (...assignments: string[]) => {
    execFile(command, assignments, { env: { ...env, NOTIFY_SOCKET: socket }, timeout: 5000 }, (err) => {
      if (err && !warned) {
        warned = true;
        log.warn({ err: err.message, command }, 'systemd notification failed (is systemd-notify installed?)');
      }
    });
  };
  send('READY=1', `STATUS=forwarding`, `MAINPID=${process.pid}`);
  log.info({ socket }, 'told systemd we are ready');
  const usec = Number(env.WATCHDOG_USEC);
  const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
  let timer: NodeJS.Timeout | null = null;
  if (Number.isFinite(usec) && usec > 0 && forUs) {
    const everyMs = Math.max(100, Math.floor(usec / 2000));
    timer = setInterval(() => {
      handle.pings++;
      send('WATCHDOG=1', 'READY=1');
    }, everyMs);
    log.info({ everyMs }, 'systemd watchdog fed from the event loop');
  }
  handle.stopping = () => send('STOPPING=1');
  handle.close = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };
  return handle;
}
