import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

/** Output format of the log: JSON lines, or human-readable lines. */
export type LogFormat = 'json' | 'pretty';

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

function makeLogger(opts: LoggerOptions, onChild: (child: Logger) => void): Logger {
  const format = opts.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const level = opts.level ?? 'info';
  if (format === 'pretty') {
    // pino-pretty as an in-process stream (not a transport worker): one thread less on a Pi.
    const stream = pretty({
      colorize: opts.destination === undefined && process.stdout.isTTY,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      destination: opts.destination ?? 1,
      sync: true,
    });
    return pino({ level, base: undefined, onChild }, stream);
  }
  if (opts.destination) return pino({ level, base: undefined, onChild }, opts.destination);
  return pino({ level, base: undefined, onChild }, pino.destination({ dest: 1, sync: false }));
}
