/**
 * A register-level SX1301 behind the SpiTransport boundary (house rule 6):
 * what unit tests and the Concentrator contract suite drive the SX1301
 * driver against. It behaves as the chip presents itself on SPI
 * [sx1301.md §1-6], in the same model as the shared C fake chip
 * (../shared/sx1301/fake-chip/README.md, "What it emulates"), except where
 * noted; it is our own code.
 *
 * Register file
 * - Addresses 0-32 and 125-127 on every page, 33-124 per page (pages 0-2;
 *   page 3 holds no registers, libloragw selects it only to start the
 *   calibration). Reset values from the register table; VERSION reads 103.
 * - A burst auto-increments the address, except on the data ports 4, 6, 8
 *   and 10 (RX buffer, TX buffer, capture RAM, MCU PROM).
 * - Writes to a byte that holds only read-only registers are refused and
 *   recorded as violations, as is touching a paged address on page 3.
 * - SOFT_RESET (address 0, bit 7): registers back to reset values, page 0,
 *   both MCUs held in reset with their RAM cleared, AGC status 0, RX FIFO
 *   emptied, a pending TX cancelled. PROMs, radio registers and the TX
 *   buffer survive.
 *
 * MCUs and firmware
 * - MCU_PROM_ADDR (9) / MCU_PROM_DATA (10): a write goes to each PROM whose
 *   MCU_SELECT_MUX_n (page 0, address 106, bits 2, 3) is 0; a read returns the
 *   AGC PROM when MCU_SELECT_MUX_1 is 0, else the arbiter's, one byte late
 *   (the first read after setting the address or writing is stale, 0xA5).
 * - MCU_RST_n (address 106, bits 0, 1) going from 1 to 0 starts the MCU on
 *   its PROM: the image is recognised (by the images given in the options,
 *   else by the SHA-256 values of the known images) and the version byte at
 *   MCU RAM 0x20 becomes 2 (cal), 4 (agc), 1 (arb), or 0 (anything else).
 *   MCU RAM is read through DBG_ARB/AGC_MCU_RAM_ADDR (page 2, 80/81) and
 *   DBG_ARB/AGC_MCU_RAM_DATA (page 2, 64/65). The firmware is not executed.
 * - Calibration: the cal firmware running in the AGC MCU, PAGE_REG = 3 and
 *   EMERGENCY_FORCE_HOST_CTRL written 0 run it at once with the command in
 *   RADIO_SELECT: MCU_AGC_STATUS = 0x81 | per-radio result bits (those named
 *   in `calibrationFailures` left clear); AGC RAM 0xA0-0xBF hold the TX DC
 *   offsets.
 * - AGC handshake (agc firmware running): status 0x10, then each value
 *   written to RADIO_SELECT after a 16: TX gain entries (0x30 + index; 17
 *   ends a short table with 0x30), the TX frequency MSBs (0x30 + value), the
 *   channel-select option (0x30 + value), the radio select (0x40: started).
 *
 * Radios: the SX1257/SX1255 behind the SPI bridge (page 2): on a rising edge
 * of a radio's CS, ADDR bit 7 set writes DATA to the radio register, clear
 * copies the radio register to DATA_READBACK; writing radio register 0 with
 * bit 1 (RX on) locks the PLL (0x11 bit 1) unless `pllNeverLocks`;
 * RADIO_RST going from 1 to 0 clears the radio registers.
 *
 * Receive: {@link Sx1301Emulator.injectPacket} puts a packet on the air. A
 * started chip with the packet's IF chain (and SF) enabled queues it in the
 * 16-packet FIFO once the counter reaches its raw timestamp; a 17th is
 * dropped and counted. FIFO registers 11-15, RX_DATA_BUF_ADDR (2-3) and the
 * RX data port (4) give its payload and 16 metadata bytes; a write to 11
 * pops it. The RX buffer is a 4096-byte ring.
 *
 * Transmit: TX_DATA_BUF_ADDR (5) and the TX data port (6) fill the TX
 * buffer; a write to TX_TRIG_ALL (page 1, 33) that newly sets bit 0
 * (immediate), 1 (timestamped) or 2 (on PPS) triggers it, 0 aborts. The
 * buffer is decoded (tx-metadata.ts): the frame starts TX_START_DELAY µs
 * after the trigger instant (now, the trigger count, the next PPS edge) and
 * lasts its time on air. Unlike the C fake chip, whose TX_STATUS counts
 * reads, TX_STATUS (page 1, 62) follows the counter: 0x90 scheduled, 0xB0
 * emitting, 0x80 free. Each emission is recorded, with its buffer, when it
 * starts.
 *
 * Counter: a microsecond counter on the host's monotonic clock (from
 * `counterStartUs`, wrapping at 2^32). TIMESTAMP (page 2, 70-73) is latched
 * when address 70 is read: the live counter while GPS_EN (page 2, 89 bit 0)
 * is 0, the counter at the last PPS edge ({@link Sx1301Emulator.ppsEdge},
 * which latches only while GPS_EN is 1) while it is 1; 0 before any edge.
 */
import { createHash } from 'node:crypto';
import { SpiError, transferViaSync, type SpiTransport } from '../sx127x/spi-transport.js';
import { FIRMWARE_IMAGES } from './firmware.js';
import { SX1301_REGISTER_ROWS } from './register-table.js';
import { EmulatedRxFifo } from './emulated-rx-fifo.js';
import { EmulatedTx } from './emulated-tx.js';
import { DATA_PORTS, type Sx1301AirPacket, type Sx1301Emission, type Sx1301EmulatorOptions, type Sx1301Transaction } from './sx1301-emulator-types.js';

export * from './sx1301-emulator-types.js';

const PAGED_FIRST = 33;
const PAGED_LAST = 124;
const PROM_BYTES = 8192;
const MCU_PROM_ADDR = 9;
const MCU_PROM_DATA = 10;
/** Common addresses. */
const A = { rxBufAddr: 2, rxData: 4, txBufAddr: 5, txData: 6, fifoStored: 11, modemEnable: 16, agcStatus: 32, emergency: 127 } as const;
/** Page 0 addresses: RADIO_SELECT, CORRn_DETECT_EN (65 + n), MCU control (MCU_RST_0/1 bits 0, 1; MCU_SELECT_MUX_0/1 bits 2, 3). */
const P0 = { radioSelect: 35, corrDetect: 65, mcuCtrl: 106 } as const;
/** Page 1 addresses: TX_TRIG_ALL, TX_START_DELAY (2 bytes), MBWSSF_RATE_SF (bits 0-3), TX_STATUS. */
const P1 = { txTrig: 33, txStartDelay: 34, mbwssfSf: 60, txStatus: 62 } as const;
/** Page 2 addresses: bridge per radio, radio control, MCU RAM debug ports, TIMESTAMP, GPS_EN. */
const P2 = {
  bridge: [{ data: 33, readback: 34, addr: 35, cs: 37 }, { data: 38, readback: 39, addr: 40, cs: 42 }],
  radioCtrl: 43, arbRamData: 64, agcRamData: 65, timestamp: 70, arbRamAddr: 80, agcRamAddr: 81, gps: 89,
} as const;
const TX_BUF = 512;
const AGC_WAIT = 16;
const AGC_END_LUT = 17;

/** Reset image: [common bytes (128), page 0..3 bytes (128 each)], and the read-only mask per byte. */
function resetImage(): { bytes: Uint8Array[]; readOnlyByte: boolean[][] } {
  const bytes = [0, 1, 2, 3, 4].map(() => new Uint8Array(128));
  const writable = [0, 1, 2, 3, 4].map(() => new Array<boolean>(128).fill(false));
  const named = [0, 1, 2, 3, 4].map(() => new Array<boolean>(128).fill(false));
  for (const [, page, addr, offs, , len, readOnly, dflt] of SX1301_REGISTER_ROWS) {
    const bank = page < 0 ? 0 : page + 1;
    let v = dflt < 0 ? dflt + 2 ** len : dflt;
    if (offs + len <= 8) {
      const b = bytes[bank]!;
      b[addr] = (b[addr]! & ~(((1 << len) - 1) << offs)) | ((v << offs) & 0xff);
      named[bank]![addr] = true;
      if (!readOnly) writable[bank]![addr] = true;
    } else {
      for (let i = 0; i < Math.ceil(len / 8); i++) {
        bytes[bank]![addr + i] = v % 256;
        v = Math.floor(v / 256);
        named[bank]![addr + i] = true;
        if (!readOnly) writable[bank]![addr + i] = true;
      }
    }
  }
  return { bytes, readOnlyByte: named.map((n, bank) => n.map((isNamed, a) => isNamed && !writable[bank]![a])) };
}

type Firmware = 'cal' | 'agc' | 'arb' | 'unknown';
const VERSION_OF: Record<Firmware, number> = { cal: 2, agc: 4, arb: 1, unknown: 0 };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Register-level SX1301 with its MCUs, radios, RX FIFO, TX and counter. */
export class Sx1301Emulator implements SpiTransport {
  readonly transactions: Sx1301Transaction[] = [];
  readonly violations: string[] = [];
  /** Bytes written to each data port, in order. */
  readonly portWrites = new Map<number, number[]>();
  /** PROMs of MCU 0 (arbiter) and MCU 1 (AGC). */
  readonly prom: [Uint8Array, Uint8Array] = [new Uint8Array(PROM_BYTES), new Uint8Array(PROM_BYTES)];
  /** Registers of SX1257 A and B (128 each). */
  readonly radios: [Uint8Array, Uint8Array] = [new Uint8Array(128), new Uint8Array(128)];
  /** What each MCU runs (null: held in reset). */
  readonly mcu: [Firmware | null, Firmware | null] = [null, null];
  /** RAM of each MCU as the debug ports show it. */
  readonly mcuRam: [Uint8Array, Uint8Array] = [new Uint8Array(256), new Uint8Array(256)];
  /** Calibration commands run (RADIO_SELECT at the time). */
  readonly calibrations: number[] = [];
  /** What the AGC firmware took in the handshake. */
  readonly agc = { lut: [] as number[], freqMsbs: null as number | null, chanSelect: null as number | null, radioSelect: null as number | null };
  /** Packets refused by the demodulators (with why); queued and dropped ones are counted by the FIFO. */
  private readonly refused: string[] = [];
  private readonly fifo = new EmulatedRxFifo(() => this.counterUs());
  private readonly transmitter = new EmulatedTx(() => this.counterUs());
  /** TX buffer (TX_DATA_BUF_DATA writes from TX_DATA_BUF_ADDR). */
  readonly txBuffer = new Uint8Array(TX_BUF);
  private bytes: Uint8Array[];
  private readonly readOnlyByte: boolean[][];
  private closed = false;
  private promPtr = 0;
  /** The byte the PROM port hands out on the next read (one behind the pointer), or null when stale. */
  private promLatch: number | null = null;
  private agcStep: 'off' | 'ready' | 'lut' | 'freq' | 'chan' | 'radio' | 'started' = 'off';
  private agcWaiting = false;
  private txPtr = 0;
  private latched = 0;
  private ppsLatch = 0;
  private t0Ms = performance.now();
  /** Fault injection: the chip stops answering (every read gives 0), or its TX never completes. */
  readonly faults = { dead: false, stuckTx: false };

  constructor(private readonly o: Sx1301EmulatorOptions = {}) {
    const img = resetImage();
    this.bytes = img.bytes;
    this.readOnlyByte = img.readOnlyByte;
    if (o.version !== undefined) this.bytes[0]![1] = o.version;
  }

  /** Page in PAGE_REG. */
  get page(): number {
    return this.bytes[0]![0]! & 0x03;
  }

  /** The free-running counter now, u32 µs. */
  counterUs(): number {
    return ((this.counterStart ?? this.o.counterStartUs ?? 0) + Math.floor((performance.now() - this.t0Ms) * 1000)) >>> 0;
  }

  private counterStart: number | null = null;

  /** Fault injection: the chip resets itself (power glitch): registers, MCUs, FIFO, TX and the counter (from 0). */
  selfReset(): void {
    this.softReset();
    this.counterStart = 0;
    this.t0Ms = performance.now();
  }

  /** True once the AGC handshake has completed (the chip receives). */
  get started(): boolean {
    return this.agcStep === 'started';
  }

  /** Raw byte at `addr` as seen from `page` (test control). */
  peek(addr: number, page = this.page): number {
    return this.bytes[this.bank(addr, page)]![addr]!;
  }

  /** Packets queued, refused (with why) and dropped for a full FIFO. */
  get rx(): { queued: number; refused: string[]; dropped: number } {
    return { queued: this.fifo.queued, refused: this.refused, dropped: this.fifo.dropped };
  }

  /** Frames put on the air, in order. */
  get emissions(): Sx1301Emission[] {
    return this.transmitter.emissions;
  }

  /** Called with each emission when its RF frame starts. */
  onEmission(listener: (e: Sx1301Emission) => void): void {
    this.transmitter.onEmission(listener);
  }

  /** A PPS edge: latches the counter while GPS_EN is 1 and starts a TX waiting for it. */
  ppsEdge(): void {
    const now = this.counterUs();
    if ((this.bytes[3]![P2.gps]! & 1) === 1) this.ppsLatch = now;
    this.transmitter.ppsEdge(now);
  }

  /**
   * A packet arrives. Refused (with the reason, also in `rx.refused`) when the
   * chip has not started or the packet's demodulator is off; otherwise it
   * enters the FIFO once the counter reaches its raw timestamp.
   */
  injectPacket(p: Sx1301AirPacket): { ok: true } | { ok: false; reason: string } {
    const why = this.refusal(p);
    if (why) {
      this.refused.push(why);
      return { ok: false, reason: why };
    }
    // The SF the modem reports: the LoRa standard channel demodulates its configured one.
    const sf = p.ifChain < 9 ? (p.ifChain === 8 ? (p.sf ?? this.bytes[2]![P1.mbwssfSf]! & 0x0f) : (p.sf ?? 7)) : 0;
    this.fifo.inject(p, (p.rawTimestamp ?? this.counterUs()) >>> 0, sf);
    return { ok: true };
  }

  transfer(tx: Buffer): Promise<Buffer> {
    return transferViaSync((b) => this.transferSync(b), tx);
  }

  transferSync(tx: Buffer): Buffer {
    if (this.closed) throw new SpiError('ECLOSED', 'SX1301 emulator: transfer after close');
    if (tx.length < 2) throw new SpiError('EINVAL', 'SX1301 emulator: a transaction is a command byte and at least one data byte');
    const write = (tx[0]! & 0x80) !== 0;
    const addr = tx[0]! & 0x7f;
    const page = this.page;
    const rx = Buffer.alloc(tx.length);
    if (this.faults.dead) {
      this.transactions.push({ write, addr, page, data: Buffer.from(write ? tx.subarray(1) : rx.subarray(1)) });
      return rx; // nothing drives MISO: zeros
    }
    for (let i = 1; i < tx.length; i++) {
      const a = DATA_PORTS.has(addr) ? addr : addr + i - 1;
      if (a > 127) {
        this.violations.push(`burst from ${addr} runs past address 127`);
        break;
      }
      if (write) this.writeByte(a, tx[i]!);
      else rx[i] = this.readByte(a);
    }
    this.transactions.push({ write, addr, page, data: Buffer.from(write ? tx.subarray(1) : rx.subarray(1)) });
    return rx;
  }

  close(): Promise<void> {
    this.closed = true;
    this.transmitter.cancel();
    return Promise.resolve();
  }

  // ---- register file ----

  private bank(addr: number, page: number): number {
    return addr >= PAGED_FIRST && addr <= PAGED_LAST ? page + 1 : 0;
  }

  private readByte(a: number): number {
    if (a === MCU_PROM_DATA) return this.readProm();
    if (a === A.rxData) return this.fifo.readData();
    if (DATA_PORTS.has(a)) return 0;
    if (a >= A.fifoStored && a <= A.fifoStored + 4) return this.fifo.register(a - A.fifoStored);
    const page = this.page;
    if (a >= PAGED_FIRST && a <= PAGED_LAST) {
      if (page === 3) {
        this.violations.push(`address ${a} read on page 3, which has no registers`);
        return 0;
      }
      if (page === 1 && a === P1.txStatus) return this.faults.stuckTx ? 0xb0 : this.transmitter.statusByte();
      if (page === 2) {
        if (a === P2.arbRamData) return this.mcuRam[0][this.bytes[3]![P2.arbRamAddr]!]!;
        if (a === P2.agcRamData) return this.mcuRam[1][this.bytes[3]![P2.agcRamAddr]!]!;
        if (a >= P2.timestamp && a < P2.timestamp + 4) {
          if (a === P2.timestamp) this.latched = (this.bytes[3]![P2.gps]! & 1) === 1 ? this.ppsLatch : this.counterUs();
          return (this.latched >>> (8 * (a - P2.timestamp))) & 0xff;
        }
      }
    }
    return this.bytes[this.bank(a, page)]![a]!;
  }

  private writeByte(a: number, v: number): void {
    if (a === MCU_PROM_DATA) this.writeProm(v);
    if (a === MCU_PROM_ADDR) {
      this.promPtr = v; // an 8-bit register: the pointer restarts at 0..255
      this.promLatch = null;
    }
    if (DATA_PORTS.has(a)) {
      const list = this.portWrites.get(a) ?? [];
      list.push(v);
      this.portWrites.set(a, list);
      if (a === A.txData) {
        this.txBuffer[this.txPtr] = v;
        this.txPtr = (this.txPtr + 1) % TX_BUF;
      }
      return;
    }
    if (a === 0 && (v & 0x80) !== 0) {
      this.softReset();
      return;
    }
    if (a === A.fifoStored) {
      this.fifo.pop();
      return;
    }
    const page = this.page;
    if (a >= PAGED_FIRST && a <= PAGED_LAST && page === 3) {
      this.violations.push(`address ${a} written on page 3, which has no registers`);
      return;
    }
    const bank = this.bank(a, page);
    if (this.readOnlyByte[bank]![a]) {
      this.violations.push(`write 0x${v.toString(16)} to read-only address ${a} (page ${page}) refused`);
      return;
    }
    const before = this.bytes[bank]![a]!;
    this.bytes[bank]![a] = v;
    if (a === A.rxBufAddr || a === A.rxBufAddr + 1) this.fifo.setPointer(this.bytes[0]![A.rxBufAddr]! | (this.bytes[0]![A.rxBufAddr + 1]! << 8));
    if (a === A.txBufAddr) this.txPtr = v;
    if (a === A.emergency && (v & 1) === 0 && page === 3) this.calibrate();
    if (page === 0 && a === P0.mcuCtrl) this.onMcuControl(before, v);
    if (page === 0 && a === P0.radioSelect) this.onRadioSelect(v);
    if (page === 1 && a === P1.txTrig) this.onTxTrigger(before, v);
    if (page === 2) this.onPage2Write(a, before, v);
  }

  private softReset(): void {
    this.bytes = resetImage().bytes;
    if (this.o.version !== undefined) this.bytes[0]![1] = this.o.version;
    this.mcu[0] = null;
    this.mcu[1] = null;
    this.mcuRam[0].fill(0);
    this.mcuRam[1].fill(0);
    this.agcStep = 'off';
    this.agcWaiting = false;
    this.fifo.clear();
    this.transmitter.cancel();
  }

  // ---- MCUs, calibration, AGC ----

  private writeProm(v: number): void {
    const ctrl = this.bytes[1]![P0.mcuCtrl]!;
    for (const mcu of [0, 1] as const) {
      if ((ctrl & (0x04 << mcu)) === 0) this.prom[mcu]![this.promPtr] = v;
    }
    this.promPtr = (this.promPtr + 1) % PROM_BYTES;
    this.promLatch = null;
  }

  private readProm(): number {
    const src = (this.bytes[1]![P0.mcuCtrl]! & 0x08) === 0 ? this.prom[1]! : this.prom[0]!;
    const out = this.promLatch ?? 0xa5;
    this.promLatch = src[this.promPtr]!;
    this.promPtr = (this.promPtr + 1) % PROM_BYTES;
    return out;
  }

  private recognise(image: Uint8Array): Firmware {
    const given = this.o.firmware;
    if (given) {
      for (const key of ['cal', 'agc', 'arb'] as const) if (Buffer.from(given[key]).equals(image)) return key;
      return 'unknown';
    }
    const hash = sha256(image);
    return FIRMWARE_IMAGES.find((f) => f.sha256 === hash)?.key ?? 'unknown';
  }

  private onMcuControl(before: number, v: number): void {
    for (const i of [0, 1] as const) {
      const bit = 1 << i;
      if ((v & bit) !== 0) {
        this.mcu[i] = null;
        if (i === 1) this.agcStep = 'off';
      } else if ((before & bit) !== 0) {
        const fw = this.recognise(this.prom[i]);
        this.mcu[i] = fw;
        this.mcuRam[i].fill(0);
        this.mcuRam[i][0x20] = VERSION_OF[fw];
        if (i === 1) {
          this.agcStep = fw === 'agc' ? 'ready' : 'off';
          this.agcWaiting = false;
          // A firmware start is a fresh handshake.
          this.agc.lut.length = 0;
          this.agc.freqMsbs = this.agc.chanSelect = this.agc.radioSelect = null;
          this.bytes[0]![A.agcStatus] = fw === 'agc' ? 0x10 : 0;
        }
      }
    }
  }

  /** The cal firmware's result for the command in RADIO_SELECT. */
  private calibrate(): void {
    if (this.mcu[1] !== 'cal') return;
    const cmd = this.bytes[1]![P0.radioSelect]!;
    this.calibrations.push(cmd);
    let status = 0x81;
    if (cmd & 0x01) status |= 0x02 | 0x08;
    if (cmd & 0x02) status |= 0x04 | 0x10;
    if (cmd & 0x04) status |= 0x20;
    if (cmd & 0x08) status |= 0x40;
    status &= ~((this.o.calibrationFailures ?? 0) & 0x7e);
    this.bytes[0]![A.agcStatus] = status;
    // TX DC offsets I/Q for radios A and B, 8 mixer gains each: -4..3 as int8.
    for (let i = 0; i < 32; i++) this.mcuRam[1][0xa0 + i] = ((i % 8) - 4) & 0xff;
  }

  private onRadioSelect(v: number): void {
    const step = this.agcStep;
    if (step === 'off' || step === 'started') return;
    if (!this.agcWaiting) {
      if (v === AGC_WAIT) this.agcWaiting = true;
      return; // a value not announced by AGC_WAIT is ignored
    }
    this.agcWaiting = false;
    const status = (s: number) => {
      this.bytes[0]![A.agcStatus] = s;
    };
    if (step === 'ready' || step === 'lut') {
      if (v === AGC_END_LUT) {
        status(0x30);
        this.agcStep = 'freq';
        return;
      }
      status(0x30 + this.agc.lut.length);
      this.agc.lut.push(v);
      this.agcStep = this.agc.lut.length === 16 ? 'freq' : 'lut';
    } else if (step === 'freq') {
      this.agc.freqMsbs = v;
      status(0x30 + (v & 0x0f));
      this.agcStep = 'chan';
    } else if (step === 'chan') {
      this.agc.chanSelect = v;
      status(0x30 + (v & 0x0f));
      this.agcStep = 'radio';
    } else {
      this.agc.radioSelect = v;
      status(0x40);
      this.agcStep = 'started';
    }
  }

  // ---- radios ----

  private onPage2Write(a: number, before: number, v: number): void {
    const p2 = this.bytes[3]!;
    if (a === P2.radioCtrl && (before & 0x04) !== 0 && (v & 0x04) === 0) {
      for (const r of this.radios) r.fill(0);
      return;
    }
    P2.bridge.forEach((b, i) => {
      if (a !== b.cs || (before & 1) !== 0 || (v & 1) === 0) return;
      const radio = this.radios[i]!;
      const ra = p2[b.addr]!;
      if (ra & 0x80) {
        radio[ra & 0x7f] = p2[b.data]!;
        if ((ra & 0x7f) === 0 && (p2[b.data]! & 0x02) !== 0 && !this.o.pllNeverLocks) radio[0x11] = radio[0x11]! | 0x02; // RX on: PLL locks
      } else {
        p2[b.readback] = radio[ra & 0x7f]!;
      }
    });
  }

  // ---- transmit ----

  private onTxTrigger(before: number, v: number): void {
    const p1 = this.bytes[2]!;
    const violation = this.transmitter.trigger(before, v, this.txBuffer, {
      startDelayUs: p1[P1.txStartDelay]! | (p1[P1.txStartDelay + 1]! << 8),
      radioTypes: this.o.radioTypes ?? ['SX1257', 'SX1257'],
      freqMsbs: this.agc.freqMsbs ?? 0,
      // FSK_TX_PSIZE (page 1, 77, bits 5-7) and FSK_REF_PATTERN_LSB/MSB (page 1, 68-75, LSB first) [register table].
      fskSync: { bytes: ((p1[77]! >> 5) & 0x07) + 1, pattern: p1.subarray(68, 76).reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n) },
    });
    if (violation) this.violations.push(violation);
  }

  // ---- receive ----

  private refusal(p: Sx1301AirPacket): string | null {
    if (!this.started) return 'the concentrator has not started (AGC handshake not complete)';
    const enable = this.bytes[0]![A.modemEnable]!;
    if (p.ifChain < 0 || p.ifChain > 9 || !Number.isInteger(p.ifChain)) return `IF chain ${p.ifChain} does not exist`;
    if (p.payload.length > 255) return `payload of ${p.payload.length} bytes`;
    if (p.ifChain < 8) {
      const sf = p.sf ?? 7;
      if ((enable & 0x02) === 0) return 'the multi-SF modem is off';
      if ((this.bytes[1]![P0.corrDetect + p.ifChain]! & (1 << (sf - 6))) === 0) return `SF${sf} is not detected on IF chain ${p.ifChain}`;
    } else if (p.ifChain === 8) {
      if ((enable & 0x01) === 0) return 'the LoRa standard channel modem is off';
      const sf = this.bytes[2]![P1.mbwssfSf]! & 0x0f;
      if ((p.sf ?? sf) !== sf) return `the LoRa standard channel demodulates SF${sf}, not SF${p.sf}`;
    } else if ((enable & 0x04) === 0) {
      return 'the FSK modem is off';
    }
    return null;
  }

  // ---- transmit ----


}
