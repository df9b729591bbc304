/**
 * `pktfwd status` and `pktfwd packets [--follow]`: the running forwarder's
 * status endpoint read from a terminal.
 *
 * status exit codes: 0 healthy; 1 the server is not answering or the radio
 * is down; 3 the endpoint cannot be reached (forwarder not running, or its
 * API is off).
 */
import { loadConfig } from './config/index.js';
import type { ForwarderStatus } from './forwarder.js';
import type { PacketRecord } from './monitor/monitor.js';
import { describeLorawan } from './monitor/lorawan.js';

export const EXIT_UNHEALTHY = 1;
export const EXIT_UNREACHABLE = 3;

/** The endpoint's URL: --url, else api_conf of the config file, else the default. */
export function apiUrl(o: { url?: string; config: string; localConfig?: string }): string {
  if (o.url) return o.url.replace(/\/+$/, '');
  try {
    const api = loadConfig({ globalPath: o.config, localPath: o.localConfig }).config.api;
    const host = api.bindAddress === '0.0.0.0' || api.bindAddress === '::' ? '127.0.0.1' : api.bindAddress;
    return `http://${host.includes(':') ? `[${host}]` : host}:${api.port}`;
  } catch {
    return 'http://127.0.0.1:1790';
  }
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

const age = (s: number | null) => (s === null ? 'never' : s < 120 ? `${s.toFixed(1)} s ago` : `${Math.round(s / 60)} min ago`);
const pct = (v: number | null) => (v === null ? '–' : `${v} %`);

/** Said wherever the radio is the simulator (status, page, log, check-config). */
export const SIMULATED = 'SIMULATED radio (gateway_conf.radio "sim"): nothing is heard or sent on the air';

/** The status as aligned text lines. */
export function formatStatus(s: ForwarderStatus): string {
  const t = s.counters.total;
  const li = s.counters.lastInterval;
  const rejected = Object.entries(s.counters.rejected).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const rows: [string, string][] = [
    ['gateway', `${s.gatewayId} (${s.gatewayIdFrom}), pktfwd ${s.version}, up ${Math.floor(s.uptimeS / 3600)} h ${Math.floor((s.uptimeS % 3600) / 60)} min`],
    ['radio', `${s.radio.type}: ${s.radio.state}${s.radio.up ? '' : '  <-- DOWN'}${s.radio.type === 'sim' ? `  <-- ${SIMULATED}` : ''}`],
  ];
  for (const v of s.servers) {
    rows.push(['server', `${v.host} (${v.address ?? 'unresolved'}) :${v.portUp}/${v.portDown}: ${v.answering ? 'answering' : 'NOT ANSWERING'}`]);
    rows.push(['  acks', `PUSH_ACK ${age(v.lastPushAckAgeS)}, PULL_ACK ${age(v.lastPullAckAgeS)}; last interval push ${pct(v.pushAckPercent)}, pull ${pct(v.pullAckPercent)}`]);
  }
  for (const l of s.lns ?? []) {
    const c = l.counters as Record<string, number>;
    const state = l.state === 'connected' ? `connected ${age(l.connectedForS as number | null).replace(/ ago$/, '')}` : `${String(l.state).toUpperCase()}${l.lastError ? ` (${l.lastError})` : ''}`;
    rows.push(['LNS', `${l.uri} router ${l.router}${l.muxs ? `, muxs ${l.muxs}` : ''}: ${state}; auth ${l.auth}${l.region ? `; plan ${l.region}` : ''}`]);
    const cu = l.cups as { uri: string | null; set: string; state: string; lastError: string | null; lastCheckAgeS: number | null; lastUpdate: string | null; counters: Record<string, number> } | null | undefined;
    if (cu) rows.push(['  CUPS', `${cu.uri ?? '–'} (${cu.set} files): ${cu.lastError ? `FAILING (${cu.lastError})` : cu.state}; last check ${age(cu.lastCheckAgeS)}; ${cu.counters.updates} updates${cu.lastUpdate ? ` (last: ${cu.lastUpdate})` : ''}`]);
    rows.push(['  traffic', `last message ${age(l.lastMessageAgeS as number | null)}, timesync RTT ${l.timesyncRttMs === null ? '–' : `${l.timesyncRttMs} ms`}; uplinks ${c.uplinksSent} sent, ${l.kept} kept; dnmsg ${c.dnmsgReceived}, dntxed ${c.dntxedSent}`]);
  }
  rows.push(['time', `GPS ${s.time.gps}`]);
  rows.push(['received', `${t.rxnb} (CRC ok ${t.rxok}, bad ${t.rxBad}, none ${t.rxNoCrc})${li ? `; last ${s.counters.statIntervalS} s: ${li.rxnb}` : ''}`]);
  rows.push(['forwarded', `${t.rxfw} (filtered ${t.rxFiltered}, lost ${t.rxLost})`]);
  rows.push(['PUSH_DATA', `${t.pushDataSent} sent, ${t.pushAckReceived} acked`]);
  rows.push(['PULL_DATA', `${t.pullDataSent} sent, ${t.pullAckReceived} acked`]);
  rows.push(['downlinks', `${t.pullRespReceived} requested, ${t.txSent} sent, ${t.txFailed} failed, ${t.txExpired} expired; queue ${s.queue.depth}`]);
  rows.push(['rejected', rejected]);
  const b = s.buffer;
  if (b?.enabled) {
    const d = b.dropped;
    const drops = Object.entries(d).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
    rows.push(['buffer', `${b.uplinks} uplink${b.uplinks === 1 ? '' : 's'} (${b.bytes} B)${b.outage ? ', server not answering' : ''}; ${b.delivered} delivered late${drops ? `; dropped: ${drops}` : ''}`]);
    if (b.file) rows.push(['  file', `${b.file.file}: ${b.file.ok ? 'saved as it changes' : `NOT SAVED (${b.file.reason}): in memory only`}`]);
  }
  // Shown only when it happened: each is a bug that a last-resort guard caught, logged and survived.
  const internal = s.internalErrors?.total ?? 0;
  if (internal > 0) rows.push(['errors', `${internal} internal errors caught and survived (see the log)`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

/** One packet record as a line. */
export function formatPacket(p: PacketRecord): string {
  const head = `${p.time.slice(0, 23)}  ${p.dir === 'up' ? 'UP  ' : 'DOWN'}  ${p.freq.toFixed(4).padStart(9)} MHz  ${String(p.datr).padEnd(10)}  ${String(p.size).padStart(3)} B`;
  const mac = p.mtype ? describeLorawan(p) : '';
  if (p.dir === 'up') return `${head}  rssi ${p.rssi} snr ${p.lsnr ?? '–'}  CRC ${p.crc}  ${p.outcome}  ${mac}`;
  const timing = p.timingErrorUs === null ? '' : ` (${p.timingErrorUs >= 0 ? '+' : ''}${p.timingErrorUs} µs)`;
  return `${head}  class ${p.class}  ${p.txAck}  ${p.outcome}${timing}  ${mac}`;
}

/** `pktfwd status`: prints, returns the exit code. */
export async function statusCommand(o: { url: string; json: boolean; out?: (s: string) => void }): Promise<number> {
  const out = o.out ?? ((s: string) => process.stdout.write(s));
  let s: ForwarderStatus;
  try {
    s = await getJson<ForwarderStatus>(`${o.url}/api/status`);
  } catch (err) {
    process.stderr.write(`pktfwd: cannot reach the status API at ${o.url} (${(err as Error).message}); is pktfwd running with api_conf.enable?\n`);
    return EXIT_UNREACHABLE;
  }
  const reasons = unhealthyReasons(s);
  out(o.json ? `${JSON.stringify({ ...s, health: { exitCode: reasons.length ? EXIT_UNHEALTHY : 0, reasons } }, null, 2)}\n` : `${formatStatus(s)}\n${reasons.length ? `\nexit ${EXIT_UNHEALTHY}: ${reasons.join('; ')}\n` : ''}`);
  return reasons.length ? EXIT_UNHEALTHY : 0;
}

/** Why `pktfwd status` exits 1 (empty: healthy): the radio down, a server not answering. */
export function unhealthyReasons(s: ForwarderStatus): string[] {
  const out: string[] = [];
  if (!s.radio.up) out.push(`the radio is ${s.radio.state}`);
  for (const v of s.servers) if (!v.answering) out.push(`server ${v.host}:${v.portUp} is not answering (last PUSH_ACK ${age(v.lastPushAckAgeS)}, last PULL_ACK ${age(v.lastPullAckAgeS)})`);
  return out;
}

/** A downlink whose record may still change: queued, or sent with its start not yet measured. */
const mayChange = (p: PacketRecord) => p.dir === 'down' && (p.outcome === 'queued' || (p.outcome === 'sent' && p.timingErrorUs === null));

/**
 * `pktfwd packets`: the last `limit` packets (none with 0), then, with
 * follow, each new one as it comes, and a printed downlink again, marked
 * "(updated)", when its outcome becomes known (queued → sent, refused,
 * expired; the start error). With --json an update is the record again,
 * with the same id and a higher rev.
 */
export async function packetsCommand(o: { url: string; limit: number; follow: boolean; json: boolean; intervalMs?: number; out?: (s: string) => void; signal?: AbortSignal }): Promise<number> {
  const out = o.out ?? ((s: string) => process.stdout.write(s));
  const line = (p: PacketRecord, update: boolean) => out(`${o.json ? JSON.stringify(p) : `${formatPacket(p)}${update ? '  (updated)' : ''}`}\n`);
  let since = 0;
  let rev = 0;
  let first = true;
  /** Downlinks printed whose outcome may still change, by id (bounded: the oldest are forgotten). */
  const printed = new Set<number>();
  for (;;) {
    let r: { packets: PacketRecord[]; lastId: number; lastRev?: number };
    try {
      r = await getJson(`${o.url}/api/packets?${first ? `limit=${o.limit}` : `limit=100000&updatedSince=${rev}`}`);
    } catch (err) {
      if (first || !o.follow) {
        process.stderr.write(`pktfwd: cannot reach the status API at ${o.url} (${(err as Error).message}); is pktfwd running?\n`);
        return EXIT_UNREACHABLE;
      }
      r = { packets: [], lastId: since, lastRev: rev }; // the forwarder restarting: keep following
    }
    const lastRev = r.lastRev ?? r.lastId;
    if (r.lastId < since || lastRev < rev) {
      // A restarted forwarder numbers from 1 again: ask it for everything it has.
      since = 0;
      rev = 0;
      printed.clear();
    } else {
      for (const p of r.packets) {
        if (p.id > since) line(p, false);
        else if (printed.has(p.id)) line(p, true);
        else continue;
        if (mayChange(p)) printed.add(p.id);
        else printed.delete(p.id);
      }
      while (printed.size > 1000) printed.delete(printed.values().next().value!);
      since = Math.max(since, r.lastId);
      rev = lastRev;
    }
    first = false;
    if (!o.follow || o.signal?.aborted) return 0;
    await new Promise((res) => setTimeout(res, o.intervalMs ?? 1000));
    if (o.signal?.aborted) return 0;
  }
}
