/**
 * Run as a child process under the fake SX1301's LD_PRELOAD shim (see
 * test/spidev-fake-chip.test.ts): the golden eu868 SX1301_conf through our
 * config reader, then `startSx1301` over the real spidev transport, with
 * no-op waits (the fake chip completes calibration at once). Prints the
 * results of the golden replay's calls (start, two receives, counters,
 * two sends, eight status reads, stop) as one JSON line; the shim's raw
 * trace has the bytes.
 * argv: <golden config.json> <firmware dir>
 */
import { readFileSync } from 'node:fs';
import { loadFirmware } from '../../hal/index.js';
import { Sx1301Registers } from '../../hal/sx1301/registers.js';
import { receiveSx1301 } from '../../hal/sx1301/receive.js';
import { readTimestamp, sendSx1301, stopSx1301, txStatusSx1301 } from '../../hal/sx1301/send.js';
import type { TxPacket } from '../../hal/index.js';
import { startSx1301 } from '../../hal/sx1301/start.js';
import { openSpidevTransport } from '../../hal/sx127x/spidev-transport.js';
import { parseConfig } from '../../src/config/index.js';

const [configPath, fwDir] = process.argv.slice(2) as [string, string];
const golden = JSON.parse(readFileSync(configPath, 'utf8')) as { SX1301_conf: unknown };
const doc = { SX1301_conf: golden.SX1301_conf, gateway_conf: { gateway_ID: 'AA555A0000000000', radio: 'sx1301' } };
const { board } = parseConfig([{ name: 'golden', json: JSON.stringify(doc) }]).config;
const spi = await openSpidevTransport({ path: '/dev/spidev0.0', speedHz: 8_000_000 });
try {
  const regs = new Sx1301Registers(spi);
  const r = await startSx1301(regs, board, loadFirmware(fwDir), async () => undefined);
  // The golden replay's next two calls: lgw_receive(8) twice.
  const rx = [receiveSx1301(regs, board, 8), receiveSx1301(regs, board, 8)].map((list) =>
    list.map((p) => ({ ...p, payload: Buffer.from(p.payload).toString('hex') })));
  // Then: GPS_EN 0, counter, GPS_EN 1, PPS counter, an immediate send, 8 status reads, a timestamped send, stop.
  regs.write('GPS_EN', 0);
  readTimestamp(regs);
  regs.write('GPS_EN', 1);
  readTimestamp(regs);
  const frame = (over: Partial<TxPacket>): TxPacket => ({
    mode: 'immediate', countUs: 0, freqHz: 869_525_000, rfChain: 0, powerDbm: 14,
    radio: { modulation: 'LORA', spreadingFactor: 9, bandwidthHz: 125000, codeRate: '4/5' },
    invertPolarity: true, preambleSymbols: 8, noCrc: false, noHeader: false, payload: Buffer.from('0123456789'), ...over,
  });
  const sent = [sendSx1301(regs, board, r, frame({}))];
  const status = Array.from({ length: 8 }, () => txStatusSx1301(regs));
  sent.push(sendSx1301(regs, board, r, frame({ mode: 'timestamped', countUs: 306_419_896, radio: { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 500000, codeRate: '4/5' } })));
  stopSx1301(regs);
  process.stdout.write(`${JSON.stringify({ ...r, rx, sent, status })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).message, code: (err as { code?: string }).code })}\n`);
} finally {
  await spi.close();
}
