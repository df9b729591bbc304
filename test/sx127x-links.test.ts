/**
 * The real links of the SX127x driver, at their library boundary: the spidev
 * transport over a stand-in `spi-device` module whose device is the SX1276
 * emulator (mode/speed options, one transfer per message, GPIO chip select
 * around each transfer, lazy open, errors), and the radio factory's start-up
 * errors on a machine without SPI or GPIO.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSx127xRadio } from '../hal/index.js';
import type { OutputLine } from '../hal/gpio/lines.js';
import { Reg } from '../hal/sx127x/registers.js';
import { SpidevTransport, describeSpidevOpenError, parseSpidevPath } from '../hal/sx127x/spidev-transport.js';
import { Sx127xModem } from '../hal/sx127x/modem.js';
import { Sx1276Emulator } from '../hal/sx127x/sx1276-emulator.js';
import { memoryLogger } from './helpers/harness.js';

type Msg = { byteLength: number; sendBuffer?: Buffer; receiveBuffer?: Buffer; speedHz?: number }[];

/** A stand-in for the `spi-device` module: `openSync` gives a device whose transfers reach `chip`. */
function fakeSpiModule(chip: Sx1276Emulator, events: string[], failOpen?: NodeJS.ErrnoException) {
  return {
    MODE0: 0 as const,
    openSync(bus: number, device: number, options?: { mode?: number; maxSpeedHz?: number }) {
      events.push(`open ${bus}.${device} mode ${options?.mode} ${options?.maxSpeedHz} Hz`);
      if (failOpen) throw failOpen;
      return {
        transferSync(message: Msg) {
          assert.equal(message.length, 1, 'one transfer per message');
          const t = message[0]!;
          events.push(`xfer ${t.byteLength}`);
          t.sendBuffer!.length === t.byteLength || assert.fail('sendBuffer length');
          chip.transferSync(t.sendBuffer!).copy(t.receiveBuffer!);
          return this;
        },
        closeSync() {
          events.push('close');
        },
      };
    },
  };
}

describe('spidev transport', () => {
  test('paths parse as /dev/spidevB.D only', () => {
    assert.deepEqual(parseSpidevPath('/dev/spidev0.1'), { bus: 0, device: 1 });
    assert.equal(parseSpidevPath('/dev/spidev0'), null);
    assert.equal(parseSpidevPath('spidev0.0'), null);
  });

  test('opens on first use with mode 0 and the speed; drives the GPIO chip select low around each transfer', async () => {
    const chip = new Sx1276Emulator({ now: () => 0 });
    const events: string[] = [];
    const cs: OutputLine = { write: (v) => events.push(`cs ${v}`), release: () => events.push('cs released'), close: () => undefined };
    const spi = new SpidevTransport(fakeSpiModule(chip, events) as never, 0, 0, { path: '/dev/spidev0.0', speedHz: 8_000_000, cs });
    assert.deepEqual(events, [], 'nothing opened before the first transfer');
    const modem = new Sx127xModem(spi);
    await modem.checkVersion();
    await modem.writeBurst(Reg.FrfMsb, Uint8Array.from([0xd9, 0x06, 0x66]));
    assert.deepEqual(events, ['open 0.0 mode 0 8000000 Hz', 'cs 0', 'xfer 2', 'cs 1', 'cs 0', 'xfer 4', 'cs 1']);
    assert.deepEqual([...chip.registers.subarray(Reg.FrfMsb, Reg.FrfMsb + 3)], [0xd9, 0x06, 0x66]);
    await spi.close();
    assert.equal(events.at(-1), 'close');
    assert.throws(() => spi.transferSync(Buffer.from([0x42, 0])), { code: 'ECLOSED' });
  });

  test('a missing device or permission is one line saying what to do', () => {
    const enoent = Object.assign(new Error('ENOENT, No such file or directory'), { code: 'ENOENT' });
    const chip = new Sx1276Emulator({ now: () => 0 });
    const spi = new SpidevTransport(fakeSpiModule(chip, [], enoent) as never, 0, 0, { path: '/dev/spidev0.0', speedHz: 8_000_000 });
    assert.throws(() => spi.transferSync(Buffer.from([0x42, 0])), (e: Error & { code?: string }) =>
      e.code === 'ENODEV' && /\/dev\/spidev0\.0 does not exist: enable SPI/.test(e.message) && !e.message.includes('\n'));
    const eacces = Object.assign(new Error('EACCES, Permission denied'), { code: 'EACCES' });
    assert.match(describeSpidevOpenError(eacces, '/dev/spidev0.1'), /^\/dev\/spidev0\.1: permission denied; join the spi group/);
  });
});

describe('SX127x radio factory on a machine without the hardware', () => {
  const base = {
    spiSpeedHz: 8_000_000, rx: { freqHz: 868_100_000, sf: 7, bwHz: 125000, codeRate: '4/5', syncWord: 0x34 } as const,
    paOutput: 'PA_BOOST' as const, txPowerMaxDbm: 14, txFreqMinHz: 863e6, txFreqMaxHz: 870e6, dio0LatencyUs: 'auto' as const,
    pollIntervalMs: 1, air: { address: '127.0.0.1', port: 0 },
  };

  test('GPIO pins configured but no sysfs GPIO: start fails with one coded line, nothing left open', async () => {
    const { log } = memoryLogger();
    const conc = createSx127xRadio({ ...base, spiDevice: '/dev/spidev0.0', csPinBcm: 25, resetPinBcm: 17, dio0PinBcm: 4, log });
    await assert.rejects(conc.start(), (e: Error & { code?: string }) => {
      // Either onoff is missing (EGPIO) or the sysfs class directory is (ENOGPIOSYSFS).
      assert.ok(e.code === 'ENOGPIOSYSFS' || e.code === 'EGPIO', `${e.code}: ${e.message}`);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    assert.equal(await conc.txStatus(), 'off');
  });

  test('no pins and no SPI device: start fails with the spidev message', async () => {
    const { log } = memoryLogger();
    const conc = createSx127xRadio({ ...base, spiDevice: '/dev/spidev7.3', csPinBcm: null, resetPinBcm: null, dio0PinBcm: null, log });
    await assert.rejects(conc.start(), /\/dev\/spidev7\.3 does not exist: enable SPI|spi-device module is not installed/);
  });

  test('spi_device "emulator" starts a listening radio on the virtual air', async () => {
    const { log, lines } = memoryLogger();
    const conc = createSx127xRadio({ ...base, spiDevice: 'emulator', csPinBcm: 25, resetPinBcm: 17, dio0PinBcm: 4, log });
    await conc.start();
    try {
      assert.equal(await conc.txStatus(), 'free');
      assert.ok(lines().some((l) => l.msg === 'emulated SX1276 on the virtual air'));
      assert.ok(lines().some((l) => l.msg === 'SX127x radio listening' && l.dio0 === 'interrupt'));
    } finally {
      await conc.stop();
    }
  });
});
