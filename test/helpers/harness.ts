import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { SimConcentrator } from '../../hal/index.js';
import { parseConfig, type ForwarderConfig } from '../../src/config/index.js';
import { NetworkServerStandIn, type NetworkServerOptions } from '../../src/demo/network-server.js';
import { Forwarder } from '../../src/forwarder.js';
import type { LookupFn } from '../../src/net/server-link.js';

/** Path of the shipped global_conf.json (tests run from dist/test/helpers). */
export const SHIPPED_CONF = new URL('../../../global_conf.json', import.meta.url);

/** A pino logger writing JSON lines into memory, so tests can assert on them. */
export function memoryLogger(level = 'debug'): { log: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const log = pino({ level, base: undefined }, stream);
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Builds a config from the shipped file with gateway_conf / sim_conf tweaks. */
export function testConfig(gateway: Record<string, unknown> = {}, sim: Record<string, unknown> = {}, sections: Record<string, Record<string, unknown>> = {}): ForwarderConfig {
  const base = JSON.parse(readFileSync(SHIPPED_CONF, 'utf8')) as Record<string, Record<string, unknown>>;
  const doc = {
    ...base,
    gateway_conf: { ...base.gateway_conf, gateway_ID: 'AA555A0000000000', server_address: '127.0.0.1', radio: 'sim', ...gateway },
    sim_conf: { ...base.sim_conf, air_port: 0, ...sim },
    ...sections,
  };
  return parseConfig([{ name: 'test_conf.json', json: JSON.stringify(doc) }]).config;
}

/** Resolves when `pred` holds, polling every 5 ms; rejects after `timeoutMs` (with `detail()`, e.g. a child's output, in the message). */
export async function waitFor<T>(pred: () => T | undefined | null | false, timeoutMs = 3000, what = 'condition', detail?: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${detail ? `; ${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A UDP client of the sim's virtual air: sends uplinks, receives downlinks. */
export class AirClient {
  readonly sock = dgram.createSocket('udp4');
  readonly received: Record<string, unknown>[] = [];

  constructor(readonly port: number) {
    this.sock.on('message', (m) => this.received.push(JSON.parse(m.toString()) as Record<string, unknown>));
  }

  /** Sends one JSON object to the air port. */
  send(obj: unknown): void {
    this.sock.send(JSON.stringify(obj), this.port, '127.0.0.1');
  }

  /** Sends raw bytes to the air port. */
  sendRaw(buf: Buffer | string): void {
    this.sock.send(buf, this.port, '127.0.0.1');
  }

  /** Subscribes to emissions; resolves with the counter value the sim reported. */
  async listen(): Promise<number> {
    const before = this.received.length;
    this.send({ op: 'listen' });
    const m = await waitFor(() => this.received.slice(before).find((x) => x.op === 'listening'), 2000, 'listening');
    return m.count_us as number;
  }

  /** Downlink messages received so far. */
  downlinks(): Record<string, unknown>[] {
    return this.received.filter((x) => x.op === 'downlink');
  }

  close(): void {
    this.sock.close();
  }
}

/** Options of {@link startHarness}. */
export interface HarnessOptions {
  gateway?: Record<string, unknown>;
  sim?: Record<string, unknown>;
  server?: NetworkServerOptions;
  lookup?: LookupFn;
  /** Extra top-level config sections (e.g. buffer_conf). */
  sections?: Record<string, Record<string, unknown>>;
  /** Clock of the uplink buffer's ages, ms. */
  bufferClockMs?: () => number;
  /** The forwarder's logger (default: JSON lines in memory, read by logLines). */
  log?: Logger;
}

/** A running forwarder + sim concentrator + network server stand-in + air client. */
export interface Harness {
  fwd: Forwarder;
  sim: SimConcentrator;
  ns: NetworkServerStandIn;
  air: AirClient;
  config: ForwarderConfig;
  logLines: () => Record<string, unknown>[];
  stop: () => Promise<void>;
}

/** Starts everything on loopback with ephemeral ports. */
export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const ns = new NetworkServerStandIn(o.server);
  const port = await ns.start();
  const config = testConfig({ serv_port_up: port, serv_port_down: port, ...o.gateway }, o.sim, o.sections);
  const memory = memoryLogger();
  const log = o.log ?? memory.log;
  const lines = memory.lines;
  const sim = new SimConcentrator({
    board: config.board,
    airAddress: '127.0.0.1',
    airPort: 0,
    counterStartUs: config.sim.counterStartUs,
    log: log.child({ module: 'sim' }),
  });
  const fwd = new Forwarder({ config, concentrator: sim, log, lookup: o.lookup, bufferClockMs: o.bufferClockMs });
  await fwd.start();
  const air = new AirClient(sim.airPortBound);
  return {
    fwd, sim, ns, air, config, logLines: lines,
    stop: async () => {
      await fwd.stop();
      air.close();
      ns.stop();
    },
  };
}

/** A LoRa uplink message for the virtual air. */
export function loraUplink(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    op: 'uplink', freq: 868.1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5',
    rssi: -60, lsnr: 9.5, crc: 'ok', data: Buffer.from('hello world').toString('base64'), ...over,
  };
}
