import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { PACKET_VIEWS } from './packet-log.js';
import { formatStatsReport, STATS_REPORT_MSG, type StatsReportEntry } from './stats.js';

/** Output format of the log: JSON lines, or human-readable lines. */
export type LogFormat = 'json' | 'pretty';

/**
 * How an entry with a given message reads in pretty mode: its whole text
 * (one line, or a short block), made from the entry's own fields, which are
 * then not listed below it. JSON mode writes the same entry with its fields.
 */
export type LogView = (entry: Record<string, unknown>) => string;

/** The views of the forwarder's entries: one line per uplink and downlink outcome, the stats report as a block. */
export const LOG_VIEWS: Readonly<Record<string, LogView>> = {
  ...PACKET_VIEWS,
  [STATS_REPORT_MSG]: (e) => formatStatsReport(e.report as StatsReportEntry),
};

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Default: pretty when stdout is a terminal, JSON lines otherwise. */
  format?: LogFormat;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: NodeJS.WritableStream;
}

/** Every logger made by {@link createLogger} and its descendants, so a level change reaches them all. */
const family = new WeakMap<Logger, Set<WeakRef<Logger>>>();

/**
 * Sets the level of `root` and of every child derived from it (pino copies
 * the level into a child when it is made, so setting the root alone would
 * leave the modules' loggers where they were). Used by SIGHUP.
 */
export function setLogLevel(root: Logger, level: LevelWithSilent): void {
  root.level = level;
  for (const ref of family.get(root) ?? []) {
    const child = ref.deref();
    if (child) child.level = level;
  }
}

/** Builds the process logger; modules derive `log.child({ module })` from it. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const members = new Set<WeakRef<Logger>>();
  const onChild = (child: Logger) => {
    members.add(new WeakRef(child));
  };
  const root = makeLogger(opts, onChild);
  family.set(root, members);
  return root;
}

/**
 * pino's JSON lines → pino-pretty, with {@link LOG_VIEWS}: an entry whose
 * message has a view is written as that text alone. pino-pretty runs in
 * process (not as a transport worker): one thread less on a Pi.
 */
function prettyDestination(out: NodeJS.WritableStream | DestinationStream, colorize: boolean): DestinationStream {
  const common = { colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' };
  const full = prettyFactory(common);
  const bare = prettyFactory({ ...common, hideObject: true });
  const render = (line: string): string => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return line;
    }
    const view = typeof entry.msg === 'string' ? LOG_VIEWS[entry.msg] : undefined;
    if (view) {
      try {
        return bare({ ...entry, msg: view(entry) });
      } catch {
        // A view that cannot read its entry: show the entry as it is.
      }
    }
    return full(entry);
  };
  return {
    write(chunk: string) {
      // pino writes one entry per call, newline-terminated.
      for (const line of chunk.split('\n')) if (line.length > 0) out.write(render(line));
    },
    flush(cb?: (err?: Error) => void) {
      const f = (out as { flush?: (cb: (err?: Error) => void) => void }).flush;
      if (typeof f === 'function') f.call(out, cb ?? (() => undefined));
      else cb?.();
    },
  } as DestinationStream;
}

function makeLogger(opts: LoggerOptions, onChild: (child: Logger) => void): Logger {
  const format = opts.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const level = opts.level ?? 'info';
  if (format === 'pretty') {
    const out = opts.destination ?? pino.destination({ dest: 1, sync: true });
    return pino({ level, base: undefined, onChild }, prettyDestination(out, opts.destination === undefined && process.stdout.isTTY === true));
  }
  if (opts.destination) return pino({ level, base: undefined, onChild }, opts.destination);
  return pino({ level, base: undefined, onChild }, pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS }));
}

/**
 * JSON lines are gathered up to this many bytes before one write to stdout.
 * An asynchronous write goes through libuv's thread pool (a futex wake of a
 * worker and an eventfd back), which costs more than the line itself: at
 * 1,000 uplinks/s, one write per line cost 43 µs per uplink of the 208
 * measured (python3 ../shared/perf/measure.py --rate 1000 --fifo 16, medians
 * of 3 interleaved runs). The buffer is written when full, every
 * {@link LOG_FLUSH_MS}, on log.flush() and synchronously at exit (pino's
 * exit hook), so what the journal shows is at most that late; only a SIGKILL
 * loses it.
 */
export const LOG_BUFFER_BYTES = 4096;
/** Longest a JSON log line waits in the buffer, ms. */
export const LOG_FLUSH_MS = 250;
