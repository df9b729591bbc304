/**
 * Run as a child process under the fake SX1301's LD_PRELOAD shim (see
 * test/spidev-fake-chip.test.ts): drives the real `spi-device` module through
 * `SpidevTransport` and prints what the chip answered, as one JSON line.
 */
import { openSpidevTransport } from '../../hal/sx127x/spidev-transport.js';

const spi = await openSpidevTransport({ path: '/dev/spidev0.0', speedHz: 8_000_000 });
// SX1301 framing is the SX127x one: address byte (bit 7 = write), then data.
const version = spi.transferSync(Buffer.from([0x01, 0x00]))[1];
const viaAsync = (await spi.transfer(Buffer.from([0x01, 0x00])))[1];
// A 4-byte burst from register 0: PAGE_REG, VERSION, then two more registers.
const burst = [...spi.transferSync(Buffer.from([0x00, 0, 0, 0, 0])).subarray(1)];
await spi.close();
let closedCode: string | undefined;
try {
  spi.transferSync(Buffer.from([0x01, 0]));
} catch (err) {
  closedCode = (err as { code?: string }).code;
}
process.stdout.write(`${JSON.stringify({ version, viaAsync, burst, closedCode })}\n`);
