/**
 * End to end on the single-channel gateway: a device's join-request goes
 * through the emulated SX1276, the forwarder and UDP to a test server, which
 * answers with a join-accept for RX1 (tmst + 5 s, same channel) or RX2
 * (tmst + 6 s, 869.525 MHz SF12). The emulated chip records when the
 * transmission starts; a second emulated SX1276 configured as the device's
 * receiver (inverted I/Q) must accept the frame.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EmulatedTx } from '../hal/sx127x/sx1276-emulator.js';
import { Reg } from '../hal/sx127x/registers.js';
import { NetworkServerStandIn, type PushEvent } from '../src/demo/network-server.js';
import { Forwarder } from '../src/forwarder.js';
import { memoryLogger, testConfig, waitFor } from './helpers/harness.js';
import { deviceReceiver, emulatedSx127xRadio } from './helpers/sx127x-gateway.js';

const clockUs = () => performance.now() * 1000;

/**
 * The device's receive-window tolerance for the TX start, µs, relative to
 * uplink end + RX delay [sx127x.md §17]: LoRaMac-node sizes and centres its
 * RX1/RX2 windows to absorb ±10 ms (`SystemMaxRxError`) of combined timing
 * error. The tighter ±1 ms budget (for LMIC devices at SF7) is what
 * `npm run bench` measures over thousands of downlinks (p50/p99/max); one
 * downlink here checks the whole path (tmst kept, delay, channel, data
 * rate, polarity) against the device's window.
 */
const EARLY_LIMIT_US = -10_000;
const LATE_LIMIT_US = 10_000;

/** A LoRaWAN join-request PHYPayload (MHDR 0x00, 18 bytes + MIC); content is opaque to the gateway. */
function joinRequest(devNonce: number): Buffer {
  const b = Buffer.alloc(23);
  b[0] = 0x00;
  b.writeUInt16LE(devNonce, 17);
  return b;
}

describe('OTAA join through the SX127x gateway (emulated SX1276)', () => {
  test('join-accept in RX1 (tmst + 5 s) and in RX2 (tmst + 6 s, 869.525 MHz SF12), IQ inverted, within the device window', async () => {
    const ns = new NetworkServerStandIn();
    const port = await ns.start();
    const config = testConfig({ serv_port_up: port, serv_port_down: port, radio: 'sx127x' });
    const { log } = memoryLogger('info');
    const { emu, conc } = emulatedSx127xRadio(config, log, clockUs);
    const fwd = new Forwarder({ config, concentrator: conc, log });
    // The test server: RX1 for DevNonce 1, RX2 for DevNonce 2.
    const acceptOf = (nonce: number) => Buffer.concat([Buffer.from([0x20]), Buffer.alloc(16, nonce)]);
    ns.on('push', (e: PushEvent) => {
      for (const r of e.rxpk) {
        const phy = Buffer.from(r.data, 'base64');
        if (phy[0] !== 0x00) continue;
        const nonce = phy.readUInt16LE(17);
        const data = acceptOf(nonce).toString('base64');
        if (nonce === 1) {
          ns.sendPullResp({ imme: false, tmst: (r.tmst + 5_000_000) >>> 0, freq: r.freq, rfch: 0, powe: 14, modu: 'LORA', datr: r.datr, codr: '4/5', ipol: true, size: 17, data });
        } else {
          ns.sendPullResp({ imme: false, tmst: (r.tmst + 6_000_000) >>> 0, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF12BW125', codr: '4/5', ipol: true, size: 17, data });
        }
      }
    });
    const acks: (string | null)[] = [];
    ns.on('txack', (a: { error: string | null }) => acks.push(a.error));
    await fwd.start();
    try {
      await waitFor(() => ns.counts.pull > 0, 3000, 'PULL_DATA');
      // A device joins a gateway that is already running, not in the milliseconds after it started.
      await new Promise((r) => setTimeout(r, 300));
      const sent: Record<number, number> = {};
      for (const nonce of [1, 2]) {
        assert.ok(emu.chip.injectFrame({ payload: joinRequest(nonce), sf: 7, bwHz: 125000, crc: 'ok', rssiDbm: -90, snrDb: 7, freqHz: 868_100_000 }));
        // The end of the uplink is when the chip raises RxDone (the device's TxDone, to within the propagation time).
        sent[nonce] = emu.chip.lastRxDoneUs!;
        await waitFor(() => conc.counters.rxFrames === nonce, 2000, 'join-request read');
        await new Promise((r) => setTimeout(r, 300));
      }
      const txOf = (nonce: number) => emu.chip.txEvents.find((t) => t.payload.equals(acceptOf(nonce)));
      const rx1 = await waitFor(() => txOf(1), 8000, 'RX1 join-accept');
      const rx2 = await waitFor(() => txOf(2), 8000, 'RX2 join-accept');
      const check = async (tx: EmulatedTx, uplinkEnd: number, delayUs: number, freqHz: number, sf: 7 | 12) => {
        const errUs = tx.startUs - (uplinkEnd + delayUs);
        assert.ok(errUs >= EARLY_LIMIT_US && errUs <= LATE_LIMIT_US, `TX started ${errUs.toFixed(0)} µs from the device's RX${delayUs / 1e6 - 4} time`);
        assert.equal(tx.settings.txIqInverted, true, 'inverted I/Q');
        assert.equal(Math.abs(tx.settings.freqHz - freqHz) < 62, true, `frequency ${tx.settings.freqHz}`);
        assert.equal(tx.settings.spreadingFactor, sf);
        assert.equal(tx.settings.bandwidthHz, 125000);
        assert.equal(tx.settings.syncWord, 0x34);
        assert.equal(tx.settings.lowDataRateOptimize, sf === 12);
        // The device, listening with inverted I/Q on that channel, receives it.
        const device = await deviceReceiver(freqHz, sf, clockUs);
        const heard = device.injectFrame({
          payload: tx.payload, sf: tx.settings.spreadingFactor, bwHz: tx.settings.bandwidthHz, crc: tx.settings.crcOn ? 'ok' : 'none',
          rssiDbm: -50, snrDb: 9, freqHz: tx.settings.freqHz, syncWord: tx.settings.syncWord, iqInverted: tx.settings.txIqInverted,
        });
        assert.ok(heard, `device did not receive: ${device.lastRejection}`);
        return errUs;
      };
      const e1 = await check(rx1, sent[1]!, 5_000_000, 868_100_000, 7);
      const e2 = await check(rx2, sent[2]!, 6_000_000, 869_525_000, 12);
      process.stdout.write(`# RX1 TX start ${e1.toFixed(0)} µs, RX2 ${e2.toFixed(0)} µs from the device window time\n`);
      assert.deepEqual(acks, [null, null]);
      // Back on the receive channel after each, and the gap counted.
      await waitFor(() => conc.rxGapUs.total === 2, 3000, 'two receive gaps');
      assert.equal(emu.chip.registers[Reg.OpMode], 0x85);
      assert.deepEqual([emu.chip.registers[Reg.FrfMsb], emu.chip.registers[Reg.FrfMid], emu.chip.registers[Reg.FrfLsb]], [0xd9, 0x06, 0x66]);
      assert.deepEqual(emu.chip.violations, []);
    } finally {
      await fwd.stop();
      ns.stop();
    }
  });
});
