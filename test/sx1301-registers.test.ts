import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadMcuFirmware } from '../hal/sx1301/mcu.js';
import { loraTimestampCorrectionUs } from '../hal/sx1301/receive.js';
import { setupSx125x, sx125xPllBytes, sx125xRead, sx125xWrite } from '../hal/sx1301/sx125x.js';
import { SX1301_REGISTER_ROWS } from '../hal/sx1301/register-table.js';
import { BURST_CHUNK, Sx1301Registers, registerDef } from '../hal/sx1301/registers.js';
import { Sx1301Emulator, type Sx1301Transaction } from '../hal/sx1301/sx1301-emulator.js';
import { SX1301_KIT, comparable, goldenTransactions, kitMissing } from './helpers/shared-kit.js';

function rig() {
  const chip = new Sx1301Emulator();
  return { chip, regs: new Sx1301Registers(chip) };
}
const hex = (b: Buffer) => b.toString('hex');
/** An emulator transaction as the frame that was on the bus, in comparable form. */
const frameOf = (t: Sx1301Transaction) => comparable(Buffer.concat([Buffer.from([(t.write ? 0x80 : 0) | t.addr]), t.data]));

describe('SX1301 register table', () => {
  test('326 rows as in libloragw (LGW_TOTALREGS), unique names, the rows sx1301.md §2 names', () => {
    assert.equal(SX1301_REGISTER_ROWS.length, 326);
    assert.equal(new Set(SX1301_REGISTER_ROWS.map((r) => r[0])).size, 326);
    assert.deepEqual(registerDef('VERSION'), { name: 'VERSION', page: -1, addr: 1, offs: 0, signed: false, len: 8, readOnly: true, dflt: 103 });
    assert.deepEqual(registerDef('TIMESTAMP'), { name: 'TIMESTAMP', page: 2, addr: 70, offs: 0, signed: false, len: 32, readOnly: true, dflt: 0 });
    assert.deepEqual(registerDef('IF_FREQ_0'), { name: 'IF_FREQ_0', page: 0, addr: 36, offs: 0, signed: true, len: 13, readOnly: false, dflt: -384 });
    assert.deepEqual([registerDef('TX_START_DELAY').page, registerDef('TX_START_DELAY').addr, registerDef('TX_START_DELAY').len], [1, 34, 16]);
    assert.deepEqual([registerDef('GPS_POL').page, registerDef('GPS_POL').addr, registerDef('GPS_POL').offs, registerDef('GPS_POL').dflt], [2, 89, 1, 1]);
    for (const [name, page, addr, offs, , len] of SX1301_REGISTER_ROWS) {
      assert.ok(page >= -1 && page <= 2, name);
      assert.ok(page === -1 ? addr <= 32 || addr >= 125 : addr >= 33 && addr <= 124, `${name} at ${addr} on page ${page}`);
      assert.ok(offs + len <= 8 || offs === 0, `${name}: multi-byte fields start at bit 0`);
    }
  });
});

describe('SX1301 register access on the emulator (sx1301.md §1-2)', () => {
  test('VERSION reads 103 with the 2-byte read framing', () => {
    const { chip, regs } = rig();
    assert.equal(regs.read('VERSION'), 103);
    assert.deepEqual(chip.transactions.map((t) => [t.write, t.addr, hex(t.data)]), [[false, 1, '67']]);
  });

  test('TX_START_DELAY = 1497 is a 2-byte burst LSB first (D9 05) after one page switch', () => {
    const { chip, regs } = rig();
    regs.write('TX_START_DELAY', 1497);
    assert.deepEqual(chip.transactions.map((t) => [t.write, t.addr, hex(t.data)]), [[true, 0, '01'], [true, 34, 'd905']]);
    assert.equal(regs.read('TX_START_DELAY'), 1497);
    assert.equal(chip.transactions.length, 3, 'no second page switch');
  });

  test('IF_FREQ_0 = -819 goes as CD FC and reads back signed', () => {
    const { chip, regs } = rig();
    regs.write('IF_FREQ_0', -819);
    assert.equal(hex(chip.transactions.at(-1)!.data), 'cdfc');
    assert.equal(regs.read('IF_FREQ_0'), -819);
    assert.equal(regs.read('IF_FREQ_1'), registerDef('IF_FREQ_1').dflt, 'neighbours keep their reset values');
  });

  test('a field inside a byte is read-modify-written; the other bits stay', () => {
    const { chip, regs } = rig();
    regs.write('GPS_EN', 1);
    assert.equal(regs.read('GPS_POL'), 1, 'GPS_POL (bit 1, default 1) untouched');
    assert.equal(regs.read('GPS_EN'), 1);
    assert.equal(chip.peek(89, 2) & 0x03, 0x03);
    regs.write('GPS_POL', 0);
    assert.equal(regs.read('GPS_EN'), 1);
    assert.equal(chip.peek(89, 2) & 0x03, 0x01);
  });

  test('the page is written only when it changes; registers on every page need none', () => {
    const { chip, regs } = rig();
    regs.read('TX_STATUS'); // page 1
    regs.read('TX_GAIN'); // page 1 again
    regs.read('VERSION'); // every page
    regs.read('GPS_EN'); // page 2
    const pageWrites = chip.transactions.filter((t) => t.write && t.addr === 0).map((t) => t.data[0]);
    assert.deepEqual(pageWrites, [1, 2]);
    assert.equal(regs.cachedPage, 2);
  });

  test('SOFT_RESET returns the chip and the cache to page 0 and the reset values', () => {
    const { chip, regs } = rig();
    regs.write('GPS_EN', 1);
    regs.write('SOFT_RESET', 1);
    assert.equal(chip.page, 0);
    assert.equal(regs.cachedPage, 0);
    assert.equal(regs.read('GPS_EN'), 0);
  });

  test('a 32-bit read-only counter reads as an unsigned LSB-first burst; the host cannot write it', () => {
    const chip = new Sx1301Emulator({ counterStartUs: 0xfedcba98 });
    const regs = new Sx1301Registers(chip);
    const v = regs.read('TIMESTAMP');
    assert.ok(v >= 0xfedcba98 && v < 0xfedcba98 + 5_000_000, `read ${v.toString(16)}`);
    const t = chip.transactions.at(-1)!;
    assert.deepEqual([t.write, t.addr, t.page, t.data.length], [false, 70, 2, 4]);
    assert.equal(t.data.readUInt32LE(0), v, 'LSB first');
    assert.throws(() => regs.write('TIMESTAMP' as never, 1), { code: 'EREADONLY' });
    chip.transferSync(Buffer.from([0x80 | 70, 0, 0, 0, 0]));
    assert.match(chip.violations[0]!, /read-only address 70/);
    regs.write('GPS_EN', 1);
    assert.equal(regs.read('TIMESTAMP'), 0, 'GPS_EN = 1 and no PPS edge yet: the latch reads 0');
  });

  test('bursts to a data port are cut into 1024-byte chunks, each repeating the command byte', () => {
    const { chip, regs } = rig();
    const fw = Buffer.alloc(2500, 0).map((_, i) => i & 0xff);
    regs.writeBurst('MCU_PROM_DATA', fw);
    const burst = chip.transactions.filter((t) => t.addr === 10);
    assert.deepEqual(burst.map((t) => [t.write, t.data.length]), [[true, BURST_CHUNK], [true, BURST_CHUNK], [true, 452]]);
    assert.deepEqual(Buffer.from(chip.portWrites.get(10)!), fw, 'the port received every byte in order');
  });

  test('values that do not fit and read-only registers are refused before touching the bus', () => {
    const { chip, regs } = rig();
    assert.throws(() => regs.write('IF_FREQ_0', 4096), { code: 'ERANGE' });
    assert.throws(() => regs.write('TX_START_DELAY', -1), { code: 'ERANGE' });
    assert.throws(() => regs.write('VERSION', 1), { code: 'EREADONLY' });
    assert.throws(() => regs.write('GPS_EN', 1.5), { code: 'ERANGE' });
    assert.equal(chip.transactions.length, 0);
  });

  test('the emulator records what the chip would not accept', () => {
    const chip = new Sx1301Emulator();
    chip.transferSync(Buffer.from([0x81, 0x12])); // VERSION is read-only
    chip.transferSync(Buffer.from([0x80, 0x03])); // page 3
    chip.transferSync(Buffer.from([0x80 | 40, 1])); // a paged address on page 3
    chip.transferSync(Buffer.from([126, 0, 0, 0])); // burst past 127
    assert.equal(chip.violations.length, 3);
    assert.match(chip.violations[0]!, /read-only address 1/);
    assert.match(chip.violations[1]!, /page 3/);
    assert.match(chip.violations[2]!, /past address 127/);
    assert.equal(chip.peek(1, 0), 103);
  });
});

describe('SX1301 MCU firmware load', () => {
  const noGolden = kitMissing('golden/eu868/raw.txt');

  test('load and verify into the AGC MCU: the PROM holds the image, the host gives it back', () => {
    const { chip, regs } = rig();
    const image = Buffer.alloc(8192).map((_, i) => (i * 7 + 3) & 0xff);
    loadMcuFirmware(regs, 1, image);
    assert.deepEqual(Buffer.from(chip.prom[1]), image);
    // MCU_SELECT_MUX_0 is 0 at reset too, so the arbiter's PROM took the bytes as well, as on the chip.
    assert.deepEqual(Buffer.from(chip.prom[0]), image);
    assert.equal(regs.read('MCU_SELECT_MUX_1'), 1);
    assert.equal(regs.read('MCU_RST_1'), 1, 'still held in reset');
  });

  test('a readback that differs is an EFWVERIFY error naming the byte', () => {
    const { chip, regs } = rig();
    const image = Buffer.alloc(8192, 0x11);
    // A PROM that drops writes: the host never gets the RAM (MCU_SELECT_MUX forced on).
    chip.transferSync(Buffer.from([0x80, 0x00]));
    const orig = chip.transferSync.bind(chip);
    chip.transferSync = (tx: Buffer) => (tx[0] === 0x8a ? Buffer.alloc(tx.length) : orig(tx));
    assert.throws(() => loadMcuFirmware(regs, 1, image), (e: Error & { code?: string }) => e.code === 'EFWVERIFY' && /differs at byte 0/.test(e.message));
  });

  test('the bytes on the bus are libloragw\'s: golden eu868 transactions 253-276 (cal image into the AGC MCU)', { skip: noGolden }, () => {
    const { chip, regs } = rig();
    regs.write('PAGE_REG', 0); // transaction 252 of the golden trace
    const before = chip.transactions.length;
    const cal = readFileSync(join(SX1301_KIT, 'firmware', 'cal.bin'));
    loadMcuFirmware(regs, 1, cal);
    const mine = chip.transactions.slice(before).map(frameOf);
    const golden = goldenTransactions(253, 276);
    assert.equal(mine.length, golden.length);
    mine.forEach((m, i) => assert.deepEqual(m, golden[i], `transaction ${253 + i}`));
  });
});

describe('SX1257 radios behind the SX1301 bridge', () => {
  const noGolden = kitMissing('golden/eu868/raw.txt');
  const noSleep = async () => undefined;

  test('PLL words: 867.5 MHz → D8 E0 00, 868.5 MHz → D9 20 00 (SX1257); SX1255 at 433.5 MHz', () => {
    assert.deepEqual(sx125xPllBytes('SX1257', 867_500_000), [0xd8, 0xe0, 0x00]);
    assert.deepEqual(sx125xPllBytes('SX1257', 868_500_000), [0xd9, 0x20, 0x00]);
    // 433.5 MHz / 2 MHz = 216 rest 1.5 MHz → 1.5e6·512/15625 = 49152 = 0xC000.
    assert.deepEqual(sx125xPllBytes('SX1255', 433_500_000), [216, 0xc0, 0x00]);
  });

  test('a radio register written and read back through the bridge', () => {
    const { chip, regs } = rig();
    sx125xWrite(regs, 1, 0x26, 0x2d);
    assert.equal(chip.radios[1][0x26], 0x2d);
    assert.equal(chip.radios[0][0x26], 0);
    assert.equal(sx125xRead(regs, 1, 0x26), 0x2d);
  });

  test('set-up of radio A (867.5 MHz) and B (868.5 MHz, clock source): the bytes of golden eu868 transactions 18-243', { skip: noGolden }, async () => {
    const { chip, regs } = rig();
    regs.write('PAGE_REG', 2); // transaction 9 of the golden trace
    const before = chip.transactions.length;
    await setupSx125x(regs, 0, { type: 'SX1257', enable: true, freqHz: 867_500_000, clockSource: false }, noSleep);
    await setupSx125x(regs, 1, { type: 'SX1257', enable: true, freqHz: 868_500_000, clockSource: true }, noSleep);
    const mine = chip.transactions.slice(before).map(frameOf);
    const golden = goldenTransactions(18, 243);
    assert.equal(mine.length, golden.length);
    mine.forEach((m, i) => assert.deepEqual(m, golden[i], `transaction ${18 + i}`));
    assert.deepEqual([chip.radios[0][1], chip.radios[0][2], chip.radios[0][3]], [0xd8, 0xe0, 0x00]);
  });

  test('a PLL that never locks is EPLLLOCK after 5 tries, 1 ms apart', async () => {
    const chip = new Sx1301Emulator();
    // The bridge answers, but the lock bit never comes: read-back (page 2, address 34) always 0.
    const spi = {
      transfer: (tx: Buffer) => chip.transfer(tx),
      transferSync: (tx: Buffer) => (tx[0] === 34 ? Buffer.alloc(tx.length) : chip.transferSync(tx)),
      close: () => chip.close(),
    };
    const regs = new Sx1301Registers(spi);
    const sleeps: number[] = [];
    await assert.rejects(
      setupSx125x(regs, 0, { type: 'SX1257', enable: true, freqHz: 867_500_000, clockSource: false }, async (ms) => {
        sleeps.push(ms);
      }),
      (e: Error & { code?: string }) => e.code === 'EPLLLOCK' && /radio A \(SX1257\) PLL did not lock at 867500000 Hz after 5 tries/.test(e.message),
    );
    assert.deepEqual(sleeps, [1, 1, 1, 1]);
  });
});

describe('SX1301 receive timestamp correction (sx1301.md §4)', () => {
  test('the four golden packets: raw latch − count_us', () => {
    // IF0 SF7 CR4/5, 12 bytes + CRC: 0x12345678 → 305419098.
    assert.equal(loraTimestampCorrectionUs({ multiSf: true, bwHz: 125000, sf: 7, cr: 1, size: 12, crc: true }), 0x12345678 - 305419098);
    // Std channel 250 kHz SF7, 5 bytes, no CRC: 0x00100000 → 1048242.
    assert.equal(loraTimestampCorrectionUs({ multiSf: false, bwHz: 250000, sf: 7, cr: 1, size: 5, crc: false }), 0x00100000 - 1048242);
    // IF5 SF12 CR4/8 (LDRO), 8 bytes, CRC bad (a CRC was sent): 0xFFFFFF00 → 4294939374.
    assert.equal(loraTimestampCorrectionUs({ multiSf: true, bwHz: 125000, sf: 12, cr: 4, size: 8, crc: true }), 0xffffff00 - 4294939374);
  });

  test('the short branch is taken only when 2·(size + 2·crc) − (SF − 7) is exactly 0', () => {
    // SF9, size 1, no CRC: 2 − 2 = 0 → y = (256·10 + 3·32), z = 32·(2 + 5).
    assert.equal(loraTimestampCorrectionUs({ multiSf: true, bwHz: 125000, sf: 9, cr: 1, size: 1, crc: false }), 114 + 2656 + 224);
  });
});
