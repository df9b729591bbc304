/**
 * The SX1276 LoRa modem over SPI: identity check, the single-channel receive
 * configuration and the RxDone read path (sx127x.md §1, §11, §12). The
 * concentrator driver composes this with GPIO and timing.
 */
import type { CodeRate, CrcStatus, LoraBandwidthHz, SpreadingFactor } from '../types.js';
import { errata21, frfBytes, codeRateFromModemStat, modemConfig1, modemConfig2, modemConfig3, type PaSettings } from './modem-config.js';
import { ChipVersion, Dio0Mapping, HopChannelBit, InvertIq, IrqFlag, Mode, OpModeBit, Reg, RssiOffsetDb, RF_MID_BAND_THRESH_HZ } from './registers.js';
import type { SpiTransport } from './spi-transport.js';

/** The RegOpMode = LoRa TX write, allocated once: nothing is allocated between the spin and the write. */
const FIRE_TX = Buffer.from([Reg.OpMode | 0x80, OpModeBit.LongRangeMode | Mode.TX]);
/** RegOpMode = LoRa FSTX: the same write path without transmitting (the driver's warm-up). */
export const ARM_FSTX = Buffer.from([Reg.OpMode | 0x80, OpModeBit.LongRangeMode | Mode.FSTX]);

/** Receive channel of a single-channel gateway. */
export interface RxChannel {
  freqHz: number;
  sf: SpreadingFactor;
  bwHz: LoraBandwidthHz;
  codeRate: CodeRate;
  /** 0x34 LoRaWAN public, 0x12 private. */
  syncWord: number;
}

/** A frame read after RxDone. */
export interface ModemFrame {
  payload: Buffer;
  crcStatus: CrcStatus;
  snrDb: number;
  rssiDbm: number;
  /** Coding rate the frame's header announced, when readable. */
  codeRate?: CodeRate;
  /**
   * Valid frames the radio received before this one that were never read:
   * overwritten in its FIFO by a later one (an overrun), from RegRxPacketCntValue.
   */
  lostBefore: number;
}

/** A downlink as the modem loads it (LoRa, explicit header). */
export interface ModemTx {
  freqHz: number;
  sf: SpreadingFactor;
  bwHz: LoraBandwidthHz;
  codeRate: CodeRate;
  crcOn: boolean;
  /** Inverted I/Q: true for downlinks to LoRaWAN devices [sx127x.md §10]. */
  invertIq: boolean;
  preambleSymbols: number;
  /** Implicit header (Class B beacons); default explicit. */
  implicitHeader?: boolean;
  pa: PaSettings;
  payload: Uint8Array;
}

/** Errors of the modem, with a code (rule 5). */
export class ModemError extends Error {
  constructor(message: string, readonly code: 'ESX1272' | 'ENORADIO' | 'EVERSION') {
    super(message);
  }
}

/**
 * Register access and the receive path of one SX1276. All SPI access goes
 * through one promise chain, so transactions never interleave.
 */
export class Sx127xModem {
  /** RegRxPacketCntValue when the last frame was read (0 at each start of RX). */
  private validRead = 0;

  private chain: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(private readonly spi: SpiTransport) {}

  /** Runs `fn` after every earlier access (serialised SPI). */
  private serial<T>(fn: () => T): Promise<T> {
    this.pending++;
    const run = this.chain.then(fn, fn).finally(() => this.pending--);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** True while queued accesses have not completed. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** Resolves once every access queued so far has completed (successfully or not). */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.chain;
  }

  /** Reads one register. */
  read(addr: number): Promise<number> {
    return this.serial(() => this.spi.transferSync(Buffer.from([addr & 0x7f, 0]))[1]!);
  }

  /** Writes one register. */
  write(addr: number, value: number): Promise<void> {
    return this.serial(() => {
      this.spi.transferSync(Buffer.from([addr | 0x80, value & 0xff]));
    });
  }

  /** Burst-reads `n` bytes from `addr` (the FIFO streams at 0x00). */
  readBurst(addr: number, n: number): Promise<Buffer> {
    return this.serial(() => this.spi.transferSync(Buffer.alloc(n + 1, 0).fill(addr & 0x7f, 0, 1)).subarray(1));
  }

  /** Burst-writes `data` from `addr`. */
  writeBurst(addr: number, data: Uint8Array): Promise<void> {
    return this.serial(() => {
      this.spi.transferSync(Buffer.concat([Buffer.from([addr | 0x80]), Buffer.from(data)]));
    });
  }

  /**
   * Reads one register at once, outside the queue: for the timing-critical
   * path only, which first waits for {@link idle} and then runs without
   * yielding. Throws EBUSY if accesses are still queued.
   */
  readNow(addr: number): number {
    this.assertIdle();
    return this.spi.transferSync(Buffer.from([addr & 0x7f, 0]))[1]!;
  }

  /** Writes a prepared transaction at once, outside the queue (same precondition as {@link readNow}). */
  writeNow(tx: Buffer): void {
    this.assertIdle();
    this.spi.transferSync(tx);
  }

  /** Starts the loaded transmission at once: {@link fireTx} without the queue (same precondition as {@link readNow}). */
  fireTxNow(): void {
    this.writeNow(FIRE_TX);
  }

  private assertIdle(): void {
    if (this.pending > 0) throw Object.assign(new Error('SPI access queued while a timed access was attempted'), { code: 'EBUSY' });
  }

  /**
   * Reads RegVersion: 0x12 is an SX1276-family chip. 0x22 (SX1272) is refused,
   * 0x00/0xFF mean nothing answers on SPI [sx127x.md §1].
   */
  async checkVersion(): Promise<void> {
    const v = await this.read(Reg.Version);
    if (v === ChipVersion.SX1276) return;
    if (v === ChipVersion.SX1272) {
      throw new ModemError('radio is an SX1272 (RegVersion 0x22): its register layout differs; pktfwd drives SX1276/77/78/79 and RFM95/96/98 only', 'ESX1272');
    }
    if (v === 0x00 || v === 0xff) {
      throw new ModemError(`no radio answers on SPI (RegVersion read 0x${v.toString(16).padStart(2, '0')}): check the SPI device, chip-select and reset pins`, 'ENORADIO');
    }
    throw new ModemError(`unexpected RegVersion 0x${v.toString(16)} (expected 0x12)`, 'EVERSION');
  }

  /**
   * Reaches LoRa SLEEP legally from any state: first SLEEP in the current
   * modem family, then LongRangeMode, which only changes in SLEEP [§3].
   */
  private async enterLoraSleep(): Promise<void> {
    const op = await this.read(Reg.OpMode);
    await this.write(Reg.OpMode, (op & OpModeBit.LongRangeMode) | Mode.SLEEP);
    await this.write(Reg.OpMode, OpModeBit.LongRangeMode | Mode.SLEEP);
  }

  /** Configures continuous LoRa reception on `ch`: the §12 sequence, steps 2–13. */
  async startRx(ch: RxChannel): Promise<void> {
    // RegRxPacketCntValue restarts at each entry into RX [SX1276 datasheet §6.4, RegRxPacketCntValue 0x16-0x17].
    this.validRead = 0;
    await this.enterLoraSleep();
    await this.writeBurst(Reg.FrfMsb, Uint8Array.from(frfBytes(ch.freqHz)));
    await this.write(Reg.SyncWord, ch.syncWord);
    await this.write(Reg.ModemConfig1, modemConfig1(ch.bwHz, ch.codeRate));
    await this.write(Reg.ModemConfig2, modemConfig2(ch.sf, true));
    await this.write(Reg.ModemConfig3, modemConfig3(ch.sf, ch.bwHz));
    // DetectOptimize 0x03 for SF7–12 [§8]; errata 2.3: bit 7 clear below 500 kHz, set at 500 [§9].
    const det = ((await this.read(Reg.DetectOptimize)) & 0xf8) | 0x03;
    await this.write(Reg.DetectOptimize, ch.bwHz === 500000 ? det | 0x80 : det & 0x7f);
    await this.write(Reg.DetectionThreshold, 0x0a);
    const e21 = errata21(ch.bwHz, ch.freqHz);
    await this.write(Reg.HighBwOptimize1, e21.highBwOptimize1);
    if (e21.highBwOptimize2 !== null) await this.write(Reg.HighBwOptimize2, e21.highBwOptimize2);
    if (ch.bwHz !== 500000) {
      await this.write(Reg.IfFreq2, 0x00);
      await this.write(Reg.IfFreq1, 0x40); // 62.5–250 kHz [§9]
    }
    // The gateway receives uplinks with normal I/Q [§10].
    await this.write(Reg.InvertIQ, InvertIq.RxNormal);
    await this.write(Reg.InvertIQ2, InvertIq.Iq2Normal);
    await this.write(Reg.Lna, 0x23); // max gain, HF boost [§12 step 11]
    await this.write(Reg.PayloadMaxLength, 0xff);
    await this.write(Reg.PreambleMsb, 0x00);
    await this.write(Reg.PreambleLsb, 0x08);
    await this.write(Reg.FifoRxBaseAddr, 0x00);
    await this.write(Reg.FifoAddrPtr, 0x00);
    await this.write(Reg.DioMapping1, Dio0Mapping.RxDone);
    await this.write(Reg.IrqFlagsMask, 0x00);
    await this.write(Reg.IrqFlags, 0xff);
    await this.write(Reg.OpMode, OpModeBit.LongRangeMode | Mode.RXCONTINUOUS);
  }

  /**
   * Loads a downlink and pre-arms the synthesiser (FSTX), so that only the
   * mode write of {@link fireTx} is left for the target time: the §13
   * sequence, steps 1–8.
   */
  async prepareTx(tx: ModemTx): Promise<void> {
    if (((await this.read(Reg.OpMode)) & OpModeBit.LongRangeMode) === 0) await this.enterLoraSleep();
    await this.write(Reg.OpMode, OpModeBit.LongRangeMode | Mode.STDBY); // FIFO is not accessible in sleep
    await this.writeBurst(Reg.FrfMsb, Uint8Array.from(frfBytes(tx.freqHz)));
    await this.write(Reg.PaConfig, tx.pa.paConfig);
    await this.write(Reg.PaDac, tx.pa.paDac);
    await this.write(Reg.Ocp, tx.pa.ocp);
    await this.write(Reg.ModemConfig1, modemConfig1(tx.bwHz, tx.codeRate, tx.implicitHeader ?? false));
    await this.write(Reg.ModemConfig2, modemConfig2(tx.sf, tx.crcOn));
    await this.write(Reg.ModemConfig3, modemConfig3(tx.sf, tx.bwHz));
    await this.write(Reg.PreambleMsb, (tx.preambleSymbols >> 8) & 0xff);
    await this.write(Reg.PreambleLsb, tx.preambleSymbols & 0xff);
    await this.write(Reg.HighBwOptimize1, errata21(tx.bwHz, tx.freqHz).highBwOptimize1);
    // TX inversion clears RegInvertIQ bit 0 and sets 0x3B to 0x19, as working code does [§10].
    await this.write(Reg.InvertIQ, tx.invertIq ? InvertIq.TxInverted : InvertIq.RxNormal);
    await this.write(Reg.InvertIQ2, tx.invertIq ? InvertIq.Iq2Inverted : InvertIq.Iq2Normal);
    await this.write(Reg.PayloadLength, tx.payload.length);
    await this.write(Reg.FifoTxBaseAddr, 0x00);
    await this.write(Reg.FifoAddrPtr, 0x00);
    await this.writeBurst(Reg.Fifo, tx.payload);
    await this.write(Reg.DioMapping1, Dio0Mapping.TxDone);
    await this.write(Reg.IrqFlags, 0xff);
    await this.write(Reg.OpMode, OpModeBit.LongRangeMode | Mode.FSTX);
  }

  /** Starts the loaded transmission: the one time-critical SPI write [§13 step 9]. */
  fireTx(): Promise<void> {
    return this.write(Reg.OpMode, OpModeBit.LongRangeMode | Mode.TX);
  }

  /** True once TxDone is set (the chip is back in standby by itself). */
  async txDone(): Promise<boolean> {
    return ((await this.read(Reg.IrqFlags)) & IrqFlag.TxDone) !== 0;
  }

  /**
   * Reads the frame behind RxDone, or null when RxDone is not set (the polled
   * path). Clears the IRQ flags either way [§12, "On a DIO0 rising edge"].
   */
  async readFrame(freqHz: number): Promise<ModemFrame | null> {
    const flags = await this.read(Reg.IrqFlags);
    if ((flags & IrqFlag.RxDone) === 0) return null;
    // Valid packets (CRC ok or none) since RX started, this one included; more than we read means overwrites.
    const cnt = ((await this.read(Reg.RxPacketCntValueMsb)) << 8) | (await this.read(Reg.RxPacketCntValueLsb));
    const hop = await this.read(Reg.HopChannel);
    // In explicit mode the header says whether a CRC was sent; without one there is nothing to check.
    const crcStatus: CrcStatus = (hop & HopChannelBit.CrcOnPayload) === 0 ? 'none' : flags & IrqFlag.PayloadCrcError ? 'bad' : 'ok';
    const length = await this.read(Reg.RxNbBytes);
    const start = await this.read(Reg.FifoRxCurrentAddr);
    await this.write(Reg.FifoAddrPtr, start);
    const payload = await this.readBurst(Reg.Fifo, length);
    const snrReg = await this.read(Reg.PktSnrValue);
    const rssiReg = await this.read(Reg.PktRssiValue);
    const modemStat = await this.read(Reg.ModemStat);
    await this.write(Reg.IrqFlags, 0xff);
    const snrDb = ((snrReg << 24) >> 24) / 4;
    const valid = crcStatus === 'bad' ? 0 : 1;
    const lostBefore = Math.max(0, ((cnt - this.validRead - valid) + 0x10000) % 0x10000);
    this.validRead = cnt;
    const frame: ModemFrame = { payload: Buffer.from(payload), crcStatus, snrDb, rssiDbm: packetRssi(rssiReg, snrDb, freqHz), lostBefore: lostBefore > 0x8000 ? 0 : lostBefore };
    const cr = codeRateFromModemStat(modemStat);
    if (cr) frame.codeRate = cr;
    return frame;
  }
}

/**
 * Packet RSSI, dBm [sx127x.md §11, LMN]: offset + Pkt + Pkt>>4, plus the SNR
 * when it is negative (the signal is below the noise).
 */
export function packetRssi(pktRssiReg: number, snrDb: number, freqHz: number): number {
  const offset = freqHz > RF_MID_BAND_THRESH_HZ ? RssiOffsetDb.HF : RssiOffsetDb.LF;
  const base = offset + pktRssiReg + (pktRssiReg >> 4);
  return snrDb < 0 ? base + snrDb : base;
}
