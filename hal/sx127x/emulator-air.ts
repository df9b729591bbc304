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
import type dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { decodeAirMessage, encodeAirMessage } from '../sim/air-protocol.js';
import { AirListeners, bindAirSocket } from '../sim/air-socket.js';
import { guard } from '../guard.js';
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
  /** Told of each exception its guards catch (the driver counts them); they are counted here as well. */
  onInternalError?: () => void;
}


/** The emulated radio's antenna on the virtual air. */
export class EmulatorAir {
  readonly counters = { airDatagrams: 0, airMalformed: 0, notHeard: 0, heard: 0, emitted: 0, internalErrors: 0 };
  private sock: dgram.Socket | null = null;
  private readonly listeners = new AirListeners();

  constructor(private readonly o: EmulatorAirOptions) {
    o.chip.onTxStart((tx) => this.onTx(tx));
  }

  private readonly countFault = (): void => {
    this.counters.internalErrors++;
    this.o.onInternalError?.();
  };

  get port(): number {
    return (this.sock!.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    const sock = await bindAirSocket(this.o.airAddress, this.o.airPort, this.o.log, (m, r) => this.onAir(m, r), this.countFault);
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
      this.listeners.add(from);
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
    setImmediate(guard(this.o.log, this.countFault, 'emulator TX announce', () => this.announce(tx, targetUs)));
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
    this.listeners.sendAll(this.sock, text);
  }
}
