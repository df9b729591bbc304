/**
 * SX1276/77/78/79 (and RFM95W) LoRa-mode register facts, SX1276 layout.
 *
 * Sources: shared/reference/sx127x.md (section given per item), which in turn
 * cites LoRaMac-node `sx1276Regs-LoRa.h` [LMN], RadioLib [RL],
 * single_chan_pkt_fwd [SCPF] and arduino-LoRa [ALR]. Values marked
 * "(datasheet)" are from the Semtech SX1276 datasheet and not confirmed by those.
 */

/** LoRa-mode register addresses [sx127x.md §2; LMN sx1276Regs-LoRa.h]. */
export const Reg = {
  /** FIFO data port: each byte read or written moves RegFifoAddrPtr. */
  Fifo: 0x00,
  /** Operating mode, LoRa/FSK selection, LF/HF register bank (§3). */
  OpMode: 0x01,
  /** Carrier frequency, bits 23:16 of Frf (§4). */
  FrfMsb: 0x06,
  /** Carrier frequency, bits 15:8 of Frf (§4). */
  FrfMid: 0x07,
  /** Carrier frequency, bits 7:0 of Frf; the new frequency applies on this write (§4, datasheet). */
  FrfLsb: 0x08,
  /** PA selection and output power (§5). */
  PaConfig: 0x09,
  /** PA ramp time, bits 3:0 (§2). */
  PaRamp: 0x0a,
  /** Over-current protection (§5). */
  Ocp: 0x0b,
  /** LNA gain and boost (§6). */
  Lna: 0x0c,
  /** SPI pointer into the 256-byte FIFO. */
  FifoAddrPtr: 0x0d,
  /** Where TX takes its payload from. */
  FifoTxBaseAddr: 0x0e,
  /** Where RX starts writing payloads. */
  FifoRxBaseAddr: 0x0f,
  /** Start address of the last packet received (read-only). */
  FifoRxCurrentAddr: 0x10,
  /** IRQ mask, same bits as RegIrqFlags; 1 = masked (§7). */
  IrqFlagsMask: 0x11,
  /** IRQ flags, write 1 to clear (§7). */
  IrqFlags: 0x12,
  /** Payload length of the last packet received (read-only). */
  RxNbBytes: 0x13,
  /** Valid headers received since entering RX, bits 15:8 (read-only). */
  RxHeaderCntValueMsb: 0x14,
  /** Valid headers received since entering RX, bits 7:0 (read-only). */
  RxHeaderCntValueLsb: 0x15,
  /** Valid packets received since entering RX, bits 15:8 (read-only). */
  RxPacketCntValueMsb: 0x16,
  /** Valid packets received since entering RX, bits 7:0 (read-only). */
  RxPacketCntValueLsb: 0x17,
  /** Bits 7:5 coding rate of the last header, bits 4:0 modem status (read-only). */
  ModemStat: 0x18,
  /** SNR of the last packet, int8 in 0.25 dB steps (read-only, §11). */
  PktSnrValue: 0x19,
  /** RSSI of the last packet, offset applied by the reader (read-only, §11). */
  PktRssiValue: 0x1a,
  /** Current RSSI (read-only, §11). */
  RssiValue: 0x1b,
  /** Bit 7 PllTimeout, bit 6 CrcOnPayload from the received header, bits 5:0 FHSS channel (read-only). */
  HopChannel: 0x1c,
  /** Bandwidth, coding rate, implicit header (§8). */
  ModemConfig1: 0x1d,
  /** Spreading factor, TX continuous, RxPayloadCrcOn, SymbTimeout 9:8 (§8). */
  ModemConfig2: 0x1e,
  /** RX single timeout in symbols, bits 7:0. */
  SymbTimeoutLsb: 0x1f,
  /** Preamble length in symbols, bits 15:8. */
  PreambleMsb: 0x20,
  /** Preamble length in symbols, bits 7:0. */
  PreambleLsb: 0x21,
  /** Payload length for TX and implicit-header RX. */
  PayloadLength: 0x22,
  /** Longest payload accepted on RX. */
  PayloadMaxLength: 0x23,
  /** Symbol periods between frequency hops. */
  HopPeriod: 0x24,
  /** Current RX write address in the FIFO (read-only). */
  FifoRxByteAddr: 0x25,
  /** Low-data-rate optimisation, AGC auto (§8). */
  ModemConfig3: 0x26,
  /** Frequency error indicator, bits 19:16 (read-only). */
  FeiMsb: 0x28,
  /** Frequency error indicator, bits 15:8 (read-only). */
  FeiMid: 0x29,
  /** Frequency error indicator, bits 7:0 (read-only). */
  FeiLsb: 0x2a,
  /** Wideband RSSI, a random source (read-only). */
  RssiWideband: 0x2c,
  /** IF frequency, errata 2.3 (§9). */
  IfFreq1: 0x2f,
  /** IF frequency, errata 2.3 (§9). */
  IfFreq2: 0x30,
  /** Bits 2:0 detection optimise, bit 7 automatic IF (§8, §9). */
  DetectOptimize: 0x31,
  /** I/Q inversion, bit 6 RX, bit 0 TX (§10). */
  InvertIQ: 0x33,
  /** Errata 2.1 (§9). */
  HighBwOptimize1: 0x36,
  /** LoRa detection threshold (§8). */
  DetectionThreshold: 0x37,
  /** LoRa sync word: 0x34 public, 0x12 private [LMN sx1276.h]. */
  SyncWord: 0x39,
  /** Errata 2.1 (§9). */
  HighBwOptimize2: 0x3a,
  /** Second I/Q inversion register (§10). */
  InvertIQ2: 0x3b,
  /** Mapping of DIO0..DIO3 (§7). */
  DioMapping1: 0x40,
  /** Mapping of DIO4, DIO5 (§7). */
  DioMapping2: 0x41,
  /** Silicon version: 0x12 for SX1276/77/78/79 and RFM95W, 0x22 for SX1272/73 (§1). */
  Version: 0x42,
  /** Bit 7 FastHopOn. */
  PllHop: 0x44,
  /** Bit 4 TcxoInputOn. */
  Tcxo: 0x4b,
  /** High-power PA: 0x84 default, 0x87 enables +20 dBm on PA_BOOST (§5). */
  PaDac: 0x4d,
} as const;

/** Highest register address; address bit 7 is the write flag [sx127x.md §1]. */
export const REG_LAST = 0x7f;
/** Write flag in the SPI address byte [sx127x.md §1]. */
export const SPI_WRITE_BIT = 0x80;
/** Size of the LoRa FIFO in bytes (datasheet). */
export const FIFO_SIZE = 256;

/** RegVersion values [sx127x.md §1]. */
export const ChipVersion = {
  /** SX1276/77/78/79, RFM95W. */
  SX1276: 0x12,
  /** SX1272/73 (different ModemConfig layout, §8). */
  SX1272: 0x22,
} as const;

/** RegOpMode bits [sx127x.md §3; LMN RFLR_OPMODE_*]. */
export const OpModeBit = {
  /** 1 = LoRa; may only change while the mode is SLEEP. */
  LongRangeMode: 0x80,
  /** 1 = in LoRa mode, 0x0D..0x3F address the FSK registers. */
  AccessSharedReg: 0x40,
  /** 1 = LF register bank (set at reset); 0 for 868/915 MHz. */
  LowFrequencyModeOn: 0x08,
  /** Mask of the mode field, bits 2:0. */
  ModeMask: 0x07,
} as const;

/** RegOpMode bits 2:0 [sx127x.md §3; LMN RFLR_OPMODE_*]. */
export const Mode = {
  /** Sleep: lowest power; FIFO not accessible. */
  SLEEP: 0,
  /** Standby: crystal on; FIFO accessible. */
  STDBY: 1,
  /** Frequency synthesis for TX (pre-arm). */
  FSTX: 2,
  /** Transmit one packet, then back to standby. */
  TX: 3,
  /** Frequency synthesis for RX. */
  FSRX: 4,
  /** Receive until told otherwise. */
  RXCONTINUOUS: 5,
  /** Receive one packet or time out, then standby. */
  RXSINGLE: 6,
  /** Channel activity detection. */
  CAD: 7,
} as const;

/** A value of the RegOpMode mode field. */
export type ModeValue = (typeof Mode)[keyof typeof Mode];

/** RegIrqFlags / RegIrqFlagsMask bits [sx127x.md §7]. */
export const IrqFlag = {
  /** RX single timed out. */
  RxTimeout: 0x80,
  /** A packet was received (also set on a CRC error). */
  RxDone: 0x40,
  /** The payload CRC did not match. */
  PayloadCrcError: 0x20,
  /** A valid header was received. */
  ValidHeader: 0x10,
  /** The transmission completed. */
  TxDone: 0x08,
  /** CAD completed. */
  CadDone: 0x04,
  /** FHSS: time to change channel. */
  FhssChangeChannel: 0x02,
  /** CAD saw a LoRa preamble. */
  CadDetected: 0x01,
} as const;

/** RegDioMapping1 DIO0 field, bits 7:6 [sx127x.md §7; LMN RFLR_DIOMAPPING1_DIO0_*]. */
export const Dio0Mapping = {
  /** Mask of the DIO0 field. */
  Mask: 0xc0,
  /** DIO0 = RxDone (use while receiving). */
  RxDone: 0x00,
  /** DIO0 = TxDone (use while transmitting). */
  TxDone: 0x40,
  /** DIO0 = CadDone. */
  CadDone: 0x80,
} as const;

/** RegModemConfig1 fields, SX1276 layout [sx127x.md §8]. */
export const ModemConfig1 = {
  /** Bandwidth field, bits 7:4. */
  BwMask: 0xf0,
  /** Shift of the bandwidth field. */
  BwShift: 4,
  /** Coding-rate field, bits 3:1 (1 = 4/5 … 4 = 4/8). */
  CrMask: 0x0e,
  /** Shift of the coding-rate field. */
  CrShift: 1,
  /** Implicit header mode (no header on air). */
  ImplicitHeaderModeOn: 0x01,
} as const;

/** RegModemConfig1 bandwidth codes in Hz, index = field value [sx127x.md §8]. */
export const BANDWIDTH_HZ_BY_CODE: readonly number[] = [
  7800, 10400, 15600, 20800, 31250, 41700, 62500, 125000, 250000, 500000,
];

/** RegModemConfig2 fields [sx127x.md §8]. */
export const ModemConfig2 = {
  /** Spreading-factor field, bits 7:4 (6..12). */
  SfMask: 0xf0,
  /** Shift of the spreading-factor field. */
  SfShift: 4,
  /** Continuous TX (test mode). */
  TxContinuousMode: 0x08,
  /** CRC generated on TX; checked on RX only in implicit mode. */
  RxPayloadCrcOn: 0x04,
  /** SymbTimeout bits 9:8. */
  SymbTimeoutMsbMask: 0x03,
} as const;

/** RegModemConfig3 bits [sx127x.md §8]. */
export const ModemConfig3 = {
  /** Required when the symbol time exceeds 16 ms (SF11/12 at 125 kHz, SF12 at 250 kHz). */
  LowDataRateOptimize: 0x08,
  /** The AGC sets the LNA gain. */
  AgcAutoOn: 0x04,
} as const;

/** RegHopChannel bits [sx127x.md §2]. */
export const HopChannelBit = {
  /** The PLL failed to lock. */
  PllTimeout: 0x80,
  /** The last received header announced a payload CRC. */
  CrcOnPayload: 0x40,
} as const;

/** RegInvertIQ / RegInvertIQ2 values used by LoRaWAN gateways [sx127x.md §10]. */
export const InvertIq = {
  /** RegInvertIQ bit 6: invert RX I/Q. */
  RxBit: 0x40,
  /** RegInvertIQ bit 0: 1 = normal TX I/Q, 0 = inverted (working code, not the datasheet wording). */
  TxNormalBit: 0x01,
  /** RegInvertIQ for gateway RX (normal). */
  RxNormal: 0x27,
  /** RegInvertIQ for a downlink (TX inverted). */
  TxInverted: 0x26,
  /** RegInvertIQ2 with normal I/Q. */
  Iq2Normal: 0x1d,
  /** RegInvertIQ2 with inverted I/Q. */
  Iq2Inverted: 0x19,
} as const;

/** Packet RSSI offsets in dB [sx127x.md §11; LMN RSSI_OFFSET_HF/LF]. */
export const RssiOffsetDb = {
  /** HF port, above 525 MHz. */
  HF: -157,
  /** LF port. */
  LF: -164,
} as const;

/** HF/LF port boundary in Hz [sx127x.md §1; LMN RF_MID_BAND_THRESH]. */
export const RF_MID_BAND_THRESH_HZ = 525_000_000;
/** Frequency synthesiser step: 32 MHz / 2^19 [sx127x.md §1]. */
export const FREQ_STEP_HZ = 32e6 / 2 ** 19;
