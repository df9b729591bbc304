/**
 * Fuzzing the forwarder's inputs (issue 7): generated and mutated datagrams
 * at the downstream socket, from the server's address and from others, and
 * mutated frames at the simulated concentrator's virtual air; the forwarder
 * runs in this process on the simulated concentrator.
 *
 * Checked, whatever arrives:
 * - nothing throws out of the forwarder (an uncaught exception ends the run);
 * - every well-formed PULL_RESP from the server (generated valid, tokens
 *   0..32767) gets exactly one TX_ACK; mutated or random datagrams carry
 *   tokens 32768..65535 so their answers, if any, are told apart;
 * - nothing from another address is answered or emitted;
 * - no emission outside radio 0's TX range, none above the legal EIRP of its
 *   band (regulation.ts), none above the gain table;
 * - at the end the forwarder still answers and emits a plain downlink.
 *
 * Deterministic: a seeded xorshift generator; the seed is in the report.
 */
import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { SimConcentrator } from '../hal/index.js';
import { parseConfig } from '../src/config/index.js';
import { Forwarder } from '../src/forwarder.js';
import { decodePacket, encodePacket } from '../src/protocol/index.js';
import { Regulation } from '../src/regulation.js';
import { readFileSync } from 'node:fs';

/** What a run found. */
export interface FuzzReport {
  seed: number;
  datagrams: { total: number; validFromServer: number; mutatedFromServer: number; randomFromServer: number; foreign: number; air: number };
  txAcksForValid: number;
  missingTxAcks: number;
  duplicateTxAcks: number;
  foreignNotIgnored: number;
  emissions: number;
  /** Frames handed to the radio (all of them heard on the air by the end). */
  handedOver: number;
  illegalEmissions: string[];
  errorsLogged: number;
  finalDownlinkOk: boolean;
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

/** Runs `total` datagrams (about 3 % at the virtual air); `onProgress` every batch. */
export async function runFuzz(o: { total: number; seed?: number; batch?: number; onProgress?: (done: number) => void }): Promise<FuzzReport> {
  const t0 = performance.now();
  const seed = o.seed ?? 20261121;
  const rng = new Rng(seed);
  // The server: one socket for both ports, answering acks, collecting TX_ACKs.
  const server = dgram.createSocket('udp4');
  await new Promise<void>((res) => server.bind(0, '127.0.0.1', () => res()));
  server.setRecvBufferSize(8 << 20);
  server.setSendBufferSize(8 << 20);
  const port = server.address().port;
  let gwDown: { address: string; port: number } | null = null;
  const acks = new Map<number, number>();
  server.on('message', (m, rinfo) => {
    const d = decodePacket(m);
    if (!d.ok) return;
    const p = d.packet;
    if (p.type === 'PUSH_DATA') server.send(encodePacket({ type: 'PUSH_ACK', token: p.token }), rinfo.port, rinfo.address);
    else if (p.type === 'PULL_DATA') {
      gwDown = { address: rinfo.address, port: rinfo.port };
      server.send(encodePacket({ type: 'PULL_ACK', token: p.token }), rinfo.port, rinfo.address);
    } else if (p.type === 'TX_ACK') acks.set(p.token, (acks.get(p.token) ?? 0) + 1);
  });
  const foreign = dgram.createSocket('udp4');
  await new Promise<void>((res) => foreign.bind(0, '127.0.0.1', () => res()));
  const listener = dgram.createSocket('udp4');
  await new Promise<void>((res) => listener.bind(0, '127.0.0.1', () => res()));
  listener.setRecvBufferSize(8 << 20);

  const shipped = JSON.parse(readFileSync(new URL('../../global_conf.json', import.meta.url), 'utf8')) as Record<string, Record<string, unknown>>;
  const doc = { ...shipped, gateway_conf: { ...shipped.gateway_conf, gateway_ID: 'AA555A0000000000', server_address: '127.0.0.1', serv_port_up: port, serv_port_down: port, keepalive_interval: 1 }, sim_conf: { air_port: 0 } };
  const config = parseConfig([{ name: 'fuzz.json', json: JSON.stringify(doc) }]).config;
  let errorsLogged = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      if (/"level":(50|60)/.test(chunk.toString())) errorsLogged++;
      cb();
    },
  });
  const log = pino({ level: 'error', base: undefined }, sink);
  const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, counterStartUs: null, log });
  const fwd = new Forwarder({ config, concentrator: sim, log });
  await fwd.start();
  const airPort = sim.airPortBound;
  // Every emission, checked against the TX range and the legal EIRP.
  const r0 = config.board.radios[0]!;
  const maxLut = Math.max(...config.board.txLut.map((e) => e.rfPowerDbm));
  const law = new Regulation('EU868');
  let emissions = 0;
  const illegal: string[] = [];
  listener.on('message', (m) => {
    const e = JSON.parse(m.toString()) as { op: string; freq: number; powe: number };
    if (e.op !== 'downlink') return;
    emissions++;
    const hz = Math.round(e.freq * 1e6);
    const band = law.band(hz, e.powe);
    if (hz < r0.txFreqMinHz || hz > r0.txFreqMaxHz) illegal.push(`freq ${e.freq}`);
    else if (!band || e.powe + config.board.antennaGainDbi > band.maxEirpDbm) illegal.push(`${e.powe} dBm at ${e.freq} MHz`);
    else if (e.powe > maxLut) illegal.push(`${e.powe} dBm above the gain table`);
  });
  listener.send('{"op":"listen"}', airPort, '127.0.0.1');
  for (let i = 0; i < 500 && gwDown === null; i++) await sleep(10);
  if (!gwDown) throw new Error('no PULL_DATA from the forwarder');
  const down = gwDown as { address: string; port: number };

  const counts = { total: 0, validFromServer: 0, mutatedFromServer: 0, randomFromServer: 0, foreign: 0, air: 0 };
  let missing = 0;
  let duplicate = 0;
  let validAcked = 0;
  const batch = o.batch ?? 1000;
  const airSock = dgram.createSocket('udp4');
  const validUplink = () => JSON.stringify({ op: 'uplink', freq: rng.pick([868.1, 868.3, 868.5]), modu: 'LORA', datr: `SF${rng.int(7, 12)}BW125`, codr: '4/5', rssi: -rng.int(20, 130), lsnr: rng.int(-20, 12), crc: rng.pick(['ok', 'bad', 'none']), data: rng.bytes(rng.int(0, 60)).toString('base64') });
  while (counts.total < o.total) {
    const n = Math.min(batch, o.total - counts.total);
    const now = await sim.counterUs();
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
      } else if (kind < 0.8) {
        server.send(mutate(rng, pullResp(rng.int(0, 0xffff), JSON.stringify({ txpk: validTxpk(rng, now) }))), down.port, down.address);
        counts.mutatedFromServer++;
      } else if (kind < 0.92) {
        const b = rng.bytes(rng.int(0, 700));
        if (b.length >= 3) b[1] = b[1]! | 0x80;
        server.send(b, down.port, down.address);
        counts.randomFromServer++;
      } else if (kind < 0.97) {
        foreign.send(pullResp(rng.int(0, 0xffff), JSON.stringify({ txpk: { ...validTxpk(rng, now), imme: true, freq: 868.1, powe: 14 } })), down.port, down.address);
        counts.foreign++;
      } else {
        const text = Buffer.from(validUplink());
        airSock.send(rng.next() < 0.5 ? text : mutate(rng, text), airPort, '127.0.0.1');
        counts.air++;
      }
      counts.total++;
      if (i % 50 === 49) await new Promise((res) => setImmediate(res));
    }
    // Every valid frame of the batch answered once (tokens 0..32767 belong to them only).
    const end = performance.now() + 10_000;
    while (performance.now() < end && [...expect].some((t) => !acks.has(t))) await sleep(5);
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
  const drain = performance.now() + 6000;
  while (performance.now() < drain) await sleep(50);
  while (emissions < fwd.stats.counters.txSent && performance.now() < drain + 3000) await sleep(20);
  // Still alive: a plain downlink is answered and goes out.
  acks.clear();
  const before = emissions;
  server.send(pullResp(7, JSON.stringify({ txpk: { imme: true, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 2, data: 'AQI=' } })), down.port, down.address);
  const end = performance.now() + 5000;
  while (performance.now() < end && (acks.size === 0 || emissions === before)) await sleep(10);
  const finalDownlinkOk = acks.get(7) === 1 && emissions > before;
  const handedOver = fwd.stats.counters.txSent;
  const foreignNotIgnored = fwd.link.counters.foreignDatagrams === counts.foreign ? 0 : Math.abs(fwd.link.counters.foreignDatagrams - counts.foreign);
  await fwd.stop();
  for (const s of [server, foreign, listener, airSock]) s.close();
  return {
    seed, datagrams: counts, txAcksForValid: validAcked, missingTxAcks: missing, duplicateTxAcks: duplicate, foreignNotIgnored, emissions, handedOver,
    illegalEmissions: illegal.slice(0, 20), errorsLogged, finalDownlinkOk, seconds: (performance.now() - t0) / 1000,
  };
}
