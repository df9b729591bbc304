import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timeOnAirUs } from '../hal/lora/time-on-air.js';
import { Sx1276Emulator, type InjectedFrame } from '../hal/sx127x/sx1276-emulator.js';
import { decodeSnr, packetRssiDbm } from '../hal/sx127x/sx1276-emulator-state.js';
import { IrqFlag, Mode, Reg } from '../hal/sx127x/registers.js';

/** A fake monotonic µs clock the test moves by hand. */
class FakeClock {
  t = 0;
  readonly now = (): number => this.t;
}

function setup(version?: number): { emu: Sx1276Emulator; clock: FakeClock; dio0: { count: number } } {
  const clock = new FakeClock();
  const emu = new Sx1276Emulator(version === undefined ? { now: clock.now } : { now: clock.now, version });
  const dio0 = { count: 0 };
  emu.onDio0(() => dio0.count++);
  return { emu, clock, dio0 };
}

async function wr(emu: Sx1276Emulator, addr: number, ...data: number[]): Promise<void> {
  await emu.transfer(Buffer.from([addr | 0x80, ...data]));
}

async function rd(emu: Sx1276Emulator, addr: number, n = 1): Promise<Buffer> {
  const tx = Buffer.alloc(n + 1);
  tx[0] = addr & 0x7f;
  return (await emu.transfer(tx)).subarray(1);
}

async function rd1(emu: Sx1276Emulator, addr: number): Promise<number> {
  return (await rd(emu, addr))[0]!;
}

const BW_CODE: Record<number, number> = { 125000: 0x70, 250000: 0x80, 500000: 0x90 };

/** The single-channel RX sequence of sx127x.md §12 (steps 2-13), parameterised by SF/BW. */
async function configureRx(emu: Sx1276Emulator, sf = 7, bwHz = 125000): Promise<void> {
  await wr(emu, 0x01, 0x00);
  await wr(emu, 0x01, 0x80);
  await wr(emu, 0x06, 0xd9);
  await wr(emu, 0x07, 0x06);
  await wr(emu, 0x08, 0x66);
  await wr(emu, 0x39, 0x34);
  await wr(emu, 0x1d, BW_CODE[bwHz]! | 0x02);
  await wr(emu, 0x1e, (sf << 4) | 0x04);
  const ldro = (bwHz === 125000 && sf >= 11) || (bwHz === 250000 && sf === 12);
  await wr(emu, 0x26, ldro ? 0x0c : 0x04);
  const detect = await rd1(emu, 0x31);
  await wr(emu, 0x31, ((detect & 0xf8) | 0x03) & 0x7f);
  await wr(emu, 0x37, 0x0a);
  await wr(emu, 0x36, 0x03);
  await wr(emu, 0x30, 0x00);
  await wr(emu, 0x2f, 0x40);
  await wr(emu, 0x33, 0x27);
  await wr(emu, 0x3b, 0x1d);
  await wr(emu, 0x0c, 0x23);
  await wr(emu, 0x23, 0xff);
  await wr(emu, 0x20, 0x00);
  await wr(emu, 0x21, 0x08);
  await wr(emu, 0x0f, 0x00);
  await wr(emu, 0x0d, 0x00);
  await wr(emu, 0x40, 0x00);
  await wr(emu, 0x11, 0x00);
  await wr(emu, 0x12, 0xff);
  await wr(emu, 0x01, 0x85);
}

/** The RX read-out of sx127x.md §12 ("On a DIO0 rising edge"). */
async function readPacket(emu: Sx1276Emulator) {
  const flags = await rd1(emu, 0x12);
  const hop = await rd1(emu, 0x1c);
  const len = await rd1(emu, 0x13);
  const start = await rd1(emu, 0x10);
  await wr(emu, 0x0d, start);
  const payload = Buffer.from(await rd(emu, 0x00, len));
  const snr = await rd1(emu, 0x19);
  const rssi = await rd1(emu, 0x1a);
  await wr(emu, 0x12, 0xff);
  return { flags, hop, len, start, payload, snr, rssi };
}

function frame(over: Partial<InjectedFrame> = {}): InjectedFrame {
  return { payload: Buffer.from('hello uplink'), sf: 7, bwHz: 125000, crc: 'ok', rssiDbm: -97, snrDb: 7.25, ...over };
}

test('reset values and RegVersion', async () => {
  const { emu } = setup();
  assert.equal(await rd1(emu, 0x42), 0x12);
  const expected: Array<[number, number]> = [
    [0x01, 0x09], [0x0a, 0x09], [0x0b, 0x2b], [0x0e, 0x80], [0x0f, 0x00], [0x1f, 0x64], [0x20, 0x00],
    [0x21, 0x08], [0x22, 0x0e], [0x23, 0xff], [0x33, 0x27], [0x3b, 0x1d], [0x4d, 0x84], [0x12, 0x00],
  ];
  for (const [addr, value] of expected) assert.equal(await rd1(emu, addr), value, `reg 0x${addr.toString(16)}`);
  assert.equal(await rd1(setup(0x22).emu, 0x42), 0x22);
  assert.deepEqual(emu.violations, []);
});

test('a radio that stopped answering reads its stuck byte everywhere and ignores writes', async () => {
  for (const fill of [0x00, 0xff] as const) {
    const dead = setup(fill).emu;
    assert.deepEqual([...(await rd(dead, 0x42, 3))], [fill, fill, fill]);
    await wr(dead, 0x39, 0x34);
    assert.notEqual(dead.registers[0x39], 0x34);
  }
  const { emu } = setup();
  emu.stopAnswering(0xff);
  assert.equal(await rd1(emu, 0x42), 0xff);
  emu.resumeAnswering();
  assert.equal(await rd1(emu, 0x42), 0x12);
});

test('LongRangeMode changes only in SLEEP; other writes of it are ignored and recorded', async () => {
  const { emu } = setup();
  await wr(emu, 0x01, 0x81); // from reset STDBY (FSK): LoRa bit must not take
  assert.equal(await rd1(emu, 0x01), 0x01);
  assert.equal(emu.violations.length, 1);
  assert.match(emu.violations[0]!, /LongRangeMode/);
  await wr(emu, 0x01, 0x00);
  await wr(emu, 0x01, 0x80);
  await wr(emu, 0x01, 0x81);
  assert.equal(await rd1(emu, 0x01), 0x81);
  assert.equal(emu.violations.length, 1);
  await wr(emu, 0x01, 0x01); // back to FSK from STDBY: ignored
  assert.equal(await rd1(emu, 0x01), 0x81);
  assert.equal(emu.violations.length, 2);
});

test('the EU868 RX sequence of sx127x.md §12 leaves the listed register values', async () => {
  const { emu } = setup();
  await configureRx(emu);
  const regs = emu.registers;
  const expected: Array<[number, number]> = [
    [0x01, 0x85], [0x06, 0xd9], [0x07, 0x06], [0x08, 0x66], [0x39, 0x34], [0x1d, 0x72], [0x1e, 0x74],
    [0x26, 0x04], [0x31, 0x43], [0x37, 0x0a], [0x36, 0x03], [0x30, 0x00], [0x2f, 0x40], [0x33, 0x27],
    [0x3b, 0x1d], [0x0c, 0x23], [0x23, 0xff], [0x20, 0x00], [0x21, 0x08], [0x0f, 0x00], [0x0d, 0x00],
    [0x40, 0x00], [0x11, 0x00], [0x12, 0x00], [0x42, 0x12],
  ];
  for (const [addr, value] of expected) assert.equal(regs[addr], value, `reg 0x${addr.toString(16)}`);
  assert.equal(emu.mode, Mode.RXCONTINUOUS);
  assert.deepEqual(emu.violations, []);
  assert.equal(emu.transactions.length, 27); // 26 writes + the read of 0x31
  assert.deepEqual(emu.transactions[1], { atUs: 0, write: true, addr: 0x01, data: Buffer.from([0x80]) });
});

test('FIFO bursts move RegFifoAddrPtr and wrap at 256; register bursts auto-increment', async () => {
  const { emu } = setup();
  await wr(emu, 0x01, 0x00);
  await wr(emu, 0x01, 0x81);
  await wr(emu, 0x0d, 0x10);
  await wr(emu, 0x00, 1, 2, 3, 4, 5);
  assert.equal(await rd1(emu, 0x0d), 0x15);
  await wr(emu, 0x0d, 0x10);
  assert.deepEqual([...(await rd(emu, 0x00, 5))], [1, 2, 3, 4, 5]);
  assert.equal(await rd1(emu, 0x0d), 0x15);
  await wr(emu, 0x0d, 0xfe);
  await wr(emu, 0x00, 0xaa, 0xbb, 0xcc);
  assert.equal(await rd1(emu, 0x0d), 0x01);
  assert.deepEqual([emu.fifoContents[0xfe], emu.fifoContents[0xff], emu.fifoContents[0x00]], [0xaa, 0xbb, 0xcc]);
  await wr(emu, 0x06, 0xd9, 0x61, 0x9a);
  assert.deepEqual([...(await rd(emu, 0x06, 3))], [0xd9, 0x61, 0x9a]);
  assert.deepEqual(emu.violations, []);
  await wr(emu, 0x7e, 0, 0, 0);
  assert.match(emu.violations.at(-1)!, /past 0x7F/);
  await wr(emu, 0x01, 0x80);
  await wr(emu, 0x00, 0x55);
  assert.match(emu.violations.at(-1)!, /FIFO write in SLEEP/);
});

for (const sf of [7, 8, 9, 10, 11, 12]) {
  for (const bwHz of [125000, 250000, 500000]) {
    test(`RX injection at SF${sf} BW${bwHz / 1000} delivers payload, flags, SNR and RSSI`, async () => {
      const { emu, dio0 } = setup();
      await configureRx(emu, sf, bwHz);
      const payload = Buffer.from(Array.from({ length: 10 + sf }, (_, i) => (i * 37 + sf) & 0xff));
      const snrDb = sf >= 10 ? -12.5 : 7.25;
      const rssiDbm = sf >= 10 ? -121 : -97;
      assert.equal(emu.injectFrame(frame({ payload, sf, bwHz, snrDb, rssiDbm, freqHz: 868_100_000 })), true);
      assert.equal(dio0.count, 1);
      const p = await readPacket(emu);
      assert.equal(p.flags, IrqFlag.RxDone | IrqFlag.ValidHeader);
      assert.equal(p.hop & 0x40, 0x40);
      assert.equal(p.len, payload.length);
      assert.equal(p.start, 0);
      assert.deepEqual(p.payload, payload);
      assert.equal(p.snr, (snrDb * 4) & 0xff);
      assert.equal(decodeSnr(p.snr), snrDb);
      assert.ok(Math.abs(packetRssiDbm(p.rssi, p.snr, 868_100_000) - rssiDbm) <= 1, `rssi reg ${p.rssi}`);
      assert.equal(await rd1(emu, 0x12), 0);
      assert.deepEqual(emu.violations, []);
    });
  }
}

test('CRC error and no-CRC frames set the flags and RegHopChannel bit 6 as the chip does', async () => {
  const { emu, dio0 } = setup();
  await configureRx(emu);
  assert.equal(emu.injectFrame(frame({ crc: 'bad' })), true);
  let p = await readPacket(emu);
  assert.equal(p.flags, IrqFlag.RxDone | IrqFlag.ValidHeader | IrqFlag.PayloadCrcError);
  assert.equal(p.hop & 0x40, 0x40);
  assert.deepEqual([...(await rd(emu, 0x14, 4))], [0, 1, 0, 0]); // header counted, packet not valid
  assert.equal(emu.injectFrame(frame({ crc: 'none' })), true);
  p = await readPacket(emu);
  assert.equal(p.flags, IrqFlag.RxDone | IrqFlag.ValidHeader);
  assert.equal(p.hop & 0x40, 0);
  assert.equal(dio0.count, 2);
});

test('continuous RX appends packets: RegFifoRxCurrentAddr points at the last one', async () => {
  const { emu, dio0 } = setup();
  await configureRx(emu);
  emu.injectFrame(frame({ payload: Buffer.from([1, 2, 3]) }));
  emu.injectFrame(frame({ payload: Buffer.from([4, 5]) }));
  // RxDone was never cleared, so DIO0 stayed high: one edge only.
  assert.equal(dio0.count, 1);
  const p = await readPacket(emu);
  assert.equal(p.start, 3);
  assert.deepEqual([...p.payload], [4, 5]);
});

test('frames that do not match the radio settings are not received', async () => {
  const { emu, dio0 } = setup();
  await configureRx(emu, 7, 125000);
  assert.equal(emu.injectFrame(frame({ sf: 8 })), false);
  assert.match(emu.lastRejection!, /SF8/);
  assert.equal(emu.injectFrame(frame({ bwHz: 250000 })), false);
  assert.equal(emu.injectFrame(frame({ freqHz: 868_300_000 })), false);
  assert.equal(emu.injectFrame(frame({ syncWord: 0x12 })), false);
  assert.equal(emu.injectFrame(frame({ iqInverted: true })), false);
  await wr(emu, 0x01, 0x81);
  assert.equal(emu.injectFrame(frame()), false);
  assert.match(emu.lastRejection!, /not receiving/);
  assert.equal(dio0.count, 0);
  assert.equal(emu.registers[Reg.IrqFlags], 0);
});

/** The TX sequence of sx127x.md §13 at 869.525 MHz, inverted I/Q, no CRC. */
async function loadDownlink(emu: Sx1276Emulator, sf: number, payload: Buffer): Promise<void> {
  await wr(emu, 0x01, 0x81);
  await wr(emu, 0x06, 0xd9);
  await wr(emu, 0x07, 0x61);
  await wr(emu, 0x08, 0x9a);
  await wr(emu, 0x09, 0x8c);
  await wr(emu, 0x4d, 0x84);
  await wr(emu, 0x0b, 0x2b);
  await wr(emu, 0x1d, 0x72);
  await wr(emu, 0x1e, (sf << 4) | 0x00);
  await wr(emu, 0x26, sf >= 11 ? 0x0c : 0x04);
  await wr(emu, 0x20, 0x00);
  await wr(emu, 0x21, 0x08);
  await wr(emu, 0x36, 0x03);
  await wr(emu, 0x33, (await rd1(emu, 0x33)) & 0xbe);
  await wr(emu, 0x3b, 0x19);
  await wr(emu, 0x22, payload.length);
  await wr(emu, 0x0e, 0x00);
  await wr(emu, 0x0d, 0x00);
  await wr(emu, 0x00, ...payload);
  await wr(emu, 0x40, 0x40);
  await wr(emu, 0x12, 0xff);
}

test('TX of the §13 downlink records the register snapshot and raises TxDone after the time on air', async () => {
  const { emu, clock, dio0 } = setup();
  await configureRx(emu);
  const payload = Buffer.from(Array.from({ length: 33 }, (_, i) => i));
  await loadDownlink(emu, 12, payload);
  clock.t = 5_000_000;
  await wr(emu, 0x01, 0x83);
  assert.equal(emu.txEvents.length, 1);
  const tx = emu.txEvents[0]!;
  assert.equal(tx.startUs, 5_000_000);
  assert.deepEqual([tx.registers[0x06], tx.registers[0x07], tx.registers[0x08]], [0xd9, 0x61, 0x9a]);
  assert.equal(tx.registers[0x33], 0x26);
  assert.equal(tx.registers[0x3b], 0x19);
  assert.equal(tx.registers[0x1e], 0xc0);
  assert.equal(tx.registers[0x26], 0x0c);
  assert.equal(tx.registers[0x09], 0x8c);
  assert.equal(tx.settings.freqHz, 869_525_024);
  assert.equal(tx.settings.txIqInverted, true);
  assert.equal(tx.settings.crcOn, false);
  assert.deepEqual(tx.payload, payload);
  // SF12BW125, 33 B, no CRC, preamble 8 = 1 810 432 µs [constants.md §13].
  assert.equal(tx.airtimeUs, 1_810_432);
  assert.equal(emu.nextEventUs(), 5_000_000 + 1_810_432);
  clock.t = 5_000_000 + 1_810_431;
  emu.poll();
  assert.equal(dio0.count, 0);
  assert.equal(emu.mode, Mode.TX);
  clock.t += 1;
  emu.poll();
  assert.equal(dio0.count, 1);
  assert.equal(await rd1(emu, 0x12), IrqFlag.TxDone);
  assert.equal(await rd1(emu, 0x01), 0x81);
  assert.equal(emu.nextEventUs(), undefined);
  assert.deepEqual(emu.violations, []);
});

test('TX at SF9 uses the shared time-on-air model', async () => {
  const { emu, clock } = setup();
  await configureRx(emu);
  await loadDownlink(emu, 9, Buffer.alloc(17, 0xa5));
  clock.t = 100;
  await wr(emu, 0x01, 0x83);
  const expected = timeOnAirUs({
    radio: { modulation: 'LORA', spreadingFactor: 9, bandwidthHz: 125000, codeRate: '4/5' },
    payloadSize: 17, preambleSymbols: 8, noCrc: true, noHeader: false,
  });
  assert.equal(emu.txEvents[0]!.airtimeUs, expected);
  clock.t = 100 + expected;
  await rd1(emu, 0x12); // a transfer runs what is due, as a polling driver would see it
  assert.equal(emu.registers[Reg.IrqFlags], IrqFlag.TxDone);
});

test('TX refusals and mistakes during TX are recorded as violations', async () => {
  const { emu, clock, dio0 } = setup();
  await configureRx(emu);
  await loadDownlink(emu, 9, Buffer.alloc(4));
  await wr(emu, 0x22, 0);
  await wr(emu, 0x01, 0x83);
  assert.equal(emu.txEvents.length, 0);
  assert.equal(emu.mode, Mode.STDBY);
  assert.match(emu.violations.at(-1)!, /RegPayloadLength is 0/);
  await wr(emu, 0x22, 4);
  await wr(emu, 0x01, 0x83);
  await wr(emu, 0x1e, 0x70);
  assert.match(emu.violations.at(-1)!, /0x1E written during TX/);
  clock.t = 1000;
  await wr(emu, 0x01, 0x81); // leaving TX cuts the frame: no TxDone
  assert.equal(emu.txEvents[0]!.abortedAtUs, 1000);
  clock.t = 10_000_000;
  emu.poll();
  assert.equal(dio0.count, 0);
  assert.equal(emu.registers[Reg.IrqFlags], 0);
});

test('RegIrqFlags is write-1-to-clear, RegIrqFlagsMask hides flags and DIO0, read-only registers refuse writes', async () => {
  const { emu, dio0 } = setup();
  await configureRx(emu);
  emu.injectFrame(frame({ crc: 'bad' }));
  assert.equal(await rd1(emu, 0x12), 0x70);
  await wr(emu, 0x12, 0x40);
  assert.equal(await rd1(emu, 0x12), 0x30);
  await wr(emu, 0x12, 0xff);
  assert.equal(await rd1(emu, 0x12), 0x00);
  await wr(emu, 0x11, IrqFlag.RxDone);
  emu.injectFrame(frame());
  assert.equal(await rd1(emu, 0x12), IrqFlag.ValidHeader);
  assert.equal(dio0.count, 1);
  assert.deepEqual(emu.violations, []);
  await wr(emu, 0x42, 0x22);
  await wr(emu, 0x13, 0x05);
  assert.equal(await rd1(emu, 0x42), 0x12);
  assert.equal(emu.violations.length, 2);
  assert.match(emu.violations[0]!, /read-only register 0x42/);
});

test('injected SPI failures reject with EIO, close makes transfers reject with ECLOSED', async () => {
  const { emu } = setup();
  emu.failNextTransfers(2);
  await assert.rejects(rd(emu, 0x42), { code: 'EIO' });
  await assert.rejects(rd(emu, 0x42), { code: 'EIO' });
  assert.equal(emu.transactions.length, 0);
  assert.equal(await rd1(emu, 0x42), 0x12);
  await assert.rejects(emu.transfer(Buffer.alloc(0)), { code: 'EINVAL' });
  await emu.close();
  await assert.rejects(rd(emu, 0x42), { code: 'ECLOSED' });
  await emu.close();
});

test('reset() restores the register file', async () => {
  const { emu } = setup();
  await configureRx(emu);
  emu.reset();
  assert.equal(await rd1(emu, 0x01), 0x09);
  assert.equal(await rd1(emu, 0x39), 0x12);
});
