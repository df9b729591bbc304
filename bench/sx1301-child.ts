/**
 * Child process of the SX1301 benchmark, run under the fake chip's
 * LD_PRELOAD shim: starts the concentrator with our driver over the real
 * spidev transport, then (optionally) polls the receive FIFO every 10 ms for
 * a while, and prints one JSON line of figures.
 * argv: <golden config.json> <firmware dir> <real sleeps: 0|1> <poll seconds>
 */
import { readFileSync } from 'node:fs';
import { loadFirmware } from '../hal/index.js';
import { receiveSx1301 } from '../hal/sx1301/receive.js';
import { Sx1301Registers } from '../hal/sx1301/registers.js';
import { startSx1301 } from '../hal/sx1301/start.js';
import { openSpidevTransport } from '../hal/sx127x/spidev-transport.js';
import { parseConfig } from '../src/config/index.js';

const [configPath, fwDir, realSleeps, pollS] = process.argv.slice(2) as [string, string, string, string];
const golden = JSON.parse(readFileSync(configPath, 'utf8')) as { SX1301_conf: unknown };
const doc = { SX1301_conf: golden.SX1301_conf, gateway_conf: { gateway_ID: 'AA555A0000000000', radio: 'sx1301' } };
const { board } = parseConfig([{ name: 'golden', json: JSON.stringify(doc) }]).config;
const fw = loadFirmware(fwDir);
const spi = await openSpidevTransport({ path: '/dev/spidev0.0', speedHz: 8_000_000 });
const regs = new Sx1301Registers(spi);
const sleep = realSleeps === '1' ? (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) : async () => undefined;
const t0 = performance.now();
await startSx1301(regs, board, fw, sleep);
const startMs = performance.now() - t0;
let packets = 0;
let polls = 0;
let cpuUs = 0;
const seconds = Number(pollS);
if (seconds > 0) {
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const c0 = process.cpuUsage();
    packets += receiveSx1301(regs, board, 16).length;
    const c = process.cpuUsage(c0);
    cpuUs += c.user + c.system;
    polls++;
    await new Promise((r) => setTimeout(r, 10));
  }
}
await spi.close();
process.stdout.write(`${JSON.stringify({ startMs, packets, polls, cpuUs })}\n`);
