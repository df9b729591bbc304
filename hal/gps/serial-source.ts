/**
 * The GPS receiver on a serial port, with `serialport`: 9600 baud 8N1 by
 * default [gps.md §1]. It never calls SerialPort.list() (which needs udev
 * and fails on minimal systems); it opens the configured path, and when the
 * port cannot be opened or goes away (a USB receiver unplugged) it retries
 * with back-off (1 s doubling to 30 s) and logs each change once.
 *
 * NMEA-only receivers go through @serialport/parser-readline (lines ending
 * in LF, latin1, so no byte is lost to UTF-8 decoding). With `ubx` on, the
 * port carries binary UBX frames as well, which a line parser would cut at
 * any 0x0A inside them: the raw bytes then go through our GpsFramer, and the
 * CFG-MSG enabling NAV-TIMEGPS is sent after each open.
 */
import type { Logger } from 'pino';
import { guard } from '../guard.js';
import { cfgMsgNavPvt, cfgMsgNavTimegps, GpsFramer } from './ubx.js';

/** What the source hands over, each with the host time it arrived (performance.now ms). */
export interface GpsSourceListener {
  nmea(line: string, atMs: number): void;
  ubx(cls: number, id: number, payload: Buffer, atMs: number): void;
}

/** Options of {@link SerialGpsSource}. */
export interface SerialGpsOptions {
  path: string;
  baudRate: number;
  ubx: boolean;
  log: Logger;
  /** First and longest reopen delay, ms. */
  reopenMinMs?: number;
  reopenMaxMs?: number;
}

interface PortLike {
  open(cb: (err: Error | null) => void): void;
  close(cb: (err: Error | null) => void): void;
  write(data: Buffer): boolean;
  pipe<T extends NodeJS.WritableStream>(dest: T): T;
  on(ev: 'data', cb: (chunk: Buffer) => void): void;
  on(ev: 'close' | 'error', cb: (err?: Error) => void): void;
  isOpen: boolean;
}

/** A GPS receiver on a tty. */
export class SerialGpsSource {
  /** internalErrors: exceptions caught by the guards of the serial callbacks (each logged). */
  readonly counters = { opens: 0, openFailures: 0, closes: 0, lines: 0, ubxFrames: 0, badUbx: 0, bytesSkipped: 0, internalErrors: 0 };
  state: 'stopped' | 'opening' | 'open' | 'waiting' = 'stopped';
  lastError: string | null = null;
  private port: PortLike | null = null;
  private timer: NodeJS.Timeout | null = null;
  private delayMs: number;
  private running = false;
  private readonly count = () => {
    this.counters.internalErrors++;
  };

  constructor(
    private readonly o: SerialGpsOptions,
    private readonly listener: GpsSourceListener,
  ) {
    this.delayMs = o.reopenMinMs ?? 1000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.open();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const p = this.port;
    this.port = null;
    this.state = 'stopped';
    if (p?.isOpen) await new Promise<void>((r) => p.close(() => r()));
  }

  private async open(): Promise<void> {
    if (!this.running) return;
    this.state = 'opening';
    let port: PortLike;
    try {
      const { SerialPort } = await import('serialport');
      port = new SerialPort({ path: this.o.path, baudRate: this.o.baudRate, dataBits: 8, stopBits: 1, parity: 'none', autoOpen: false }) as unknown as PortLike;
    } catch (err) {
      this.fail(`serialport unavailable: ${(err as Error).message}`);
      return;
    }
    port.open((err) => {
      if (!this.running) {
        if (!err) port.close(() => undefined);
        return;
      }
      if (err) {
        this.fail(err.message);
        return;
      }
      this.port = port;
      this.state = 'open';
      this.counters.opens++;
      this.delayMs = this.o.reopenMinMs ?? 1000;
      if (this.lastError !== null || this.counters.opens === 1) this.o.log.info({ path: this.o.path, baudRate: this.o.baudRate, ubx: this.o.ubx }, 'GPS serial port open');
      this.lastError = null;
      this.attach(port);
      if (this.o.ubx) port.write(Buffer.concat([cfgMsgNavTimegps(), cfgMsgNavPvt()]));
    });
  }

  private attach(port: PortLike): void {
    if (this.o.ubx) {
      const framer = new GpsFramer();
      port.on('data', guard(this.o.log, this.count, 'GPS serial data', (chunk: Buffer) => {
        const at = performance.now();
        for (const f of framer.push(chunk)) {
          if (f.kind === 'nmea') {
            this.counters.lines++;
            this.listener.nmea(f.line, at);
          } else if (f.kind === 'ubx') {
            this.counters.ubxFrames++;
            this.listener.ubx(f.cls, f.id, f.payload, at);
          } else {
            this.counters.badUbx++;
          }
        }
        this.counters.bytesSkipped = framer.skipped;
      }));
    } else {
      void import('@serialport/parser-readline').then(({ ReadlineParser }) => {
        const lines = port.pipe(new ReadlineParser({ delimiter: '\n', encoding: 'latin1' }));
        lines.on('data', guard(this.o.log, this.count, 'GPS serial line', (line: string) => {
          this.counters.lines++;
          this.listener.nmea(line, performance.now());
        }));
      }).catch((err: Error) => {
        // The optional line parser missing, or the port gone before it was attached: no NMEA will be read.
        this.o.log.error({ err: err.message, path: this.o.path }, 'GPS line reader not started');
        this.count();
      });
    }
    port.on('error', (err?: Error) => this.o.log.warn({ err: err?.message, path: this.o.path }, 'GPS serial port error'));
    port.on('close', (err?: Error) => {
      if (this.port !== port) return;
      this.port = null;
      this.counters.closes++;
      if (this.running) this.fail(`port closed${err ? `: ${err.message}` : ''}`);
    });
  }

  private fail(message: string): void {
    this.counters.openFailures++;
    if (this.lastError !== message) this.o.log.warn({ path: this.o.path, err: message, retryInMs: this.delayMs }, 'GPS serial port unavailable; retrying');
    this.lastError = message;
    this.state = 'waiting';
    if (!this.running) return;
    this.timer = setTimeout(guard(this.o.log, this.count, 'GPS serial reopen timer', () => this.open()), this.delayMs);
    this.delayMs = Math.min(this.o.reopenMaxMs ?? 30_000, this.delayMs * 2);
  }
}
