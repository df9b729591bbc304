#!/usr/bin/env node
/**
 * `npm run demo`: the whole path on loopback. A network-server stand-in, the
 * forwarder with the simulated concentrator, and simulated end devices that
 * talk through the virtual air. Prints a live summary and the stats reports.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { SimConcentrator } from '../../hal/index.js';
import { parseConfig } from '../config/index.js';
import { Forwarder } from '../forwarder.js';
import { createLogger } from '../log.js';
import type { StatsReport } from '../stats.js';
import { SimulatedDevices, makeFrame, parseFrame, type HeardDownlink } from './devices.js';
import { NetworkServerStandIn, type PushEvent, type TxAckEvent } from './network-server.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eu868RouterConfig, LnsStandIn, tlsFile, type LnsReceived } from './lns-server.js';
import { readCredentialSet, readStationFiles } from '../lns/station-files.js';
import { CupsStandIn } from './cups-server.js';
import { X509Certificate } from 'node:crypto';

const argv = await yargs(hideBin(process.argv))
  .scriptName('npm run demo --')
  .option('duration', { type: 'number', default: 0, describe: 'stop after this many seconds (0 = until Ctrl-C)' })
  .option('devices', { type: 'number', default: 4, describe: 'number of simulated end devices' })
  .option('interval', { type: 'number', default: 3, describe: 'seconds between uplinks of one device' })
  .option('stat-interval', { type: 'number', default: 10, describe: 'forwarder stat_interval, s' })
  .option('verbose', { type: 'boolean', default: false, describe: 'show the forwarder log (info level)' })
  .option('lns', { type: 'boolean', default: false, describe: 'use the LoRa Basics Station protocol: an LNS stand-in over TLS (test CA, bearer token) instead of Semtech UDP' })
  .option('cups', { type: 'boolean', default: false, describe: 'with --lns: the station directory holds only cups.* files, a CUPS stand-in hands out the LNS address and key' })
  .strict()
  .help()
  .parseAsync();

const t0 = performance.now();
const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
const say = (s: string) => process.stdout.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${s}\n`);

// 1. The network-server stand-in on an ephemeral loopback port.
const ns = new NetworkServerStandIn();
const nsPort = await ns.start();

// 2. The forwarder: the shipped EU868 global_conf.json, pointed at the stand-in.
const confPath = fileURLToPath(new URL('../../../global_conf.json', import.meta.url));
// The shipped file alone: a local_conf.json next to it is the user's gateway, not the demo's.
const { config } = parseConfig([{ name: 'global_conf.json', json: readFileSync(confPath, 'utf8') }], {
  radio: 'sim', serverAddress: '127.0.0.1', portUp: nsPort, portDown: nsPort,
});
config.gateway.statIntervalS = argv['stat-interval'];
config.gateway.keepaliveIntervalS = 5;
config.sim.airPort = 0;
// --lns: an LNS stand-in over TLS instead of the UDP server; the station files as a user would write them.
let lns: LnsStandIn | null = null;
let cups: CupsStandIn | null = null;
if (argv.cups && !argv.lns) {
  process.stderr.write('--cups needs --lns\n');
  process.exit(2);
}
if (argv.lns) {
  const shipped = JSON.parse(readFileSync(confPath, 'utf8')) as { SX1301_conf: Record<string, unknown> };
  lns = new LnsStandIn({ token: 'Bearer NNSXS.DEMO', routerConfig: () => eu868RouterConfig(shipped.SX1301_conf) });
  const lnsPort = await lns.start();
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-demo-station-'));
  if (argv.cups) {
    // Only the CUPS files: CUPS (a stand-in) provides tc.uri, tc.trust (DER, as CUPS sends it) and tc.key.
    cups = new CupsStandIn({ token: 'Bearer NNSXS.CUPSDEMO', target: {
      tcUri: `wss://localhost:${lnsPort}`, tcCred: { trust: new X509Certificate(tlsFile('ca.crt')).raw, key: Buffer.from('Authorization: Bearer NNSXS.DEMO\r\n') },
    } });
    const cupsPort = await cups.start();
    writeFileSync(join(dir, 'cups.uri'), `https://localhost:${cupsPort}\n`);
    writeFileSync(join(dir, 'cups.trust'), tlsFile('ca.crt'));
    writeFileSync(join(dir, 'cups.key'), 'Authorization: Bearer NNSXS.CUPSDEMO\r\n');
    config.lns = [{ stationDir: dir, creds: null, cups: readCredentialSet(dir, 'cups', ''), cupsIntervalS: 86_400 }];
  } else {
    writeFileSync(join(dir, 'tc.uri'), `wss://localhost:${lnsPort}\n`);
    writeFileSync(join(dir, 'tc.trust'), tlsFile('ca.crt'));
    writeFileSync(join(dir, 'tc.key'), 'Authorization: Bearer NNSXS.DEMO\r\n');
    config.lns = [{ stationDir: dir, creds: readStationFiles(dir), cups: null, cupsIntervalS: 86_400 }];
  }
  config.gateway.servers = [];
}
const log = createLogger({ level: argv.verbose ? 'info' : 'warn', format: 'pretty' });
const sim = new SimConcentrator({
  board: config.board, airAddress: '127.0.0.1', airPort: 0, counterStartUs: config.sim.counterStartUs, log: log.child({ module: 'sim' }),
});
const fwd = new Forwarder({ config, concentrator: sim, log });
await fwd.start();

// 3. End devices on the multi-SF channels of the plan.
const freqsMHz = config.board.multiSfChannels
  .filter((c) => c.enable)
  .map((c) => (config.board.radios[c.radio]!.freqHz + c.ifHz) / 1e6);
const devices = new SimulatedDevices({ airPort: sim.airPortBound, count: argv.devices, freqsMHz });
await devices.start();

if (lns) say(`LNS stand-in on wss://localhost:${lns.port} (Basics Station protocol, TLS with the repository's test CA, bearer token); station files in ${config.lns[0]!.stationDir}`);
if (cups) say(`CUPS stand-in on https://localhost:${cups.port}: the station directory holds only cups.uri, cups.trust and cups.key; CUPS hands out tc.uri, tc.trust and tc.key`);
else say(`network server stand-in on 127.0.0.1:${nsPort}; forwarder ${config.gateway.gatewayId} on the simulated EU868 concentrator (air port ${sim.airPortBound})`);
if (lns) say(`forwarder ${config.gateway.gatewayId} on the simulated EU868 concentrator (air port ${sim.airPortBound}); the LNS answers every 2nd updf with a dnmsg (RX1 at xtime + 1 s, RX2 fallback at + 2 s on 869.525 MHz SF12)`);
else say(`${argv.devices} devices send every ${argv.interval}s; the server answers every 2nd uplink in RX1 (tmst + 1 s), RX2 (tmst + 2 s, 869.525 MHz SF12) if RX1 is refused`);

// 4. The server's Class A logic: RX1 on the uplink's channel, RX2 as the fallback on an error TX_ACK.
const pending = new Map<number, { devAddr: number; fcnt: number; rx2: () => void; window: string }>();
let downlinksHeard = 0;
const errors: number[] = [];
ns.on('push', (e: PushEvent) => {
  for (const rx of e.rxpk) {
    const f = parseFrame(Buffer.from(rx.data, 'base64'));
    if (!f) continue;
    say(`↑ ${hex(f.devAddr)} fcnt ${f.fcnt}  ${rx.freq.toFixed(1)} MHz ${rx.datr}  rssi ${rx.rssi} dBm snr ${rx.lsnr} dB  tmst ${rx.tmst}`);
    if (f.fcnt % 2 !== 0) continue;
    const data = makeFrame(0x60, f.devAddr, f.fcnt, Buffer.from('ok')).toString('base64');
    const base = { imme: false, rfch: 0, powe: 14, modu: 'LORA', codr: '4/5', ipol: true, size: 11, data } as const;
    const rx2 = () => {
      const token = ns.sendPullResp({ ...base, tmst: (rx.tmst + 2_000_000) >>> 0, freq: 869.525, datr: 'SF12BW125' });
      pending.set(token, { devAddr: f.devAddr, fcnt: f.fcnt, rx2: () => undefined, window: 'RX2' });
    };
    const token = ns.sendPullResp({ ...base, tmst: (rx.tmst + 1_000_000) >>> 0, freq: rx.freq, datr: String(rx.datr) });
    pending.set(token, { devAddr: f.devAddr, fcnt: f.fcnt, rx2, window: 'RX1' });
  }
});
ns.on('txack', (a: TxAckEvent) => {
  const p = pending.get(a.token);
  if (!p) return;
  pending.delete(a.token);
  if (a.error === null) say(`  server: ${p.window} downlink for ${hex(p.devAddr)} accepted by the gateway (TX_ACK OK)`);
  else {
    say(`  server: ${p.window} downlink for ${hex(p.devAddr)} refused: ${a.error}${p.window === 'RX1' ? ', trying RX2' : ''}`);
    p.rx2();
  }
});
// The LNS stand-in's Class A logic: one dnmsg per 2nd uplink with RX1 and RX2; the gateway picks the window.
let diid = 0;
lns?.on('message', (m: LnsReceived) => {
  const msg = m.msg;
  if (msg.msgtype === 'router_config' || m.path === '/router-info') return;
  if (msg.msgtype === 'version') {
    say(`LNS: gateway connected (${String(msg.station)}), router_config EU863 sent`);
    return;
  }
  if (msg.msgtype === 'dntxed') {
    say(`  LNS: dntxed for diid ${String(msg.diid)} (xtime ${String(msg.xtime)})`);
    return;
  }
  if (msg.msgtype !== 'updf') return;
  const up = msg.upinfo as { xtime: string; rssi: number; snr: number };
  const devAddr = (msg.DevAddr as number) >>> 0;
  const fcnt = msg.FCnt as number;
  say(`↑ LNS updf ${hex(devAddr)} fcnt ${fcnt}  ${((msg.Freq as number) / 1e6).toFixed(1)} MHz DR${String(msg.DR)}  rssi ${up.rssi} snr ${up.snr}  xtime ${up.xtime}`);
  if (fcnt % 2 !== 0) return;
  const pdu = makeFrame(0x60, devAddr, fcnt, Buffer.from('ok')).toString('hex');
  lns!.sendText(`{"msgtype":"dnmsg","DevEui":"00-00-00-00-00-00-00-00","dC":0,"diid":${++diid},"pdu":"${pdu}","RxDelay":1,"RX1DR":${String(msg.DR)},"RX1Freq":${String(msg.Freq)},"RX2DR":0,"RX2Freq":869525000,"priority":0,"rctx":0,"xtime":${up.xtime}}`);
});
devices.on('downlink', (d: HeardDownlink) => {
  downlinksHeard++;
  if (d.errorUs !== null) errors.push(d.errorUs);
  say(`↓ ${hex(d.devAddr)} heard its downlink on ${d.freqMHz} MHz ${d.datr}: emitted ${d.errorUs} µs from the target counter ${d.targetUs}`);
});
fwd.on('report', (r: StatsReport) => {
  const i = r.interval;
  const lat = r.uplinkLatencyUs;
  const rej = Object.entries(r.rejected).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  say(`── stats (last ${config.gateway.statIntervalS}s) ──`);
  say(`   upstream:   ${i.rxnb} received, ${i.rxok} CRC ok, ${i.rxfw} forwarded in ${i.pushDataSent} PUSH_DATA, ${r.ackrPercent}% acked; latency p50 ${lat.p50 ?? '-'} µs p99 ${lat.p99 ?? '-'} µs`);
  say(`   downstream: ${i.pullDataSent} PULL_DATA (${r.pullAckPercent}% acked), ${i.pullRespReceived} PULL_RESP, ${i.txSent} emitted, rejected since start: ${rej}`);
});

// 5. Traffic, then a clean stop.
const timers = devices.devices.map((_, i) =>
  setTimeout(() => {
    devices.uplink(i);
    timers[i] = setInterval(() => devices.uplink(i), argv.interval * 1000);
  }, 300 + (i * argv.interval * 1000) / argv.devices),
);

let stopping = false;
async function stop(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const t of timers) clearInterval(t);
  fwd.report();
  await new Promise((r) => setTimeout(r, 100));
  await fwd.stop();
  devices.stop();
  ns.stop();
  await lns?.stop();
  await cups?.stop();
  const abs = errors.map(Math.abs).sort((a, b) => a - b);
  const seen = lns ? lns.messages('updf').length : ns.counts.rxpk;
  say(`stopped (${why}). Server saw ${seen} uplinks; devices heard ${downlinksHeard} downlinks` +
    (abs.length ? `, |emission − target| median ${abs[Math.floor(abs.length / 2)]} µs, max ${abs[abs.length - 1]} µs` : ''));
  log.flush();
}
process.once('SIGINT', () => void stop('Ctrl-C'));
process.once('SIGTERM', () => void stop('SIGTERM'));
if (argv.duration > 0) setTimeout(() => void stop(`--duration ${argv.duration}`), argv.duration * 1000);
