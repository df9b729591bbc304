import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { timeOnAirUs } from '../hal/index.js';
import { Sx127xModem, type ModemTx, type RxChannel } from '../hal/sx127x/modem.js';
import { paSettings } from '../hal/sx127x/modem-config.js';
import { Sx1276Emulator } from '../hal/sx127x/sx1276-emulator.js';

const EU868: RxChannel = { freqHz: 868_100_000, sf: 7, bwHz: 125000, codeRate: '4/5', syncWord: 0x34 };

function rig() {
  let nowUs = 5_000_000;
  const chip = new Sx1276Emulator({ now: () => nowUs });
  return { chip, modem: new Sx127xModem(chip), setNow: (us: number) => (nowUs = us), now: () => nowUs };
}

/** The §13 downlink: RX2 869.525 MHz SF9BW125, 14 dBm PA_BOOST, inverted I/Q, no CRC. */
const RX2: ModemTx = {
  freqHz: 869_525_000, sf: 9, bwHz: 125000, codeRate: '4/5', crcOn: false, invertIq: true, preambleSymbols: 8,
  pa: paSettings(14, 'PA_BOOST'), payload: Buffer.from('join-accept-17byt'),
};

describe('SX127x PA settings (sx127x.md §5)', () => {
  test('PA_BOOST at 2, 14, 17 and 20 dBm; clamping reported', () => {
    assert.deepEqual(paSettings(2, 'PA_BOOST'), { paConfig: 0x80, paDac: 0x84, ocp: 0x2b, powerDbm: 2 });
    assert.deepEqual(paSettings(14, 'PA_BOOST'), { paConfig: 0x8c, paDac: 0x84, ocp: 0x2b, powerDbm: 14 });
    assert.deepEqual(paSettings(17, 'PA_BOOST'), { paConfig: 0x8f, paDac: 0x84, ocp: 0x2b, powerDbm: 17 });
    assert.deepEqual(paSettings(20, 'PA_BOOST'), { paConfig: 0x8f, paDac: 0x87, ocp: 0x31, powerDbm: 20 });
    assert.equal(paSettings(27, 'PA_BOOST').powerDbm, 20, 'clamped to the +20 dBm path');
    assert.equal(paSettings(0, 'PA_BOOST').powerDbm, 2);
  });

  test('RFO covers 0..14 dBm', () => {
    assert.deepEqual(paSettings(14, 'RFO'), { paConfig: 0x7e, paDac: 0x84, ocp: 0x2b, powerDbm: 14 });
    assert.equal(paSettings(20, 'RFO').powerDbm, 14);
  });
});

describe('SX127x downlink on the emulator', () => {
  test('the §13 RX2 downlink: register state at TX start, TxDone after the airtime, back to RX', async () => {
    const { chip, modem, setNow, now } = rig();
    await modem.startRx(EU868);
    await modem.prepareTx(RX2);
    assert.equal(chip.txEvents.length, 0, 'loaded and pre-armed, not yet on air');
    setNow(now() + 20_000);
    await modem.fireTx();
    assert.equal(chip.txEvents.length, 1);
    const tx = chip.txEvents[0]!;
    const r = tx.registers;
    const expect: [number, number, string][] = [
      [0x06, 0xd9, 'Frf MSB'], [0x07, 0x61, 'Frf MID'], [0x08, 0x9a, 'Frf LSB (rounded)'], [0x09, 0x8c, 'PA_BOOST 14 dBm'],
      [0x4d, 0x84, 'PaDac default'], [0x0b, 0x2b, 'OCP 100 mA'], [0x1d, 0x72, 'BW125 4/5'], [0x1e, 0x90, 'SF9 no CRC'],
      [0x26, 0x04, 'no LDRO'], [0x20, 0x00, 'preamble MSB'], [0x21, 0x08, 'preamble 8'], [0x33, 0x26, 'TX I/Q inverted'],
      [0x3b, 0x19, 'IQ2 inverted'], [0x40, 0x40, 'DIO0 = TxDone'], [0x22, 17, 'payload length'],
    ];
    for (const [addr, v, what] of expect) assert.equal(r[addr], v, `0x${addr.toString(16)} (${what})`);
    assert.deepEqual(tx.payload, RX2.payload);
    assert.equal(tx.startUs, now());
    const airtime = timeOnAirUs({ radio: { modulation: 'LORA', spreadingFactor: 9, bandwidthHz: 125000, codeRate: '4/5' }, payloadSize: 17, preambleSymbols: 8, noCrc: true, noHeader: false });
    assert.equal(tx.airtimeUs, airtime);
    assert.equal(await modem.txDone(), false);
    setNow(tx.startUs + airtime + 1);
    assert.equal(await modem.txDone(), true);
    await modem.startRx(EU868);
    const back = chip.registers;
    assert.equal(back[0x01], 0x85, 'RX continuous again');
    assert.equal(back[0x33], 0x27, 'normal I/Q again');
    assert.equal(back[0x3b], 0x1d);
    assert.equal(back[0x40], 0x00, 'DIO0 = RxDone again');
    assert.deepEqual([back[0x06], back[0x07], back[0x08]], [0xd9, 0x06, 0x66], 'back on 868.1 MHz');
    assert.ok(chip.injectFrame({ payload: Buffer.from('after'), sf: 7, bwHz: 125000, crc: 'ok', rssiDbm: -70, snrDb: 8 }), chip.lastRejection);
    assert.deepEqual((await modem.readFrame(EU868.freqHz))?.payload, Buffer.from('after'));
    assert.deepEqual(chip.violations, []);
  });

  test('SF12 at 125 kHz turns LowDataRateOptimize on; 20 dBm uses the PaDac path', async () => {
    const { chip, modem } = rig();
    await modem.prepareTx({ ...RX2, sf: 12, pa: paSettings(20, 'PA_BOOST') });
    await modem.fireTx();
    const r = chip.txEvents[0]!.registers;
    assert.equal(r[0x26], 0x0c);
    assert.equal(chip.txEvents[0]!.settings.lowDataRateOptimize, true);
    assert.deepEqual([r[0x09], r[0x4d], r[0x0b]], [0x8f, 0x87, 0x31]);
    assert.deepEqual(chip.violations, []);
  });

  test('ipol false and a CRC: normal I/Q and RxPayloadCrcOn in the TX state', async () => {
    const { chip, modem } = rig();
    await modem.prepareTx({ ...RX2, invertIq: false, crcOn: true });
    await modem.fireTx();
    const r = chip.txEvents[0]!.registers;
    assert.deepEqual([r[0x33], r[0x3b], r[0x1e]], [0x27, 0x1d, 0x94]);
  });
});
