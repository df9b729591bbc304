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

/** Builds the process logger; modules derive `log.child({ module })` from it. */
export function createLogger(opts: LoggerOptions = {}): Logger {
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
    return pino({ level, base: undefined }, stream);
  }
  if (opts.destination) return pino({ level, base: undefined }, opts.destination);
  return pino({ level, base: undefined }, pino.destination({ dest: 1, sync: false }));
}
