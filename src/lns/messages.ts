/**
 * LNS protocol messages (JSON text over the WebSocket) [Basics Station docs
 * "The LNS Protocol": updf, jreq, propdf, upinfo, dnmsg, dntxed, timesync,
 * getxtime]. Pure: encode from the radio's frame and times, decode the
 * server's text into checked values.
 *
 * `xtime` is a 63-bit integer: above 2^53 a JavaScript number loses its low
 * bits, so it is carried as a BigInt and written/read as JSON digits by hand.
 */
import type { RadioParams, RxPacket, SpreadingFactor, LoraBandwidthHz } from '../../hal/index.js';

/** One entry of router_config's DRs table: LoRa SF and bandwidth, or FSK (sf 0). */
export interface DataRate {
  /** 7..12 LoRa; 0 FSK 50 kbit/s; -1 undefined. */
  sf: number;
  bwKhz: number;
  /** Downlink only (US915 DR8-13). */
  dnOnly: boolean;
}

/** `"xtime":123…` → `"xtime":"123…"` so JSON.parse keeps every digit. */
function quoteBigFields(text: string): string {
  return text.replace(/"(xtime)"\s*:\s*(-?\d+)/g, '"$1":"$2"');
}

/** JSON text with BigInt values written as plain integers. */
export function stringifyLns(obj: Record<string, unknown>): string {
  return JSON.stringify(obj, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000big:${v}` : v)).replace(/"\\u0000big:(-?\d+)"/g, '$1');
}

/** Parses a server message; `xtime` fields come back as BigInt. */
export function parseLns(text: string): { ok: true; msg: Record<string, unknown> } | { ok: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(quoteBigFields(text), (k, val: unknown) => (k === 'xtime' && typeof val === 'string' && /^-?\d+$/.test(val) ? BigInt(val) : val));
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'not a JSON object' };
  return { ok: true, msg: v as Record<string, unknown> };
}

/** EUI as the LNS protocol writes it: `00-11-22-33-44-55-66-77`, most significant byte first. */
export function euiDashed(bytesMsbFirst: Uint8Array): string {
  return Array.from(bytesMsbFirst, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join('-');
}

/**
 * The router id as Basics Station's ID6 text (four 16-bit groups, leading
 * zeros dropped, `::` for the longest run of zero groups), e.g.
 * b827:ebff:fe61:d4d [Basics Station docs "Glossary": ID6].
 */
export function id6(eui: Buffer): string {
  const g = [0, 2, 4, 6].map((i) => eui.readUInt16BE(i));
  let best = -1, bestLen = 0;
  for (let i = 0; i < 4; i++) {
    let n = 0;
    while (i + n < 4 && g[i + n] === 0) n++;
    if (n > bestLen) [best, bestLen] = [i, n];
  }
  const hex = (x: number) => x.toString(16);
  if (bestLen < 2) return g.map(hex).join(':');
  return `${g.slice(0, best).map(hex).join(':')}::${g.slice(best + bestLen).map(hex).join(':')}`;
}

/** Index of the DRs entry for a received frame's modulation (uplink entries first), or -1. */
export function uplinkDr(drs: readonly DataRate[], radio: RadioParams): number {
  const match = (d: DataRate) => (radio.modulation === 'FSK' ? d.sf === 0 : d.sf === radio.spreadingFactor && d.bwKhz * 1000 === radio.bandwidthHz);
  const up = drs.findIndex((d) => !d.dnOnly && match(d));
  return up >= 0 ? up : drs.findIndex(match);
}

/** Radio settings of a downlink data rate, or null when the table has no such LoRa/FSK entry. */
export function drRadio(drs: readonly DataRate[], dr: number): RadioParams | null {
  const d = drs[dr];
  if (!d) return null;
  if (d.sf === 0) return { modulation: 'FSK', datarateBps: 50_000 };
  if (d.sf < 7 || d.sf > 12 || ![125, 250, 500].includes(d.bwKhz)) return null;
  return { modulation: 'LORA', spreadingFactor: d.sf as SpreadingFactor, bandwidthHz: (d.bwKhz * 1000) as LoraBandwidthHz, codeRate: '4/5' };
}

/** Times of one reception, for `upinfo`. */
export interface UpTimes {
  xtime: bigint;
  /** µs since the GPS epoch, 0 without a precise GPS time. */
  gpstimeUs: number;
  /** Wall clock at reception, s since the Unix epoch. */
  rxtimeS: number;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex').toUpperCase();

/**
 * The message of one received frame: `jreq` (join request), `updf` (data
 * up), `propdf` (proprietary), or a reason it has none (not a LoRaWAN uplink
 * the protocol carries: its server could not use it).
 * MIC and DevAddr are the little-endian words read as signed 32-bit integers,
 * as Basics Station writes them.
 */
export function encodeUplink(p: RxPacket, dr: number, t: UpTimes): { ok: true; text: string; msgtype: string } | { ok: false; reason: string } {
  const f = Buffer.from(p.payload.buffer, p.payload.byteOffset, p.payload.byteLength);
  const upinfo = { rctx: p.rfChain, xtime: t.xtime, gpstime: t.gpstimeUs, fts: -1, rssi: Math.round(p.rssiDbm), snr: p.snrDb === undefined ? 0 : Math.round(p.snrDb * 10) / 10, rxtime: Math.round(t.rxtimeS * 1e6) / 1e6 };
  const common = { DR: dr, Freq: p.freqHz, upinfo };
  if (f.length < 1) return { ok: false, reason: 'empty frame' };
  const mtype = f[0]! >> 5;
  if (mtype === 0) {
    if (f.length !== 23) return { ok: false, reason: `join request of ${f.length} bytes (LoRaWAN: 23)` };
    const joinEui = Buffer.from(f.subarray(1, 9)).reverse();
    const devEui = Buffer.from(f.subarray(9, 17)).reverse();
    return { ok: true, msgtype: 'jreq', text: stringifyLns({ msgtype: 'jreq', MHdr: f[0], JoinEui: euiDashed(joinEui), DevEui: euiDashed(devEui), DevNonce: f.readUInt16LE(17), MIC: f.readInt32LE(19), ...common }) };
  }
  if (mtype === 2 || mtype === 4) {
    if (f.length < 12) return { ok: false, reason: `data frame of ${f.length} bytes (LoRaWAN: at least 12)` };
    const fctrl = f[5]!;
    const foptsLen = fctrl & 0x0f;
    const end = f.length - 4;
    if (8 + foptsLen > end) return { ok: false, reason: `FOpts length ${foptsLen} runs past the frame` };
    const hasPort = end > 8 + foptsLen;
    return {
      ok: true, msgtype: 'updf',
      text: stringifyLns({
        msgtype: 'updf', MHdr: f[0], DevAddr: f.readInt32LE(1), FCtrl: fctrl, FCnt: f.readUInt16LE(6), FOpts: hex(f.subarray(8, 8 + foptsLen)),
        FPort: hasPort ? f[8 + foptsLen] : -1, FRMPayload: hasPort ? hex(f.subarray(9 + foptsLen, end)) : '', MIC: f.readInt32LE(end), RefTime: 0, ...common,
      }),
    };
  }
  if (mtype === 7) return { ok: true, msgtype: 'propdf', text: stringifyLns({ msgtype: 'propdf', FRMPayload: hex(f), ...common }) };
  return { ok: false, reason: `LoRaWAN message type ${mtype} is not an uplink the LNS protocol carries` };
}

/** A checked `dnmsg`. */
export interface DnMsg {
  diid: number;
  devEui: string;
  /** 0 class A, 1 class B, 2 class C. */
  dC: number;
  pdu: Uint8Array;
  rctx: number;
  priority: number;
  /** Class A (and class C when given): the uplink's xtime and RX1/RX2 windows. */
  xtime: bigint | null;
  rxDelayS: number;
  rx1: { dr: number; freqHz: number } | null;
  rx2: { dr: number; freqHz: number } | null;
  /** Class B: GPS time of the ping slot, µs, with its DR/Freq. */
  gpstimeUs: number | null;
  slot: { dr: number; freqHz: number } | null;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Checks a `dnmsg` object (from parseLns); a reason names the first bad field. */
export function decodeDnmsg(m: Record<string, unknown>): { ok: true; dn: DnMsg } | { ok: false; reason: string } {
  if (!isInt(m.diid)) return { ok: false, reason: 'diid: expected an integer' };
  const dC = m.dC ?? 0;
  if (dC !== 0 && dC !== 1 && dC !== 2) return { ok: false, reason: `dC: expected 0, 1 or 2, got ${JSON.stringify(m.dC)}` };
  if (typeof m.pdu !== 'string' || !/^(?:[0-9A-Fa-f]{2})*$/.test(m.pdu)) return { ok: false, reason: 'pdu: expected hex digits' };
  const pdu = Buffer.from(m.pdu, 'hex');
  if (pdu.length === 0 || pdu.length > 255) return { ok: false, reason: `pdu: ${pdu.length} bytes (1..255)` };
  const win = (drKey: string, fKey: string): { dr: number; freqHz: number } | null | string => {
    if (m[drKey] === undefined && m[fKey] === undefined) return null;
    if (!isInt(m[drKey]) || (m[drKey] as number) < 0 || (m[drKey] as number) > 15) return `${drKey}: expected a data rate index 0..15`;
    if (!isInt(m[fKey]) || (m[fKey] as number) < 100e6 || (m[fKey] as number) > 1100e6) return `${fKey}: expected a frequency in Hz`;
    return { dr: m[drKey] as number, freqHz: m[fKey] as number };
  };
  const rx1 = win('RX1DR', 'RX1Freq');
  const rx2 = win('RX2DR', 'RX2Freq');
  const slot = win('DR', 'Freq');
  for (const w of [rx1, rx2, slot]) if (typeof w === 'string') return { ok: false, reason: w };
  const xtime = typeof m.xtime === 'bigint' ? m.xtime : m.xtime === undefined ? null : undefined;
  if (xtime === undefined) return { ok: false, reason: 'xtime: expected an integer' };
  const rxDelay = m.RxDelay ?? 1;
  if (!isInt(rxDelay) || rxDelay < 0 || rxDelay > 15) return { ok: false, reason: 'RxDelay: expected 0..15 (seconds)' };
  const gps = m.gpstime;
  if (gps !== undefined && !isInt(gps)) return { ok: false, reason: 'gpstime: expected an integer (µs)' };
  const dn: DnMsg = {
    diid: m.diid, devEui: typeof m.DevEui === 'string' ? m.DevEui : '', dC, pdu, rctx: isInt(m.rctx) ? m.rctx : 0, priority: isInt(m.priority) ? m.priority : 0,
    xtime, rxDelayS: rxDelay === 0 ? 1 : rxDelay, rx1: rx1 as DnMsg['rx1'], rx2: rx2 as DnMsg['rx2'], gpstimeUs: (gps as number | undefined) ?? null, slot: slot as DnMsg['slot'],
  };
  if (dC === 0 && (xtime === null || (!dn.rx1 && !dn.rx2))) return { ok: false, reason: 'class A dnmsg needs xtime and RX1DR/RX1Freq or RX2DR/RX2Freq' };
  if (dC === 1 && (dn.gpstimeUs === null || !dn.slot)) return { ok: false, reason: 'class B dnmsg needs gpstime, DR and Freq' };
  if (dC === 2 && !dn.rx2 && !dn.rx1) return { ok: false, reason: 'class C dnmsg needs RX2DR/RX2Freq' };
  return { ok: true, dn };
}

/** One checked entry of a `dnsched` schedule: a frame at a GPS time or an xtime, no device, no dntxed. */
export interface DnSchedEntry {
  diid: number;
  priority: number;
  rctx: number;
  dr: number;
  freqHz: number;
  pdu: Uint8Array;
  /** When: GPS time in µs (`gpstime`, or `ontime` in whole seconds), or the radio's xtime. */
  at: { kind: 'gpstime'; us: number } | { kind: 'xtime'; xtime: bigint };
}

/**
 * Checks a `dnsched` object: `schedule` is a list of frames, each with DR,
 * Freq, pdu and one of gpstime (µs), ontime (GPS seconds) or xtime
 * [Basics Station src/s2e.c handle_dnsched: those four are mandatory; diid,
 * priority, rctx optional; no dntxed follows since there is no DevEui].
 * Good entries come back in `entries`, each bad one as `{ index, reason }`.
 */
export function decodeDnsched(m: Record<string, unknown>): { ok: true; entries: DnSchedEntry[]; bad: { index: number; reason: string }[] } | { ok: false; reason: string } {
  if (!Array.isArray(m.schedule)) return { ok: false, reason: 'schedule: expected a list' };
  const entries: DnSchedEntry[] = [];
  const bad: { index: number; reason: string }[] = [];
  m.schedule.forEach((s: unknown, index) => {
    const reason = (r: string) => bad.push({ index, reason: r });
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return reason('not an object');
    const e = s as Record<string, unknown>;
    if (!isInt(e.DR) || e.DR < 0 || e.DR > 15) return reason('DR: expected a data rate index 0..15');
    if (!isInt(e.Freq) || e.Freq < 100e6 || e.Freq > 1100e6) return reason('Freq: expected a frequency in Hz');
    if (typeof e.pdu !== 'string' || !/^(?:[0-9A-Fa-f]{2})+$/.test(e.pdu) || e.pdu.length > 510) return reason('pdu: expected 1..255 bytes as hex digits');
    let at: DnSchedEntry['at'];
    if (e.gpstime !== undefined) {
      if (!isInt(e.gpstime) || e.gpstime <= 0) return reason('gpstime: expected a positive integer (µs)');
      at = { kind: 'gpstime', us: e.gpstime };
    } else if (e.ontime !== undefined) {
      if (!isInt(e.ontime) || e.ontime <= 0) return reason('ontime: expected a positive integer (GPS seconds)');
      at = { kind: 'gpstime', us: e.ontime * 1_000_000 };
    } else if (typeof e.xtime === 'bigint') {
      at = { kind: 'xtime', xtime: e.xtime };
    } else {
      return reason('needs gpstime, ontime or xtime');
    }
    entries.push({
      diid: isInt(e.diid) ? e.diid : 0, priority: isInt(e.priority) ? e.priority : 0, rctx: isInt(e.rctx) ? e.rctx : 0,
      dr: e.DR, freqHz: e.Freq, pdu: Buffer.from(e.pdu, 'hex'), at,
    });
  });
  return { ok: true, entries, bad };
}

/** The fields each uplink message type must have (as encodeUplink writes them). */
const UPLINK_FIELDS: Readonly<Record<string, readonly string[]>> = {
  updf: ['MHdr', 'DevAddr', 'FCtrl', 'FCnt', 'FOpts', 'FPort', 'FRMPayload', 'MIC'],
  jreq: ['MHdr', 'JoinEui', 'DevEui', 'DevNonce', 'MIC'],
  propdf: ['FRMPayload'],
};

/**
 * Checks an uplink message read back from the buffer file before it is sent
 * again: JSON, `updf`/`jreq`/`propdf` with that type's fields, DR, Freq and
 * `upinfo` with an integer `xtime`. Null when good, else why not.
 */
export function checkLnsUplinkText(text: string): string | null {
  const r = parseLns(text);
  if (!r.ok) return r.reason;
  const m = r.msg;
  const fields = typeof m.msgtype === 'string' ? UPLINK_FIELDS[m.msgtype] : undefined;
  if (!fields) return `msgtype ${JSON.stringify(m.msgtype)} is not an uplink message`;
  const missing = [...fields, 'DR', 'Freq'].find((k) => m[k] === undefined);
  if (missing) return `${m.msgtype as string} without ${missing}`;
  const up = m.upinfo as Record<string, unknown> | undefined;
  if (typeof up !== 'object' || up === null || typeof up.xtime !== 'bigint') return 'upinfo without an integer xtime';
  return null;
}
