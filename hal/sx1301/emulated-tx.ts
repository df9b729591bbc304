/**
 * The SX1301 emulator's transmitter (sx1301-emulator.ts): the TX buffer
 * decoded at the trigger (tx-metadata.ts), the RF start TX_START_DELAY µs
 * after the trigger instant (now, the trigger count, the next PPS edge), the
 * time on air, TX_STATUS by the counter, each emission recorded when it
 * starts.
 */
import { counterDiffUs } from '../types.js';
import { frameAirtimeUs } from '../lora/time-on-air.js';
import type { Sx1301Emission } from './sx1301-emulator-types.js';
import { decodeTxBuffer, txFrequencyHz, type DecodedTxBuffer } from './tx-metadata.js';


interface PendingTx {
  trigger: Sx1301Emission['trigger'];
  frame: DecodedTxBuffer;
  buffer: Buffer;
  startDelayUs: number;
  airtimeUs: number;
  freqHz: number;
  /** Counter value of the RF start; null while waiting for a PPS edge. */
  startUs: number | null;
  timer: NodeJS.Timeout | null;
  emitted: boolean;
  /** FSK: the sync word sent (hex). */
  fskSyncWord?: string;
}

/** What the transmitter needs from the chip at a trigger. */
export interface TriggerContext {
  startDelayUs: number;
  radioTypes: ['SX1257' | 'SX1255', 'SX1257' | 'SX1255'];
  /** The TX frequency MSBs the AGC firmware was given. */
  freqMsbs: number;
  /** FSK_TX_PSIZE + 1 and the 64-bit FSK_REF_PATTERN at the trigger: the sync word an FSK frame starts with. */
  fskSync: { bytes: number; pattern: bigint };
}

export class EmulatedTx {
  readonly emissions: Sx1301Emission[] = [];
  private tx: PendingTx | null = null;
  private readonly listeners: ((e: Sx1301Emission) => void)[] = [];

  constructor(private readonly counterUs: () => number) {}

  onEmission(listener: (e: Sx1301Emission) => void): void {
    this.listeners.push(listener);
  }

  /** TX_STATUS: 0x90 scheduled, 0xB0 emitting, 0x80 free. */
  statusByte(): number {
    const tx = this.tx;
    if (!tx) return 0x80;
    const now = this.counterUs();
    if (tx.startUs === null || counterDiffUs(now, tx.startUs) < 0) return 0x90;
    this.emit(tx); // the frame has started even if its timer has not run yet
    if (counterDiffUs(now, tx.startUs) < tx.airtimeUs) return 0xb0;
    this.finish(tx);
    return 0x80;
  }

  /** A write to TX_TRIG_ALL: 0 aborts; a newly set bit triggers. Returns a violation message, or null. */
  trigger(before: number, v: number, buffer: Uint8Array, ctx: TriggerContext): string | null {
    if (v === 0) {
      this.cancel();
      return null;
    }
    const rising = v & ~before & 0x07;
    if (rising === 0) return null;
    const trigger = rising & 0x01 ? 'immediate' : rising & 0x02 ? 'timestamped' : 'pps';
    const frame = decodeTxBuffer(buffer);
    if (typeof frame === 'string') return `TX trigger with a buffer the chip cannot send: ${frame}`;
    const size = frame.radio.modulation === 'FSK' ? 17 + frame.payload.length : 16 + frame.payload.length;
    const air = frameAirtimeUs({ radio: frame.radio, payload: frame.payload, preambleSymbols: frame.preamble, noCrc: frame.noCrc, noHeader: frame.noHeader });
    if (!air.ok) return `TX trigger with a frame that has no time on air: ${air.reason}`;
    this.cancel();
    const tx: PendingTx = {
      trigger, frame, buffer: Buffer.from(buffer.subarray(0, size)), startDelayUs: ctx.startDelayUs, airtimeUs: air.us,
      freqHz: txFrequencyHz(ctx.radioTypes[frame.rfChain], frame.pll, ctx.freqMsbs, frame.pllBits), startUs: null, timer: null, emitted: false,
    };
    // The sync word goes out left-aligned from the 64-bit pattern: FSK_TX_PSIZE + 1 bytes of it.
    if (frame.radio.modulation === 'FSK') tx.fskSyncWord = (ctx.fskSync.pattern >> BigInt(64 - 8 * ctx.fskSync.bytes)).toString(16).padStart(2 * ctx.fskSync.bytes, '0');
    this.tx = tx;
    if (trigger === 'immediate') this.schedule(tx, (this.counterUs() + ctx.startDelayUs) >>> 0);
    else if (trigger === 'timestamped') this.schedule(tx, (frame.triggerCount + ctx.startDelayUs) >>> 0);
    return null;
  }

  /** A PPS edge at counter `now`: a frame waiting for it starts TX_START_DELAY later. */
  ppsEdge(now: number): void {
    const tx = this.tx;
    if (tx && tx.trigger === 'pps' && tx.startUs === null) this.schedule(tx, (now + tx.startDelayUs) >>> 0);
  }

  /** Fixes the RF start and records the emission when the counter gets there. */
  private schedule(tx: PendingTx, startUs: number): void {
    tx.startUs = startUs;
    const fire = () => {
      if (this.tx !== tx) return;
      const ahead = counterDiffUs(startUs, this.counterUs());
      // Timers may fire early by up to a millisecond; the chip never does.
      if (ahead > 0) {
        tx.timer = setTimeout(fire, Math.max(0, Math.ceil(ahead / 1000)));
        tx.timer.unref();
        return;
      }
      this.emit(tx);
      tx.timer = setTimeout(() => this.finish(tx), Math.ceil(tx.airtimeUs / 1000) + 1);
      tx.timer.unref();
    };
    const ahead = counterDiffUs(startUs, this.counterUs());
    // A trigger count already passed waits for the counter to wrap, as the chip does (the timer re-arms).
    tx.timer = setTimeout(fire, Math.max(0, Math.min(2 ** 31 - 1, Math.ceil((ahead < 0 ? ahead + 2 ** 32 : ahead) / 1000))));
    tx.timer.unref();
  }

  private emit(tx: PendingTx): void {
    if (tx.emitted || tx.startUs === null) return;
    tx.emitted = true;
    const f = tx.frame;
    const e: Sx1301Emission = {
      trigger: tx.trigger, startUs: tx.startUs, airtimeUs: tx.airtimeUs, freqHz: tx.freqHz, rfChain: f.rfChain, lutIndex: f.lutIndex,
      radio: f.radio, invertIq: f.invertIq, noCrc: f.noCrc, noHeader: f.noHeader, preamble: f.preamble, payload: f.payload,
      startDelayUs: tx.startDelayUs, buffer: tx.buffer, ...(f.fdevHz !== undefined ? { fdevHz: f.fdevHz } : {}),
      ...(tx.fskSyncWord !== undefined ? { fskSyncWord: tx.fskSyncWord } : {}),
    };
    this.emissions.push(e);
    for (const l of this.listeners) l(e);
  }

  private finish(tx: PendingTx): void {
    this.emit(tx); // a status read past the start sees it even if the timer has not run yet
    if (tx.timer) clearTimeout(tx.timer);
    if (this.tx === tx) this.tx = null;
  }

  /** Abort, soft reset or close: nothing pending any more. */
  cancel(): void {
    if (this.tx?.timer) clearTimeout(this.tx.timer);
    this.tx = null;
  }
}
