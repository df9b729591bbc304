/**
 * The per-packet log lines: one per uplink (what the radio heard and what
 * became of it) and one per downlink outcome (sent, or the TX_ACK error and
 * why). Here are their fields, for JSON lines, and how they read in pretty
 * mode (log.ts shows an entry with one of these messages as its one line):
 *
 *   uplink 868.100 MHz SF7BW125 RSSI -57 SNR 9.5 23 B CRC ok UnconfirmedDataUp DevAddr 26011BDA FCnt 12 → forwarded
 *   downlink 869.525 MHz SF9BW125 14 dBm 13 B class A UnconfirmedDataDown DevAddr 26011BDA FCnt 3 → sent, start +4 µs
 *
 * They are at info, except the outcomes that mean trouble (warn, error):
 * `log_level: "warn"` turns the per-packet lines off and keeps those.
 */
import type { RxPacket, TxPacket } from '../hal/index.js';
import { datrOf } from './protocol/index.js';
import type { TxRequest } from './protocol/txpk.js';
import { decodeLorawanHeader, describeLorawan, type LorawanHeader } from './monitor/lorawan.js';

/** What the upstream loop did with an uplink (the monitor's vocabulary). */
export type UplinkOutcome = 'forwarded' | 'buffered' | 'filtered' | 'lost';

/** Messages of the per-packet lines (the keys of their pretty views). */
export const PACKET_MSG = {
  uplink: 'uplink',
  sent: 'downlink sent',
  rejected: 'downlink rejected',
  refused: 'downlink refused by the radio',
  failed: 'downlink hand-over failed',
  expired: 'downlink expired in the queue',
  lostToRestart: 'downlink dropped: the radio restarted',
  startNotReported: 'downlink start not reported by the radio',
} as const;

/** Rounds to one decimal (RSSI, SNR: the radios measure no finer). */
export const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Adds the LoRaWAN header fields of `payload` to `into` (`lorawan: false`
 * when it cannot be LoRaWAN). Written field by field, not spread: this runs
 * for every uplink.
 */
function addHeader(into: Record<string, unknown>, payload: Uint8Array): void {
  const h = decodeLorawanHeader(payload);
  if (!h) {
    into.lorawan = false;
    return;
  }
  into.mtype = h.mtype;
  if (h.devAddr !== undefined) into.devAddr = h.devAddr;
  if (h.fcnt !== undefined) into.fcnt = h.fcnt;
  if (h.fport !== undefined) into.fport = h.fport;
  if (h.joinEui !== undefined) into.joinEui = h.joinEui;
  if (h.devEui !== undefined) into.devEui = h.devEui;
}

/**
 * The fields of an uplink's line. `outcomes` has one entry per server that
 * takes uplinks, in order, each with its host:port; `outcome` is the first
 * one's, and `outcomes` is written only when they differ. A frame with a bad
 * CRC is not decoded: its header bytes would be noise.
 */
export function uplinkFields(p: RxPacket, outcomes: { server: string; outcome: UplinkOutcome }[]): Record<string, unknown> {
  const outcome = outcomes[0]?.outcome ?? 'lost';
  const e: Record<string, unknown> = {
    tmst: p.countUs, freqHz: p.freqHz, datr: datrOf(p.radio), chan: p.ifChain, rfch: p.rfChain, rssi: round1(p.rssiDbm),
  };
  if (p.snrDb !== undefined) e.snr = round1(p.snrDb);
  e.size = p.payload.length;
  e.crc = p.crcStatus;
  if (p.crcStatus !== 'bad') addHeader(e, p.payload);
  e.outcome = outcome;
  for (let i = 1; i < outcomes.length; i++) {
    if (outcomes[i]!.outcome !== outcome) {
      e.outcomes = Object.fromEntries(outcomes.map((o) => [o.server, o.outcome]));
      break;
    }
  }
  return e;
}

/** A downlink's class from its timing, as the JIT queue has it. */
export function downlinkClass(req: TxRequest): 'A' | 'B' | 'C' {
  return req.timing.kind === 'immediate' ? 'C' : req.timing.kind === 'tmms' ? 'B' : 'A';
}

/** The fields every line of a downlink carries: its token, radio settings and LoRaWAN header. */
export function downlinkFields(req: TxRequest, token: number): Record<string, unknown> {
  const e: Record<string, unknown> = { token, class: downlinkClass(req), freqHz: req.freqHz, datr: datrOf(req.radio), powerDbm: req.powerDbm ?? null, size: req.payload.length };
  addHeader(e, req.payload);
  return e;
}

/** The same fields for a frame as handed to the radio (beacons, frames not from a request). */
export function txPacketFields(p: TxPacket): Record<string, unknown> {
  const e: Record<string, unknown> = { freqHz: p.freqHz, datr: datrOf(p.radio), powerDbm: p.powerDbm, size: p.payload.length, countUs: p.countUs };
  addHeader(e, p.payload);
  return e;
}

/** 868100000 → "868.100 MHz"; a frequency off the kHz grid keeps its Hz. */
export function formatMHz(hz: unknown): string {
  if (typeof hz !== 'number') return '? MHz';
  return `${(hz / 1e6).toFixed(hz % 1000 === 0 ? 3 : 6)} MHz`;
}

const datrText = (d: unknown) => (typeof d === 'number' ? `FSK ${d / 1000} kbit/s` : String(d));
const signed = (n: number) => (n >= 0 ? `+${n}` : `${n}`);

const UPLINK_OUTCOME_TEXT: Record<string, (e: Record<string, unknown>) => string> = {
  forwarded: () => 'forwarded',
  buffered: () => 'buffered (server not acknowledging)',
  lost: () => 'lost (server address not resolved)',
  filtered: (e) => `dropped (CRC ${String(e.crc)}: forward_crc_${e.crc === 'ok' ? 'valid' : e.crc === 'bad' ? 'error' : 'disabled'} is false)`,
};

function uplinkOutcomeText(e: Record<string, unknown>): string {
  const text = (o: unknown) => {
    const f = UPLINK_OUTCOME_TEXT[String(o)];
    return f ? f(e) : String(o);
  };
  if (e.outcomes && typeof e.outcomes === 'object') {
    return Object.entries(e.outcomes as Record<string, unknown>).map(([server, o]) => `${server} ${text(o)}`).join(', ');
  }
  return text(e.outcome);
}

/** An uplink entry as one line. */
export function uplinkLine(e: Record<string, unknown>): string {
  const snr = typeof e.snr === 'number' ? ` SNR ${e.snr}` : '';
  const mac = e.crc === 'bad' ? '' : ` ${describeLorawan(e as Partial<LorawanHeader>)}`;
  return `uplink ${formatMHz(e.freqHz)} ${datrText(e.datr)} RSSI ${String(e.rssi)}${snr} ${String(e.size)} B CRC ${String(e.crc)}${mac} → ${uplinkOutcomeText(e)}`;
}

const DOWNLINK_OUTCOME_TEXT: Record<string, (e: Record<string, unknown>) => string> = {
  [PACKET_MSG.sent]: (e) => `sent${typeof e.startErrorUs === 'number' ? `, start ${signed(e.startErrorUs)} µs` : ''}`,
  [PACKET_MSG.rejected]: (e) => `rejected, TX_ACK ${String(e.error)}: ${String(e.reason)}`,
  [PACKET_MSG.refused]: (e) => `refused by the radio (${String(e.error)}${e.detail ? `: ${String(e.detail)}` : ''}), TX_ACK was OK`,
  [PACKET_MSG.failed]: (e) => `hand-over to the radio failed: ${String(e.err)}${e.code ? ` (${String(e.code)})` : ''}`,
  [PACKET_MSG.expired]: (e) => `expired in the queue, ${String(e.lateUs)} µs late at hand-over`,
  [PACKET_MSG.startNotReported]: () => 'handed to the radio; its start was not reported',
};

/** A downlink outcome entry as one line. */
export function downlinkLine(e: Record<string, unknown>): string {
  const power = typeof e.powerDbm === 'number' ? ` ${e.powerDbm} dBm` : '';
  const cls = e.class ? ` class ${String(e.class)}` : '';
  const outcome = DOWNLINK_OUTCOME_TEXT[String(e.msg)];
  return `downlink ${formatMHz(e.freqHz)} ${datrText(e.datr)}${power} ${String(e.size)} B${cls} ${describeLorawan(e as Partial<LorawanHeader>)} → ${outcome ? outcome(e) : String(e.msg)}`;
}

/** Pretty views of the per-packet lines, by message. */
export const PACKET_VIEWS: Record<string, (e: Record<string, unknown>) => string> = {
  [PACKET_MSG.uplink]: uplinkLine,
  ...Object.fromEntries(Object.values(PACKET_MSG).filter((m) => m !== PACKET_MSG.uplink).map((m) => [m, downlinkLine])),
};
