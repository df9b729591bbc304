/**
 * Fuzzing the forwarder's inputs (issues 7 and 18) against the real CLI
 * process (bench/fuzz-target.ts) over UDP on loopback: generated, mutated
 * and hostile datagrams at the downstream socket, from the server's address
 * and from others, and mutated and hostile frames at the simulated
 * concentrator's virtual air. Hostile means deep nesting, huge strings and
 * every JSON type in every field (bench/hostile-json.ts): first one sweep of
 * all of them, then mixed into the random stream.
 *
 * Checked, whatever arrives:
 * - the process never exits, and no last-resort guard ever fires
 *   (internalErrors 0: the decoders handle everything themselves);
 * - every well-formed PULL_RESP from the server (generated valid, tokens
 *   0..32767) gets exactly one TX_ACK; mutated, hostile or random datagrams
 *   carry tokens 32768..65535 so their answers, if any, are told apart;
 * - in the sweep, each PULL_RESP is answered exactly once if the protocol
 *   decoders accept it and never otherwise, and each refusal is counted
 *   (pullRespInvalid, downGarbage);
 * - nothing from another address is answered or emitted;
 * - no emission outside radio 0's TX range, none above the legal EIRP of its
 *   band (regulation.ts), none above the gain table;
 * - at the end the forwarder still answers a refused PULL_RESP with its
 *   TX_ACK error code, emits a plain downlink, and forwards an uplink.
 *
 * Deterministic: a seeded xorshift generator; the seed is in the report.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../src/config/index.js';
import { decodePacket, decodeTxAckBody, encodePacket, parsePullRespBody, parsePushDataBody } from '../src/protocol/index.js';
import { Regulation } from '../src/regulation.js';
import { FuzzTarget } from './fuzz-target.js';
import { hostileAirDatagrams, hostilePullRespBodies, hostileValues, withField, BASE_AIR_UPLINK, BASE_TXPK, TXPK_FIELDS, AIR_UPLINK_FIELDS } from './hostile-json.js';

/** What a run found. */
export interface FuzzReport {
  seed: number;
  datagrams: { total: number; validFromServer: number; mutatedFromServer: number; hostileFromServer: number; randomFromServer: number; foreign: number; air: number; hostileAir: number };
  /** The one-off sweep of every hostile value in every field, before the random stream. */
  sweep: {
    pullResp: { sent: number; wellFormed: number; invalid: number; garbage: number; missingTxAcks: number; unexpectedTxAcks: number; invalidCounted: number; garbageCounted: number };
    air: { sent: number; uplinkAfterOk: boolean };
  };
  txAcksForValid: number;
  missingTxAcks: number;
  duplicateTxAcks: number;
  foreignNotIgnored: number;
  emissions: number;
  /** Frames handed to the radio (all of them heard on the air by the end). */
  handedOver: number;
  illegalEmissions: string[];
  errorsLogged: number;
  errorSamples: string[];
  /** Exceptions caught by the forwarder's last-resort guards (status internalErrors.total). */
  internalErrors: number;
  /** The process was running when the run ended, and its exit code once stopped (0: clean SIGTERM). */
  processAlive: boolean;
  exitCode: number | null;
  /** The TX_ACK error of a PULL_RESP refused for its frequency, sent at the end. */
  txAckErrorAtEnd: string | null;
  finalDownlinkOk: boolean;
  uplinkAtEndOk: boolean;
  seconds: number;
}

class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 0x9e3779b9;
  }

  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 2 ** 32;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A txpk that PROTOCOL.TXT allows (values may still be refused by the gateway with a TX_ACK error). */
function validTxpk(r: Rng, now: number): Record<string, unknown> {
  const lora = r.next() < 0.85;
  const size = r.int(0, 64);
  const data = r.bytes(size).toString('base64');
  const t: Record<string, unknown> = {};
  const timing = r.next();
  if (timing < 0.35) t.imme = true;
  else if (timing < 0.9) t.tmst = r.next() < 0.5 ? (now + r.int(-2_000_000, 5_000_000)) >>> 0 : r.int(0, 0xffffffff);
  else t.tmms = r.int(0, 2 ** 40);
  t.freq = r.next() < 0.7 ? r.pick([868.1, 868.3, 868.5, 869.525, 867.1, 863.1, 869.9, 864.5]) : Math.round(r.next() * 1_000_000_000) / 1_000_000 + 100;
  t.rfch = r.next() < 0.9 ? 0 : r.int(1, 3);
  if (r.next() < 0.9) t.powe = r.int(-5, 35);
  if (lora) {
    t.modu = 'LORA';
    t.datr = `SF${r.int(7, 12)}BW${r.pick([125, 250, 500])}`;
    t.codr = r.pick(['4/5', '4/6', '4/7', '4/8']);
    t.ipol = r.next() < 0.8;
  } else {
    t.modu = 'FSK';
    t.datr = r.pick([50000, 9600, 100000]);
    t.fdev = r.pick([25000, 5000, 50000]);
  }
  if (r.next() < 0.3) t.prea = r.int(6, 20);
  if (r.next() < 0.2) t.ncrc = r.next() < 0.5;
  t.size = size;
  t.data = data;
  return t;
}

function pullResp(token: number, body: string): Buffer {
  return encodePacket({ type: 'PULL_RESP', token, body: Buffer.from(body) });
}

/** 1-4 mutations of a datagram: bit flips, byte sets, cuts, insertions, JSON-level edits. */
function mutate(r: Rng, d: Buffer): Buffer {
  let b = Buffer.from(d);
  for (let k = r.int(1, 4); k > 0; k--) {
    const op = r.int(0, 7);
    if (op === 0 && b.length) b[r.int(0, b.length - 1)]! ^= 1 << r.int(0, 7);
    else if (op === 1 && b.length) b[r.int(0, b.length - 1)] = r.int(0, 255);
    else if (op === 2) b = b.subarray(0, r.int(0, b.length));
    else if (op === 3) {
      const at = r.int(0, b.length);
      b = Buffer.concat([b.subarray(0, at), r.bytes(r.int(1, 16)), b.subarray(at)]);
    } else if (op === 4) {
      const s = b.toString('latin1');
      const edits: [RegExp, string][] = [
        [/"freq":[^,}]*/, `"freq":${r.pick(['1e308', '-868.1', '"868.1"', 'null', '8681000000', '[]'])}`],
        [/"powe":[^,}]*/, `"powe":${r.pick(['1e9', '-300', '"14"', 'true', '14.5'])}`],
        [/"size":[^,}]*/, `"size":${r.pick(['-1', '1000000', '"3"', '2.5'])}`],
        [/"datr":[^,}]*/, `"datr":${r.pick(['"SF13BW125"', '"SF7BW126"', '0', '"SF7"', '{}'])}`],
        [/"tmst":[^,}]*/, `"tmst":${r.pick(['-1', '4294967296', '1e3', '"1"'])}`],
        [/"data":"[^"]*"/, `"data":${r.pick(['"!!!"', '"AAA"', '""', '"_-_-"', 'null'])}`],
        [/\{"txpk":/, r.pick(['{"txpk":{"txpk":', '[', '{"tx":', '{"txpk":null,"x":'])],
      ];
      const [re, rep] = r.pick(edits);
      b = Buffer.from(s.replace(re, rep), 'latin1');
    } else if (op === 5) b = Buffer.concat([b, r.bytes(r.int(1, 200))]);
    else if (op === 6 && b.length > 4) b[0] = r.pick([1, 3, 255]);
    else if (op === 7 && b.length > 4) b[3] = r.int(0, 10);
  }
  // Mark it: token 32768..65535, so an answer to it is not taken for a valid frame's.
  if (b.length >= 3) b[1] = b[1]! | 0x80;
  return b;
}

/** A PULL_RESP datagram with any body text (encodePacket refuses bodies that do not start with `{`). */
function rawPullResp(token: number, body: string): Buffer {
  return Buffer.concat([Buffer.from([2, (token >> 8) & 0xff, token & 0xff, 3]), Buffer.from(body)]);
}

/** Polls `pred` every 5 ms for up to `ms`; its last value. */
async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!pred() && performance.now() < end) await sleep(5);
  return pred();
}

/** Sends datagrams at a pace loopback does not drop: a yield every 10, a pause after each big one. */
async function sendPaced(sock: dgram.Socket, datagrams: Buffer[], port: number): Promise<void> {
  for (const [i, d] of datagrams.entries()) {
    sock.send(d, port, '127.0.0.1');
    if (d.length > 8192) await sleep(2);
    else if (i % 10 === 9) await sleep(1);
  }
}

/** Runs the sweep (unless `sweep: false`), then `total` datagrams of the random stream; `onProgress` every batch. */
export async function runFuzz(o: { total: number; seed?: number; batch?: number; sweep?: boolean; onProgress?: (done: number) => void }): Promise<FuzzReport> {
  const t0 = performance.now();
  const seed = o.seed ?? 20261121;
  const rng = new Rng(seed);
  // The server: one socket for both ports, answering acks, collecting TX_ACKs and the uplinks it receives.
  const server = dgram.createSocket('udp4');
  await new Promise<void>((res) => server.bind(0, '127.0.0.1', () => res()));
  server.setRecvBufferSize(8 << 20);
  server.setSendBufferSize(8 << 20);
  const port = server.address().port;
  let gwDown: { address: string; port: number } | null = null;
  const acks = new Map<number, number>();
  const ackErrors = new Map<number, string | null>();
  const uplinks = new Set<string>();
  server.on('message', (m, rinfo) => {
    const d = decodePacket(m);
    if (!d.ok) return;
    const p = d.packet;
    if (p.type === 'PUSH_DATA') {
      server.send(encodePacket({ type: 'PUSH_ACK', token: p.token }), rinfo.port, rinfo.address);
      const b = parsePushDataBody(p.body);
      if (b.ok) for (const r of b.rxpk) uplinks.add(r.data);
    } else if (p.type === 'PULL_DATA') {
      gwDown = { address: rinfo.address, port: rinfo.port };
      server.send(encodePacket({ type: 'PULL_ACK', token: p.token }), rinfo.port, rinfo.address);
    } else if (p.type === 'TX_ACK') {
      acks.set(p.token, (acks.get(p.token) ?? 0) + 1);
      const a = decodeTxAckBody(p.body);
      ackErrors.set(p.token, a.ok ? a.error : `undecodable: ${a.reason}`);
    }
  });
  const foreign = dgram.createSocket('udp4');
  await new Promise<void>((res) => foreign.bind(0, '127.0.0.1', () => res()));
  const listener = dgram.createSocket('udp4');
  await new Promise<void>((res) => listener.bind(0, '127.0.0.1', () => res()));
  listener.setRecvBufferSize(8 << 20);
  const airSock = dgram.createSocket('udp4');
  await new Promise<void>((res) => airSock.bind(0, '127.0.0.1', () => res()));

  // The board the process runs (the shipped file), for the legality checks of what it emits.
  const config = parseConfig([{ name: 'global_conf.json', json: readFileSync(new URL('../../global_conf.json', import.meta.url), 'utf8') }], { radio: 'sim' }).config;
  const target = new FuzzTarget();
  try {
    await target.start(port);
  } catch (err) {
    for (const s of [server, foreign, listener, airSock]) s.close();
    throw err;
  }
  const airPort = target.airPort;
  const r0 = config.board.radios[0]!;
  const maxLut = Math.max(...config.board.txLut.map((e) => e.rfPowerDbm));
  const law = new Regulation('EU868');
  let emissions = 0;
  let lastCount: number | null = null;
  const illegal: string[] = [];
  listener.on('message', (m) => {
    const e = JSON.parse(m.toString()) as { op: string; freq: number; powe: number; count_us: number };
    if (e.op === 'listening') lastCount = e.count_us;
    if (e.op !== 'downlink') return;
    emissions++;
    const hz = Math.round(e.freq * 1e6);
    const band = law.band(hz, e.powe);
    if (hz < r0.txFreqMinHz || hz > r0.txFreqMaxHz) illegal.push(`freq ${e.freq}`);
    else if (!band || e.powe + config.board.antennaGainDbi > band.maxEirpDbm) illegal.push(`${e.powe} dBm at ${e.freq} MHz`);
    else if (e.powe > maxLut) illegal.push(`${e.powe} dBm above the gain table`);
  });
  /** The sim's counter now (and the listener subscribed to emissions). */
  const counterNow = async (): Promise<number> => {
    lastCount = null;
    listener.send('{"op":"listen"}', airPort, '127.0.0.1');
    if (!(await until(() => lastCount !== null, 3000))) throw new Error(`no answer from the virtual air: ${JSON.stringify(target.exitInfo)}`);
    return lastCount!;
  };
  await counterNow();
  await until(() => gwDown !== null, 5000);
  if (!gwDown) throw new Error('no PULL_DATA from the forwarder');
  const down = gwDown as { address: string; port: number };

  /** Sends an uplink with a payload of its own through the air; true when the server received it. */
  const uplinkGetsThrough = async (tag: string): Promise<boolean> => {
    const data = Buffer.from(tag).toString('base64');
    airSock.send(withField(BASE_AIR_UPLINK, 'data', JSON.stringify(data)), airPort, '127.0.0.1');
    return until(() => uplinks.has(data), 5000);
  };

  // The sweep: every hostile value in every field, each PULL_RESP classified by the protocol decoders.
  const sweep: FuzzReport['sweep'] = {
    pullResp: { sent: 0, wellFormed: 0, invalid: 0, garbage: 0, missingTxAcks: 0, unexpectedTxAcks: 0, invalidCounted: 0, garbageCounted: 0 },
    air: { sent: 0, uplinkAfterOk: false },
  };
  if (o.sweep !== false) {
    const s = sweep.pullResp;
    const before = (await target.status()).counters.total;
    acks.clear();
    const wellFormed = new Set<number>();
    const datagrams = hostilePullRespBodies({ huge: true }).map((b, i) => {
      const token = 0x8000 + i;
      const dg = rawPullResp(token, b.body);
      const d = decodePacket(dg);
      if (!d.ok || d.packet.type !== 'PULL_RESP') s.garbage++;
      else if (!parsePullRespBody(d.packet.body).ok) s.invalid++;
      else wellFormed.add(token);
      return dg;
    });
    s.sent = datagrams.length;
    s.wellFormed = wellFormed.size;
    // Flow control, so that a busy host cannot drop any of them from the socket buffer: at most 20
    // datagrams or 64 KB in flight, then wait until the forwarder has accounted for each one.
    const accounted = (t: typeof before) => t.pullRespInvalid + t.downGarbage + t.pullRespReceived;
    const base = accounted(before);
    let inFlight = 0;
    let inFlightBytes = 0;
    for (const [i, dg] of datagrams.entries()) {
      server.send(dg, down.port, down.address);
      inFlight++;
      inFlightBytes += dg.length;
      if (inFlight >= 20 || inFlightBytes >= 65_536 || i === datagrams.length - 1) {
        for (let k = 0; k < 600 && accounted((await target.status()).counters.total) < base + i + 1; k++) await sleep(5);
        inFlight = 0;
        inFlightBytes = 0;
      }
    }
    await until(() => [...wellFormed].every((t) => acks.has(t)), 10_000);
    let after = (await target.status()).counters.total;
    for (let i = 0; i < 50 && (after.pullRespInvalid - before.pullRespInvalid < s.invalid || after.downGarbage - before.downGarbage < s.garbage); i++) {
      await sleep(100);
      after = (await target.status()).counters.total;
    }
    await sleep(100);
    for (let i = 0; i < datagrams.length; i++) {
      const n = acks.get(0x8000 + i) ?? 0;
      if (wellFormed.has(0x8000 + i)) {
        if (n === 0) s.missingTxAcks++;
        else if (n > 1) s.unexpectedTxAcks++;
      } else if (n > 0) s.unexpectedTxAcks++;
    }
    s.invalidCounted = after.pullRespInvalid - before.pullRespInvalid;
    s.garbageCounted = after.downGarbage - before.downGarbage;
    const air = hostileAirDatagrams({ huge: true }).map((b) => Buffer.from(b.body));
    sweep.air.sent = air.length;
    await sendPaced(airSock, air, airPort);
    sweep.air.uplinkAfterOk = await uplinkGetsThrough('after the air sweep');
  }

  const counts = { total: 0, validFromServer: 0, mutatedFromServer: 0, hostileFromServer: 0, randomFromServer: 0, foreign: 0, air: 0, hostileAir: 0 };
  let missing = 0;
  let duplicate = 0;
  let validAcked = 0;
  const batch = o.batch ?? 1000;
  const small = hostileValues({ huge: false });
  const validUplink = () => JSON.stringify({ op: 'uplink', freq: rng.pick([868.1, 868.3, 868.5]), modu: 'LORA', datr: `SF${rng.int(7, 12)}BW125`, codr: '4/5', rssi: -rng.int(20, 130), lsnr: rng.int(-20, 12), crc: rng.pick(['ok', 'bad', 'none']), data: rng.bytes(rng.int(0, 60)).toString('base64') });
  while (counts.total < o.total) {
    const n = Math.min(batch, o.total - counts.total);
    const now = await counterNow();
    const expect = new Set<number>();
    acks.clear();
    let token = 0;
    for (let i = 0; i < n; i++) {
      const kind = rng.next();
      if (kind < 0.35) {
        const t = token++ & 0x7fff;
        expect.add(t);
        server.send(pullResp(t, JSON.stringify({ txpk: validTxpk(rng, now) })), down.port, down.address);
        counts.validFromServer++;
      } else if (kind < 0.75) {
        server.send(mutate(rng, pullResp(rng.int(0, 0xffff), JSON.stringify({ txpk: validTxpk(rng, now) }))), down.port, down.address);
        counts.mutatedFromServer++;
      } else if (kind < 0.8) {
        const v = rng.pick(small).json;
        const body = rng.next() < 0.9 ? `{"txpk":${withField(validTxpk(rng, now), rng.pick(TXPK_FIELDS), v)}}` : rng.pick([v, `{"txpk":${v}}`, `{"txpk":${JSON.stringify(BASE_TXPK)},"x":${v}}`]);
        server.send(rawPullResp(rng.int(0x8000, 0xffff), body), down.port, down.address);
        counts.hostileFromServer++;
      } else if (kind < 0.92) {
        const b = rng.bytes(rng.int(0, 700));
        if (b.length >= 3) b[1] = b[1]! | 0x80;
        server.send(b, down.port, down.address);
        counts.randomFromServer++;
      } else if (kind < 0.97) {
        foreign.send(pullResp(rng.int(0, 0xffff), JSON.stringify({ txpk: { ...validTxpk(rng, now), imme: true, freq: 868.1, powe: 14 } })), down.port, down.address);
        counts.foreign++;
      } else if (kind < 0.985) {
        const text = Buffer.from(validUplink());
        airSock.send(rng.next() < 0.5 ? text : mutate(rng, text), airPort, '127.0.0.1');
        counts.air++;
      } else {
        const v = rng.pick(small).json;
        airSock.send(rng.next() < 0.9 ? withField(JSON.parse(validUplink()) as Record<string, unknown>, rng.pick(AIR_UPLINK_FIELDS), v) : v, airPort, '127.0.0.1');
        counts.hostileAir++;
      }
      counts.total++;
      if (i % 50 === 49) await new Promise((res) => setImmediate(res));
    }
    // Every valid frame of the batch answered once (tokens 0..32767 belong to them only).
    await until(() => [...expect].every((t) => acks.has(t)), 10_000);
    await sleep(20);
    for (const t of expect) {
      const c = acks.get(t) ?? 0;
      if (c === 0) missing++;
      else {
        validAcked++;
        if (c > 1) duplicate++;
      }
    }
    for (const [t] of acks) if (t < 0x8000 && !expect.has(t)) duplicate++;
    o.onProgress?.(counts.total);
  }
  // Let the accepted frames due in the next seconds go out, so each is heard and checked (frames accepted for
  // minutes ahead, up to the JIT's 512 s, stay queued; they would meet the same checks at hand-over).
  await sleep(6000);
  const txSent = async () => (await target.status()).counters.total.txSent;
  for (let i = 0; i < 30 && emissions < (await txSent()); i++) await sleep(100);
  // Still alive: a refused request is answered with its code, a plain downlink goes out, an uplink comes through.
  acks.clear();
  server.send(pullResp(9, JSON.stringify({ txpk: { ...BASE_TXPK, freq: 915.0 } })), down.port, down.address);
  await until(() => acks.has(9), 5000);
  const txAckErrorAtEnd = ackErrors.get(9) ?? null;
  const before = emissions;
  server.send(pullResp(7, JSON.stringify({ txpk: BASE_TXPK })), down.port, down.address);
  await until(() => acks.has(7) && emissions > before, 5000);
  const finalDownlinkOk = acks.get(7) === 1 && ackErrors.get(7) === null && emissions > before;
  const uplinkAtEndOk = await uplinkGetsThrough('at the end');
  const st = await target.status();
  const handedOver = st.counters.total.txSent;
  const foreignCounted = st.servers[0]!.link.foreignDatagrams;
  const processAlive = target.alive;
  const exitCode = await target.stop();
  for (const s of [server, foreign, listener, airSock]) s.close();
  return {
    seed, datagrams: counts, sweep, txAcksForValid: validAcked, missingTxAcks: missing, duplicateTxAcks: duplicate,
    foreignNotIgnored: Math.abs(foreignCounted - counts.foreign), emissions, handedOver, illegalEmissions: illegal.slice(0, 20),
    errorsLogged: target.errorsLogged, errorSamples: target.errorSamples, internalErrors: st.internalErrors.total,
    processAlive, exitCode, txAckErrorAtEnd, finalDownlinkOk, uplinkAtEndOk, seconds: (performance.now() - t0) / 1000,
  };
}
