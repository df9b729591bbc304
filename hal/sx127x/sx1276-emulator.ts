/**
 * A register-level SX1276 in LoRa mode behind the {@link SpiTransport}
 * boundary, strict enough to catch driver mistakes (house rule 6).
 *
 * Time: the emulator never reads a real clock. It asks the injected `now()`
 * (monotonic µs) when something happens, and it only acts on elapsed time
 * (TxDone after the time on air) when asked: every `transfer()` first runs
 * what is due, and a test that advances its fake clock calls `poll()` (or looks
 * at `nextEventUs()` to know where to advance to). Everything is synchronous,
 * so tests are deterministic.
 *
 * What it does not model: FSK mode (only the OpMode writes that get into LoRa
 * mode), CAD (the mode is held, CadDone never comes), RX-single timeouts, FHSS,
 * SF6 and bandwidths below 125 kHz, the frequency error registers.
 */
import type { CodeRate, SpreadingFactor } from '../types.js';
import { timeOnAirUs } from '../lora/time-on-air.js';
import { SpiError, transferViaSync, type SpiTransport } from './spi-transport.js';
import {
  ChipVersion,
  Dio0Mapping,
  FIFO_SIZE,
  HopChannelBit,
  IrqFlag,
  Mode,
  OpModeBit,
  REG_LAST,
  Reg,
  SPI_WRITE_BIT,
  type ModeValue,
} from './registers.js';
import {
  decodeModem,
  encodePktRssi,
  encodeSnr,
  isLoraPageRegister,
  isReadOnly,
  resetRegisterFile,
} from './sx1276-emulator-state.js';
import type { EmulatedTx, InjectedFrame, SpiTransaction, Sx1276EmulatorOptions } from './sx1276-emulator-types.js';

/** The emulator's data shapes, re-exported so users import one module. */
export type { EmulatedTx, InjectedFrame, SpiTransaction, Sx1276EmulatorOptions } from './sx1276-emulator-types.js';

const CR_CODE: Record<CodeRate, number> = { '4/5': 1, '4/6': 2, '4/7': 3, '4/8': 4 };
const RX_MODES: ReadonlySet<number> = new Set([Mode.RXCONTINUOUS, Mode.RXSINGLE]);
/** Registers whose change while transmitting would corrupt the frame on air. */
const TX_LOCKED: ReadonlySet<number> = new Set([
  Reg.Fifo, Reg.FrfMsb, Reg.FrfMid, Reg.FrfLsb, Reg.PaConfig, Reg.ModemConfig1, Reg.ModemConfig2,
  Reg.ModemConfig3, Reg.PreambleMsb, Reg.PreambleLsb, Reg.PayloadLength, Reg.InvertIQ, Reg.InvertIQ2,
  Reg.SyncWord, Reg.PaDac,
]);
const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0').toUpperCase()}`;

/** Register-level SX1276 (LoRa mode) emulator implementing {@link SpiTransport}. */
export class Sx1276Emulator implements SpiTransport {
  /** Every transaction that reached the chip, in order (failed transfers are not recorded). */
  readonly transactions: SpiTransaction[] = [];
  /** Things the real chip would refuse or that leave it in an undefined state. */
  readonly violations: string[] = [];
  /** Every transmission started, in order. */
  readonly txEvents: EmulatedTx[] = [];
  /** Every change of the RegOpMode mode field, by the host or by the chip itself (TxDone → STDBY). */
  readonly modeChanges: Array<{ atUs: number; from: ModeValue; to: ModeValue }> = [];
  /** `now()` when the last received frame raised RxDone: the end of reception as the chip sees it. */
  lastRxDoneUs: number | undefined;
  /** Why the last `injectFrame()` returned false; undefined after a reception. */
  lastRejection: string | undefined;
  /** Called after every successful transfer (a real-time wrapper re-arms its TxDone timer here). */
  afterTransfer: (() => void) | undefined;

  private readonly now: () => number;
  private readonly version: number;
  private regs: Uint8Array;
  private readonly fifo = new Uint8Array(FIFO_SIZE);
  private rxWritePtr = 0;
  private activeTx: EmulatedTx | undefined;
  private readonly dio0Listeners: Array<() => void> = [];
  private readonly txStartListeners: Array<(tx: EmulatedTx) => void> = [];
  private readonly maxRecords: number;
  private closed = false;
  private failuresLeft = 0;
  private stuckByte: number | undefined;
  /** `now()` at the start of the transaction being run: the chip acts on a write when its byte arrives. */
  private transactionAtUs: number | undefined;

  /** @param opts clock and chip identity, see {@link Sx1276EmulatorOptions} */
  constructor(opts: Sx1276EmulatorOptions) {
    this.now = opts.now;
    this.version = opts.version ?? ChipVersion.SX1276;
    if (this.version === 0x00 || this.version === 0xff) this.stuckByte = this.version;
    this.regs = resetRegisterFile(this.version);
    this.maxRecords = opts.maxRecords ?? Infinity;
  }

  // ---- SpiTransport ----

  /** Run one SX127x SPI transaction (see spi-transport.ts for the framing). */
  transfer(tx: Buffer): Promise<Buffer> {
    return transferViaSync((b) => this.transferSync(b), tx);
  }

  /** Synchronous form of {@link transfer}; throws the same coded errors. */
  transferSync(tx: Buffer): Buffer {
    if (this.closed) throw new SpiError('ECLOSED', 'SX1276 emulator: transfer after close');
    if (tx.length === 0) throw new SpiError('EINVAL', 'SX1276 emulator: empty transfer');
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new SpiError('EIO', 'SX1276 emulator: injected SPI failure');
    }
    this.poll();
    let rx: Buffer;
    try {
      rx = this.runTransaction(tx);
    } finally {
      this.transactionAtUs = undefined;
    }
    this.afterTransfer?.();
    return rx;
  }

  /** Close the link; later transfers reject with code `ECLOSED`. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  // ---- test controls ----

  /** Copy of the 128-byte register file (index = address). */
  get registers(): Uint8Array {
    return this.regs.slice();
  }

  /** Copy of the 256-byte FIFO. */
  get fifoContents(): Uint8Array {
    return this.fifo.slice();
  }

  /** Current RegOpMode mode field. */
  get mode(): ModeValue {
    return (this.regs[Reg.OpMode]! & OpModeBit.ModeMask) as ModeValue;
  }

  /** Call `cb` on each rising edge of DIO0; returns a function that unsubscribes. */
  onDio0(cb: () => void): () => void {
    this.dio0Listeners.push(cb);
    return () => {
      const i = this.dio0Listeners.indexOf(cb);
      if (i >= 0) this.dio0Listeners.splice(i, 1);
    };
  }

  /** Call `cb` when a transmission starts (at the RegOpMode = TX write). */
  onTxStart(cb: (tx: EmulatedTx) => void): void {
    this.txStartListeners.push(cb);
  }

  /** Make the next `n` transfers reject with code `EIO` without reaching the chip. */
  failNextTransfers(n: number): void {
    this.failuresLeft = n;
  }

  /** From now on the chip stops answering: every byte read is `fill` and writes are lost. */
  stopAnswering(fill: 0x00 | 0xff): void {
    this.stuckByte = fill;
  }

  /** Undo {@link stopAnswering} (the contact is back; the register state is whatever it was). */
  resumeAnswering(): void {
    this.stuckByte = undefined;
  }

  /** An NRESET pulse: registers back to reset values, any TX dropped, FIFO cleared. */
  reset(): void {
    this.abortTx();
    this.regs = resetRegisterFile(this.version);
    this.fifo.fill(0);
    this.rxWritePtr = 0;
  }

  /** When the next timed event (TxDone) is due, in `now()` µs; undefined when none. */
  nextEventUs(): number | undefined {
    return this.activeTx?.endUs;
  }

  /** Run every timed event due at `now()`: TxDone raises its flag, fires DIO0 and returns to STDBY. */
  poll(): void {
    const tx = this.activeTx;
    if (tx === undefined || this.now() < tx.endUs) return;
    this.activeTx = undefined;
    this.setModeField(Mode.STDBY); // the chip returns to standby by itself after TxDone [sx127x.md §13]
    this.raiseIrq(IrqFlag.TxDone);
  }

  /**
   * Offer a frame that ends on the air now. It is received when the chip is
   * in LoRa RXCONTINUOUS/RXSINGLE with the frame's SF, bandwidth, sync word
   * and I/Q polarity (and frequency when given) in explicit-header mode;
   * returns false otherwise (reason in `lastRejection`).
   */
  injectFrame(frame: InjectedFrame): boolean {
    const len = frame.payload.length;
    if (len < 1 || len > 255) throw new SpiError('EINVAL', `injected payload length ${len} outside 1..255`);
    this.poll();
    const reason = this.rejectionReason(frame);
    this.lastRejection = reason;
    if (reason !== undefined) return false;
    this.receive(frame);
    return true;
  }

  /** Appends to a record list, keeping the newest `maxRecords` entries. */
  private record<T>(list: T[], entry: T): void {
    list.push(entry);
    if (list.length > 2 * this.maxRecords) list.splice(0, list.length - this.maxRecords);
  }

  // ---- SPI decoding ----

  private runTransaction(tx: Buffer): Buffer {
    const rx = Buffer.alloc(tx.length);
    const write = (tx[0]! & SPI_WRITE_BIT) !== 0;
    const addr = tx[0]! & REG_LAST;
    const atUs = this.now();
    this.transactionAtUs = atUs;
    if (this.stuckByte !== undefined) {
      rx.fill(this.stuckByte);
      this.record(this.transactions, { atUs, write, addr, data: Buffer.from(write ? tx.subarray(1) : rx.subarray(1)) });
      return rx;
    }
    let overrun = false;
    for (let i = 1; i < tx.length; i++) {
      // Burst: the address auto-increments, except RegFifo, which streams the FIFO [sx127x.md §1].
      const a = addr === Reg.Fifo ? Reg.Fifo : addr + i - 1;
      if (a > REG_LAST) {
        if (!overrun) this.violations.push(`burst from ${hex(addr)} runs past ${hex(REG_LAST)}`);
        overrun = true;
        continue;
      }
      if (write) this.writeRegister(a, tx[i]!);
      else rx[i] = this.readRegister(a);
    }
    this.record(this.transactions, { atUs, write, addr, data: Buffer.from(write ? tx.subarray(1) : rx.subarray(1)) });
    return rx;
  }

  private readRegister(addr: number): number {
    this.checkPage(addr, 'read');
    if (addr !== Reg.Fifo) return this.regs[addr]!;
    if (!this.fifoAccessible('read')) return 0;
    const ptr = this.regs[Reg.FifoAddrPtr]!;
    this.regs[Reg.FifoAddrPtr] = (ptr + 1) & 0xff;
    return this.fifo[ptr]!;
  }

  private writeRegister(addr: number, value: number): void {
    this.checkPage(addr, 'written');
    if (this.activeTx !== undefined && TX_LOCKED.has(addr)) {
      this.violations.push(`${hex(addr)} written during TX`);
    }
    if (addr === Reg.OpMode) return this.writeOpMode(value);
    if (addr === Reg.IrqFlags) {
      this.regs[addr] = this.regs[addr]! & ~value; // write 1 to clear [sx127x.md §7]
      return;
    }
    if (isReadOnly(addr)) {
      this.violations.push(`write ${hex(value)} to read-only register ${hex(addr)} ignored`);
      return;
    }
    if (isLoraPageRegister(addr) && !this.loraMode) {
      this.violations.push(`${hex(addr)} written in FSK mode (LoRa page not mapped) ignored`);
      return;
    }
    if (addr === Reg.Fifo) {
      if (!this.fifoAccessible('write')) return;
      const ptr = this.regs[Reg.FifoAddrPtr]!;
      this.fifo[ptr] = value;
      this.regs[Reg.FifoAddrPtr] = (ptr + 1) & 0xff;
      return;
    }
    this.regs[addr] = value;
  }

  private checkPage(addr: number, what: string): void {
    if (this.loraMode && isLoraPageRegister(addr) && (this.regs[Reg.OpMode]! & OpModeBit.AccessSharedReg) !== 0) {
      this.violations.push(`${hex(addr)} ${what} with AccessSharedReg set (FSK page)`);
    }
  }

  private fifoAccessible(what: string): boolean {
    // The FIFO is not accessible in Sleep [sx127x.md §3; LMN SX1276Send].
    if (this.mode !== Mode.SLEEP) return true;
    this.violations.push(`FIFO ${what} in SLEEP`);
    return false;
  }

  private get loraMode(): boolean {
    return (this.regs[Reg.OpMode]! & OpModeBit.LongRangeMode) !== 0;
  }

  // ---- modes ----

  private writeOpMode(value: number): void {
    const old = this.regs[Reg.OpMode]!;
    let next = value;
    // LongRangeMode can only change in Sleep; elsewhere that bit of the write is ignored [sx127x.md §3].
    if (((old ^ value) & OpModeBit.LongRangeMode) !== 0 && (old & OpModeBit.ModeMask) !== Mode.SLEEP) {
      this.violations.push(`LongRangeMode change outside SLEEP ignored (RegOpMode ${hex(old)} -> ${hex(value)})`);
      next = (value & ~OpModeBit.LongRangeMode) | (old & OpModeBit.LongRangeMode);
    }
    const oldMode = old & OpModeBit.ModeMask;
    const newMode = next & OpModeBit.ModeMask;
    this.regs[Reg.OpMode] = next;
    if (oldMode !== newMode) this.record(this.modeChanges, { atUs: this.transactionAtUs ?? this.now(), from: oldMode as ModeValue, to: newMode as ModeValue });
    if (oldMode === Mode.TX && newMode !== Mode.TX) this.abortTx();
    if (RX_MODES.has(newMode) && !RX_MODES.has(oldMode)) this.enterRx();
    if (newMode === Mode.TX && oldMode !== Mode.TX) this.startTx();
  }

  private setModeField(mode: ModeValue): void {
    const from = this.mode;
    if (from !== mode) this.record(this.modeChanges, { atUs: this.transactionAtUs ?? this.now(), from, to: mode });
    this.regs[Reg.OpMode] = (this.regs[Reg.OpMode]! & ~OpModeBit.ModeMask) | mode;
  }

  private abortTx(): void {
    if (this.activeTx !== undefined) this.activeTx.abortedAtUs = this.now();
    this.activeTx = undefined;
  }

  private enterRx(): void {
    // Each entry into RX starts writing at RegFifoRxBaseAddr and restarts the counters (datasheet).
    this.rxWritePtr = this.regs[Reg.FifoRxBaseAddr]!;
    for (const a of [Reg.RxHeaderCntValueMsb, Reg.RxHeaderCntValueLsb, Reg.RxPacketCntValueMsb, Reg.RxPacketCntValueLsb]) {
      this.regs[a] = 0;
    }
  }

  private startTx(): void {
    const s = decodeModem(this.regs);
    const refuse = (why: string): void => {
      this.violations.push(`TX refused: ${why}`);
      this.setModeField(Mode.STDBY);
    };
    if (!s.loraMode) return refuse('FSK mode is not emulated');
    if (s.payloadLength === 0) return refuse('RegPayloadLength is 0');
    if (s.spreadingFactor < 7 || s.spreadingFactor > 12) return refuse(`SF${s.spreadingFactor} not emulated`);
    if (s.bandwidthHz !== 125000 && s.bandwidthHz !== 250000 && s.bandwidthHz !== 500000) {
      return refuse(`bandwidth code ${hex(this.regs[Reg.ModemConfig1]! >> 4)} not emulated`);
    }
    if (s.codeRate === undefined) return refuse('reserved coding rate');
    const base = this.regs[Reg.FifoTxBaseAddr]!;
    const payload = Buffer.alloc(s.payloadLength);
    for (let i = 0; i < payload.length; i++) payload[i] = this.fifo[(base + i) & 0xff]!;
    const airtimeUs = timeOnAirUs({
      radio: { modulation: 'LORA', spreadingFactor: s.spreadingFactor as SpreadingFactor, bandwidthHz: s.bandwidthHz, codeRate: s.codeRate },
      payloadSize: payload.length,
      preambleSymbols: s.preambleSymbols,
      noCrc: !s.crcOn,
      noHeader: s.implicitHeader,
    });
    const startUs = this.transactionAtUs ?? this.now();
    const ev: EmulatedTx = { startUs, endUs: startUs + airtimeUs, airtimeUs, registers: this.regs.slice(), payload, settings: s };
    this.record(this.txEvents, ev);
    this.activeTx = ev;
    for (const cb of this.txStartListeners) cb(ev);
  }

  // ---- IRQ and reception ----

  /** Set IRQ flags (unless masked) and fire DIO0 on a rising edge of its mapped flag. */
  private raiseIrq(bits: number): void {
    const set = bits & ~this.regs[Reg.IrqFlagsMask]!;
    const before = this.regs[Reg.IrqFlags]!;
    this.regs[Reg.IrqFlags] = before | set;
    const mapping = this.regs[Reg.DioMapping1]! & Dio0Mapping.Mask;
    const dio0Flag =
      mapping === Dio0Mapping.RxDone ? IrqFlag.RxDone
      : mapping === Dio0Mapping.TxDone ? IrqFlag.TxDone
      : mapping === Dio0Mapping.CadDone ? IrqFlag.CadDone
      : 0;
    // DIO0 follows its flag, so a flag that was never cleared gives no new edge.
    if ((set & dio0Flag) !== 0 && (before & dio0Flag) === 0) {
      for (const cb of [...this.dio0Listeners]) cb();
    }
  }

  private rejectionReason(f: InjectedFrame): string | undefined {
    const s = decodeModem(this.regs);
    if (!s.loraMode) return 'radio in FSK mode';
    if (!RX_MODES.has(this.mode)) return `radio not receiving (mode ${this.mode})`;
    if (s.spreadingFactor !== f.sf) return `SF${f.sf} frame, radio at SF${s.spreadingFactor}`;
    if (s.bandwidthHz !== f.bwHz) return `BW ${f.bwHz} frame, radio at ${s.bandwidthHz}`;
    // Modelling choice: a carrier within ±25 % of the bandwidth is demodulated.
    if (f.freqHz !== undefined && Math.abs(f.freqHz - s.freqHz) > f.bwHz / 4) {
      return `frame at ${f.freqHz} Hz, radio at ${s.freqHz} Hz`;
    }
    if (s.implicitHeader) return 'radio in implicit header mode, frame has a header';
    if (s.syncWord !== (f.syncWord ?? 0x34)) return `sync word ${hex(f.syncWord ?? 0x34)}, radio ${hex(s.syncWord)}`;
    if (s.rxIqInverted !== (f.iqInverted ?? false)) return 'I/Q polarity differs';
    if (f.payload.length > this.regs[Reg.PayloadMaxLength]!) return 'payload longer than RegPayloadMaxLength';
    return undefined;
  }

  private receive(f: InjectedFrame): void {
    const r = this.regs;
    const start = this.rxWritePtr;
    f.payload.forEach((b, i) => (this.fifo[(start + i) & 0xff] = b));
    // Continuous RX appends packets; RegFifoRxCurrentAddr marks the last one's start (datasheet).
    this.rxWritePtr = (start + f.payload.length) & 0xff;
    r[Reg.FifoRxCurrentAddr] = start;
    r[Reg.FifoRxByteAddr] = this.rxWritePtr;
    r[Reg.RxNbBytes] = f.payload.length;
    this.bump(Reg.RxHeaderCntValueMsb);
    if (f.crc !== 'bad') this.bump(Reg.RxPacketCntValueMsb);
    r[Reg.ModemStat] = CR_CODE[f.codeRate ?? '4/5'] << 5;
    const snr = encodeSnr(f.snrDb);
    r[Reg.PktSnrValue] = snr;
    r[Reg.PktRssiValue] = encodePktRssi(f.rssiDbm, snr, decodeModem(r).freqHz);
    const hop = r[Reg.HopChannel]! & ~HopChannelBit.CrcOnPayload;
    r[Reg.HopChannel] = f.crc === 'none' ? hop : hop | HopChannelBit.CrcOnPayload;
    if (this.mode === Mode.RXSINGLE) this.setModeField(Mode.STDBY); // RX single ends after one packet
    this.lastRxDoneUs = this.now();
    this.raiseIrq(IrqFlag.ValidHeader | IrqFlag.RxDone | (f.crc === 'bad' ? IrqFlag.PayloadCrcError : 0));
  }

  /** Increment a 16-bit big-endian counter stored at msb, msb+1 (wraps). */
  private bump(msb: number): void {
    const v = (((this.regs[msb]! << 8) | this.regs[msb + 1]!) + 1) & 0xffff;
    this.regs[msb] = v >> 8;
    this.regs[msb + 1] = v & 0xff;
  }
}
