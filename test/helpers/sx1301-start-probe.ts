/**
 * Run as a child process under the fake SX1301's LD_PRELOAD shim (see
 * test/spidev-fake-chip.test.ts): the golden eu868 SX1301_conf through our
 * config reader, then `startSx1301` over the real spidev transport, with
 * no-op waits (the fake chip completes calibration at once). Prints the
 * start result and two receive calls as one JSON line; the shim's raw
 * trace has the bytes.
 * argv: <golden config.json> <firmware dir>
 */
import { readFileSync } from 'node:fs';
import { loadFirmware } from '../../hal/index.js';
import { Sx1301Registers } from '../../hal/sx1301/registers.js';
import { receiveSx1301 } from '../../hal/sx1301/receive.js';
import { startSx1301 } from '../../hal/sx1301/start.js';
import { openSpidevTransport } from '../../hal/sx127x/spidev-transport.js';
import { parseConfig } from '../../src/config/index.js';

const [configPath, fwDir] = process.argv.slice(2) as [string, string];
const golden = JSON.parse(readFileSync(configPath, 'utf8')) as { SX1301_conf: unknown };
const doc = { SX1301_conf: golden.SX1301_conf, gateway_conf: { gateway_ID: 'AA555A0000000000' } };
const { board } = parseConfig([{ name: 'golden', json: JSON.stringify(doc) }]).config;
const spi = await openSpidevTransport({ path: '/dev/spidev0.0', speedHz: 8_000_000 });
try {
  const regs = new Sx1301Registers(spi);
  const r = await startSx1301(regs, board, loadFirmware(fwDir), async () => undefined);
  // The golden replay's next two calls: lgw_receive(8) twice.
  const rx = [receiveSx1301(regs, board, 8), receiveSx1301(regs, board, 8)].map((list) =>
    list.map((p) => ({ ...p, payload: Buffer.from(p.payload).toString('hex') })));
  process.stdout.write(`${JSON.stringify({ ...r, rx })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).message, code: (err as { code?: string }).code })}\n`);
} finally {
  await spi.close();
}
