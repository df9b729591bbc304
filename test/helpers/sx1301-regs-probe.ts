/**
 * Run as a child process under the fake SX1301's LD_PRELOAD shim (see
 * test/spidev-fake-chip.test.ts): named register reads and writes through
 * `Sx1301Registers` over the real spidev transport; prints the values read
 * back as one JSON line (the shim's raw trace has the bytes).
 */
import { Sx1301Registers } from '../../hal/sx1301/registers.js';
import { openSpidevTransport } from '../../hal/sx127x/spidev-transport.js';

const spi = await openSpidevTransport({ path: '/dev/spidev0.0', speedHz: 8_000_000 });
const regs = new Sx1301Registers(spi);
const version = regs.read('VERSION');
regs.write('TX_START_DELAY', 1497);
regs.write('IF_FREQ_0', -819);
regs.write('GPS_EN', 1);
const out = { version, txStartDelay: regs.read('TX_START_DELAY'), ifFreq0: regs.read('IF_FREQ_0'), gpsEn: regs.read('GPS_EN'), gpsPol: regs.read('GPS_POL') };
await spi.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
