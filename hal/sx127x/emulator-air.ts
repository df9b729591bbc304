/**
 * Connects an emulated SX1276 to the virtual air of the simulator (the same
 * JSON-over-UDP contract as `SimConcentrator`): `uplink` datagrams become
 * frames ending on the air now (received only if the radio is listening on
 * that frequency, SF, bandwidth and polarity, like the chip), and every
 * transmission the chip starts is sent to the listeners as a `downlink`, with
 * the counter value at the RegOpMode = TX write and the settings decoded from
 * the chip's registers (never copied from the request).
 *
 * This is what `SX127x_conf.spi_device: "emulator"` runs: the whole
 * single-channel gateway without a radio, for the demo and the benchmark.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { decodeAirMessage, encodeAirMessage } from '../sim/air-protocol.js';
import type { LoraBandwidthHz, SpreadingFactor } from '../types.js';
import { powerFromPaRegisters } from './modem-config.js';
import { Reg } from './registers.js';
import type { Sx1276Emulator } from './sx1276-emulator.js';
import type { EmulatedTx } from './sx1276-emulator-types.js';

/** What the bridge needs from the driver: its counter and the current TX target. */
export interface CounterSource {
  counterAt(monoUs: number): number;
  readonly currentTxTarget: number | null;
}

/** Options of {@link EmulatorAir}. */
export interface EmulatorAirOptions {
  chip: Sx1276Emulator;
  counter: CounterSource;
  clockUs: () => number;
  airAddress: string;
  airPort: number;
  log: Logger;
}

const MAX_LISTENERS = 16;

/** The emulated radio's antenna on the virtual air. */
export class EmulatorAir {
  readonly counters = { airDatagrams: 0, airMalformed: 0, notHeard: 0, heard: 0, emitted: 0 };
  private sock: dgram.Socket | null = null;
  private readonly listeners = new Map<string, { address: string; port: number }>();

  constructor(private readonly o: EmulatorAirOptions) {
    o.chip.onTxStart((tx) => this.onTx(tx));
  }

  get port(): number {
    return (this.sock!.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (m, r) => this.onAir(m, r));
    sock.on('error', (err) => this.o.log.warn({ err: err.message }, 'virtual air socket error'));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.o.airPort, this.o.airAddress, () => {
        sock.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      sock.close();
      throw Object.assign(new Error(`virtual air: cannot bind ${this.o.airAddress}:${this.o.airPort}: ${err.message}`), { code: err.code ?? 'EBIND' });
    });
    this.sock = sock;
    this.o.log.info({ air: `${this.o.airAddress}:${this.port}` }, 'emulated SX1276 on the virtual air');
  }

  stop(): void {
    this.sock?.close();
    this.sock = null;
  }

  private now(): number {
    return this.o.counter.counterAt(this.o.clockUs());
  }

  private onAir(m: Buffer, from: dgram.RemoteInfo): void {
    this.counters.airDatagrams++;
    const d = decodeAirMessage(m);
    if (!d.ok) {
      this.counters.airMalformed++;
      this.o.log.warn({ from: `${from.address}:${from.port}`, reason: d.reason }, 'malformed virtual-air datagram ignored');
      return;
    }
    const msg = d.msg;
    if (msg.op === 'listen') {
      const key = `${from.address}:${from.port}`;
      this.listeners.delete(key);
      this.listeners.set(key, { address: from.address, port: from.port });
      if (this.listeners.size > MAX_LISTENERS) this.listeners.delete(this.listeners.keys().next().value!);
      this.sock?.send(encodeAirMessage({ op: 'listening', countUs: this.now() }), from.port, from.address);
      return;
    }
    if (msg.op !== 'uplink') {
      this.counters.airMalformed++;
      return;
    }
    if (msg.radio.modulation !== 'LORA' || msg.payload.length < 1 || msg.payload.length > 255) {
      this.counters.notHeard++;
      return;
    }
    const heard = this.o.chip.injectFrame({
      payload: msg.payload, sf: msg.radio.spreadingFactor, bwHz: msg.radio.bandwidthHz, crc: msg.crc,
      rssiDbm: msg.rssiDbm, snrDb: msg.snrDb ?? 0, freqHz: msg.freqHz, codeRate: msg.radio.codeRate,
    });
    if (heard) this.counters.heard++;
    else {
      this.counters.notHeard++;
      this.o.log.debug({ freqHz: msg.freqHz, reason: this.o.chip.lastRejection }, 'uplink not heard by the SX1276');
    }
  }

  private onTx(tx: EmulatedTx): void {
    this.counters.emitted++;
    const targetUs = this.o.counter.currentTxTarget;
    // Encoded and sent after the mode write returns, so the TX start is not delayed by the socket.
    setImmediate(() => this.announce(tx, targetUs));
  }

  private announce(tx: EmulatedTx, targetUs: number | null): void {
    const s = tx.settings;
    const text = encodeAirMessage({
      op: 'downlink',
      countUs: this.o.counter.counterAt(tx.startUs),
      targetUs,
      freqHz: s.freqHz,
      radio: {
        modulation: 'LORA', spreadingFactor: s.spreadingFactor as SpreadingFactor,
        bandwidthHz: s.bandwidthHz as LoraBandwidthHz, codeRate: s.codeRate ?? '4/5',
      },
      powerDbm: powerFromPaRegisters(tx.registers[Reg.PaConfig]!, tx.registers[Reg.PaDac]!),
      invertPolarity: s.txIqInverted,
      preambleSymbols: s.preambleSymbols,
      noCrc: !s.crcOn,
      ...(s.implicitHeader ? { noHeader: true } : {}),
      payload: tx.payload,
    });
    for (const l of this.listeners.values()) this.sock?.send(text, l.port, l.address);
  }
}
