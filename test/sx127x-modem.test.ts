import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CodeRate, LoraBandwidthHz, SpreadingFactor } from '../hal/index.js';
import { Sx127xModem, type RxChannel } from '../hal/sx127x/modem.js';
import { frfBytes, hzFromFrf, frfFromHz, lowDataRateOptimize, modemConfig1, modemConfig2, modemConfig3 } from '../hal/sx127x/modem-config.js';
import { Sx1276Emulator } from '../hal/sx127x/sx1276-emulator.js';

const EU868: RxChannel = { freqHz: 868_100_000, sf: 7, bwHz: 125000, codeRate: '4/5', syncWord: 0x34 };

function rig(version?: number) {
  let nowUs = 1_000_000;
  const chip = new Sx1276Emulator({ now: () => nowUs, ...(version !== undefined ? { version } : {}) });
  return { chip, modem: new Sx127xModem(chip), advance: (us: number) => (nowUs += us) };
}

describe('SX1276 register encoders (sx127x.md §4, §8)', () => {
  test('RegFrf rounds to the nearest 61.035 Hz step: the §4 table', () => {
    const table: [number, number][] = [
      [867_100_000, 0xd8c666], [867_700_000, 0xd8eccd], [867_900_000, 0xd8f99a], [868_100_000, 0xd90666],
      [868_500_000, 0xd92000], [869_525_000, 0xd9619a], [915_000_000, 0xe4c000], [433_175_000, 0x6c4b33],
    ];
    for (const [hz, frf] of table) assert.equal(frfFromHz(hz), frf, `${hz} Hz`);
    assert.deepEqual(frfBytes(868_100_000), [0xd9, 0x06, 0x66]);
    assert.equal(hzFromFrf(0xd9619a), 869_525_024);
  });

  test('ModemConfig values of the reference sequences', () => {
    assert.equal(modemConfig1(125000, '4/5'), 0x72);
    assert.equal(modemConfig2(7, true), 0x74);
    assert.equal(modemConfig2(9, false), 0x90);
    assert.equal(modemConfig3(7, 125000), 0x04);
    assert.equal(modemConfig3(11, 125000), 0x0c);
  });

  test('LowDataRateOptimize exactly when the symbol time exceeds 16 ms', () => {
    const on: [SpreadingFactor, LoraBandwidthHz][] = [[11, 125000], [12, 125000], [12, 250000]];
    for (const sf of [7, 8, 9, 10, 11, 12] as SpreadingFactor[]) {
      for (const bw of [125000, 250000, 500000] as LoraBandwidthHz[]) {
        assert.equal(lowDataRateOptimize(sf, bw), on.some(([s, b]) => s === sf && b === bw), `SF${sf} BW${bw / 1000}`);
      }
    }
  });
});

describe('Sx127xModem on the SX1276 emulator', () => {
  test('identity: 0x12 accepted; SX1272 and a silent bus refused with a coded, one-line error', async () => {
    await rig().modem.checkVersion();
    await assert.rejects(rig(0x22).modem.checkVersion(), { code: 'ESX1272' });
    for (const v of [0x00, 0xff]) await assert.rejects(rig(v).modem.checkVersion(), { code: 'ENORADIO' });
  });

  test('startRx leaves the EU868 RX register values of sx127x.md §12, with no chip violations', async () => {
    const { chip, modem } = rig();
    await modem.startRx(EU868);
    const r = chip.registers;
    const expect: [number, number, string][] = [
      [0x01, 0x85, 'RX continuous, LoRa'], [0x06, 0xd9, 'Frf MSB'], [0x07, 0x06, 'Frf MID'], [0x08, 0x66, 'Frf LSB'],
      [0x39, 0x34, 'public sync word'], [0x1d, 0x72, 'BW125 4/5 explicit'], [0x1e, 0x74, 'SF7 CRC'], [0x26, 0x04, 'AGC, no LDRO'],
      [0x37, 0x0a, 'detection threshold'], [0x36, 0x03, 'errata 2.1'], [0x30, 0x00, 'errata 2.3'], [0x2f, 0x40, 'errata 2.3 125 kHz'],
      [0x33, 0x27, 'normal IQ'], [0x3b, 0x1d, 'normal IQ2'], [0x0c, 0x23, 'LNA'], [0x23, 0xff, 'max payload'],
      [0x40, 0x00, 'DIO0 = RxDone'],
    ];
    for (const [addr, v, what] of expect) assert.equal(r[addr], v, `0x${addr.toString(16)} (${what})`);
    assert.equal((r[0x31]! & 0x87), 0x03, 'DetectOptimize 0x03 with errata bit 7 clear');
    assert.deepEqual(chip.violations, []);
  });

  const sfs: SpreadingFactor[] = [7, 8, 9, 10, 11, 12];
  const bws: LoraBandwidthHz[] = [125000, 250000, 500000];
  for (const sf of sfs) {
    for (const bw of bws) {
      test(`receives a frame at SF${sf} BW${bw / 1000}: payload, CRC ok, SNR and RSSI as injected`, async () => {
        const { chip, modem } = rig();
        const ch: RxChannel = { ...EU868, sf, bwHz: bw };
        await modem.startRx(ch);
        assert.equal(await modem.readFrame(ch.freqHz), null, 'nothing before a frame');
        const payload = Buffer.from(`sf${sf}bw${bw}`);
        assert.ok(chip.injectFrame({ payload, sf, bwHz: bw, crc: 'ok', rssiDbm: -97, snrDb: 6.25, codeRate: '4/5' }), chip.lastRejection);
        const f = await modem.readFrame(ch.freqHz);
        assert.ok(f);
        assert.deepEqual(f.payload, payload);
        assert.equal(f.crcStatus, 'ok');
        assert.equal(f.snrDb, 6.25);
        assert.ok(Math.abs(f.rssiDbm - -97) <= 1, `rssi ${f.rssiDbm}`);
        assert.equal(f.codeRate, '4/5' as CodeRate);
        assert.deepEqual(chip.violations, []);
      });
    }
  }

  test('CRC-bad and no-CRC frames are reported as such; negative SNR corrects the RSSI', async () => {
    const { chip, modem } = rig();
    await modem.startRx(EU868);
    chip.injectFrame({ payload: Buffer.from('bad'), sf: 7, bwHz: 125000, crc: 'bad', rssiDbm: -110, snrDb: -7.5 });
    const bad = await modem.readFrame(EU868.freqHz);
    assert.equal(bad?.crcStatus, 'bad');
    assert.equal(bad?.snrDb, -7.5);
    assert.ok(Math.abs(bad!.rssiDbm - -110) <= 1, `rssi ${bad?.rssiDbm}`);
    chip.injectFrame({ payload: Buffer.from('nocrc'), sf: 7, bwHz: 125000, crc: 'none', rssiDbm: -80, snrDb: 3 });
    const none = await modem.readFrame(EU868.freqHz);
    assert.equal(none?.crcStatus, 'none');
    assert.deepEqual(none?.payload, Buffer.from('nocrc'));
  });

  test('a frame at another SF than the channel is not received', async () => {
    const { chip, modem } = rig();
    await modem.startRx(EU868);
    assert.equal(chip.injectFrame({ payload: Buffer.from('x'), sf: 9, bwHz: 125000, crc: 'ok', rssiDbm: -80, snrDb: 5 }), false);
    assert.equal(await modem.readFrame(EU868.freqHz), null);
  });

  test('SPI faults surface as coded errors and later accesses still work (serialised access survives)', async () => {
    const { chip, modem } = rig();
    chip.failNextTransfers(1);
    await assert.rejects(modem.read(0x42), { code: 'EIO' });
    assert.equal(await modem.read(0x42), 0x12);
  });
});
