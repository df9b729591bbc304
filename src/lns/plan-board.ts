/**
 * The server's channel plan (router_config `sx1301_conf`, the keys of
 * Semtech's SX1301_conf) as a board configuration for the local radio: radio
 * centre frequencies and IF channels from the server; the radio types, RSSI
 * offsets, TX ranges, gain table and antenna gain stay the board's own.
 * Pure. A plan this board cannot receive is refused with the reason.
 */
import type { BoardConfig, LoraBandwidthHz, SpreadingFactor } from '../../hal/index.js';

/** Receive bands of the radio chips, Hz [SX1257 datasheet: 862-1020 MHz; SX1255: 400-510 MHz]. */
const RADIO_BAND_HZ: Record<string, [number, number]> = { SX1257: [862_000_000, 1_020_000_000], SX1255: [400_000_000, 510_000_000] };
/** Largest IF offset of an SX1301 channel from its radio's centre, Hz [libloragw lgw_rxif_setconf: ±(radio bandwidth − channel bandwidth)/2 ≈ ±500 kHz at 125 kHz]. */
const MAX_IF_HZ = 500_000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The board with the server's plan, or why it cannot be. */
export function planBoard(local: BoardConfig, plan: Obj): { ok: true; board: BoardConfig } | { ok: false; reason: string } {
  const radios = local.radios.map((r, i) => {
    const p = plan[`radio_${i}`];
    if (!isObj(p)) return { ...r, enable: false };
    return { ...r, enable: p.enable !== false, freqHz: isNum(p.freq) ? p.freq : r.freqHz };
  });
  for (const [i, r] of radios.entries()) {
    if (!r.enable) continue;
    const band = RADIO_BAND_HZ[r.type];
    if (band && (r.freqHz < band[0] || r.freqHz > band[1])) return { ok: false, reason: `radio_${i} at ${r.freqHz} Hz is outside what its ${r.type} receives (${band[0]}..${band[1]} Hz)` };
  }
  const channel = (name: string): { enable: boolean; radio: number; ifHz: number } | string => {
    const c = plan[name];
    if (!isObj(c) || c.enable === false) return { enable: false, radio: 0, ifHz: 0 };
    const radio = c.radio === 1 ? 1 : 0;
    const ifHz = isNum(c.if) ? c.if : 0;
    if (!radios[radio]?.enable) return `${name} uses radio_${radio}, which the plan does not enable`;
    if (Math.abs(ifHz) > MAX_IF_HZ) return `${name}: IF ${ifHz} Hz is beyond ±${MAX_IF_HZ} Hz of its radio`;
    return { enable: true, radio, ifHz };
  };
  const multiSfChannels: BoardConfig['multiSfChannels'] = [];
  for (let i = 0; i < 8; i++) {
    const c = channel(`chan_multiSF_${i}`);
    if (typeof c === 'string') return { ok: false, reason: c };
    multiSfChannels.push(c);
  }
  const std = channel('chan_Lora_std');
  if (typeof std === 'string') return { ok: false, reason: std };
  const stdRaw = isObj(plan.chan_Lora_std) ? plan.chan_Lora_std : {};
  const bw = stdRaw.bandwidth ?? local.loraStdChannel.bandwidthHz;
  const sf = stdRaw.spread_factor ?? local.loraStdChannel.spreadingFactor;
  if (std.enable && (![125000, 250000, 500000].includes(bw as number) || !(Number.isInteger(sf) && (sf as number) >= 7 && (sf as number) <= 12))) {
    return { ok: false, reason: `chan_Lora_std: bandwidth ${String(bw)} / spread_factor ${String(sf)} is not a LoRa channel the SX1301 has` };
  }
  const fsk = channel('chan_FSK');
  if (typeof fsk === 'string') return { ok: false, reason: fsk };
  const fskRaw = isObj(plan.chan_FSK) ? plan.chan_FSK : {};
  const enabled = multiSfChannels.filter((c) => c.enable).length + (std.enable ? 1 : 0);
  if (enabled === 0) return { ok: false, reason: 'the plan enables no LoRa channel' };
  return {
    ok: true,
    board: {
      ...local, radios, multiSfChannels,
      loraStdChannel: { ...std, bandwidthHz: bw as LoraBandwidthHz, spreadingFactor: sf as SpreadingFactor },
      fskChannel: {
        ...local.fskChannel, ...fsk,
        ...(isNum(fskRaw.bandwidth) ? { bandwidthHz: fskRaw.bandwidth } : {}), ...(isNum(fskRaw.datarate) ? { datarateBps: fskRaw.datarate } : {}),
      },
    },
  };
}

/** The uplink channel centres of a board, Hz, sorted. */
export function boardChannelsHz(b: BoardConfig): number[] {
  const out: number[] = [];
  for (const ch of [...b.multiSfChannels, b.loraStdChannel]) {
    const r = b.radios[ch.radio];
    if (ch.enable && r?.enable) out.push(r.freqHz + ch.ifHz);
  }
  return [...new Set(out)].sort((a, b2) => a - b2);
}

/** Two boards receive the same (radio centres and IF channels equal). */
export function samePlan(a: BoardConfig, b: BoardConfig): boolean {
  const key = (x: BoardConfig) => JSON.stringify([x.radios.map((r) => [r.enable, r.freqHz]), x.multiSfChannels, x.loraStdChannel, x.fskChannel]);
  return key(a) === key(b);
}
