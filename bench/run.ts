/**
 * `npm run bench`: the full path, virtual air → sim → forwarder → UDP server
 * on loopback, with the forwarder as a separate process (the real CLI) so its
 * CPU time and memory are its own.
 *
 * Measures, per run: the highest uplink rate of a ladder delivered with zero
 * loss, uplink latency (sim receive stamp → PUSH_DATA handed to the socket,
 * measured by the forwarder on the concentrator counter and read from its
 * stats report), CPU seconds per 1,000 uplinks, peak RSS, and the
 * distribution of (count_us − target_us) of scheduled downlinks while
 * uplinks flow. Prints medians over --runs runs.
 */
import { cpus } from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { PushEvent } from '../src/demo/network-server.js';
import { snapshot, startSimPath } from './forwarder-process.js';
import { runApiBench } from './api.js';
import { runFuzz } from './fuzz.js';
import { runSx1301Bench } from './sx1301.js';
import { DEFAULT_POINTS, runLoadshapeBench, type LoadPoint } from './loadshape.js';
import { cannotStart, parseSchedVariant, type SchedVariant } from './sched.js';
import { runSx127xBench } from './sx127x.js';
import { median, pct, procCpuSeconds, procPeakRssMiB, spinGapsUs } from './util.js';

const argv = await yargs(hideBin(process.argv))
  .option('runs', { type: 'number', default: 3 })
  .option('rates', { type: 'string', default: '2000,5000,8000,12000', describe: 'uplink rates to try, per second' })
  .option('phase-s', { type: 'number', default: 4, describe: 'seconds per rate' })
  .option('downlinks', { type: 'number', default: 2000 })
  .option('downlink-uplink-rate', { type: 'number', default: 2000, describe: 'uplinks/s flowing during the downlink phase' })
  .option('paths', { type: 'string', default: 'sim,sx127x,sx1301,api,fuzz', describe: 'which paths to measure: sim, sx127x, sx1301, api, fuzz, loadshape (the shared load kit, beside the C forwarder named by LORA_PKT_FWD_C)' })
  .option('loadshape-reps', { type: 'number', default: 3, describe: 'interleaved repetitions of the loadshape path' })
  .option('loadshape-points', { type: 'string', describe: 'loadshape: only these points, rate/fifo[/ackDelayMs] comma-separated (e.g. 5000/255,1000/16/20)' })
  .option('loadshape-idle-s', { type: 'number', default: 10, describe: 'loadshape: seconds of the idle run' })
  .option('loadshape-stall', { type: 'string', describe: 'loadshape: AT_MS:FOR_MS, SIGSTOP the forwarder AT_MS after the load starts for FOR_MS (delivery and latency only)' })
  .option('api-rates', { type: 'string', default: '5000,8000', describe: 'uplink rates of the status API comparison' })
  .option('fuzz-datagrams', { type: 'number', default: 1_000_000, describe: 'datagrams of the fuzz path' })
  .option('fuzz-seed', { type: 'number', default: 20261121 })
  .option('sx127x-runs', { type: 'number', describe: 'runs of the SX127x path (default: --runs)' })
  .option('sx127x-downlinks', { type: 'number', default: 2000 })
  .option('sx127x-uplink-rate', { type: 'number', default: 20, describe: 'uplinks/s on the SX127x channel' })
  .option('sx127x-spacing-ms', { type: 'number', default: 70, describe: 'time between SX127x downlink targets' })
  .option('sx127x-schedule', { choices: ['full', 'rx1'] as const, default: 'full' as const, describe: 'SX127x downlinks: schedule kept full, or each heard uplink answered at tmst + 1 s' })
  .option('sx127x-dio0', { choices: ['edge', 'polled'] as const, default: 'edge' as const, describe: 'SX127x DIO0 wired, or the IRQ register polled' })
  .option('sx127x-sched', { type: 'string', default: 'other', describe: 'scheduling of the SX127x forwarder, comma-separated: other, nice:N, rr:P, fifo:P' })
  .option('sx127x-load', { type: 'string', default: '0', describe: 'competing busy processes during the SX127x path, comma-separated counts' })
  .strict()
  .parseAsync();

const rates = argv.rates.split(',').map(Number);
let sx127xSched: SchedVariant[] = [];
const sx127xLoads = argv['sx127x-load'].split(',').map(Number);
try {
  sx127xSched = argv['sx127x-sched'].split(',').map(parseSchedVariant);
  if (sx127xLoads.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`--sx127x-load ${argv['sx127x-load']}: counts of busy processes (0, 1, 2…)`);
  for (const v of argv.paths.split(',').includes('sx127x') ? sx127xSched : []) {
    const why = cannotStart(v);
    if (why) throw new Error(`--sx127x-sched ${v.name}: ${why}`);
  }
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunResult {
  ladder: { rate: number; sent: number; received: number; p50: number | null; p99: number | null; cpuPer1000: number }[];
  peakRssMiB: number;
  downlinkErrors: number[];
  downlinkRejected: number;
}

async function oneRun(run: number): Promise<RunResult> {
  const { ns, child, reports, air, seen } = await startSimPath();

  const ladder: RunResult['ladder'] = [];
  for (const rate of rates) {
    await snapshot(child, reports);
    const cpu0 = procCpuSeconds(child.pid!);
    const tags = await air.uplinks(rate, argv['phase-s'] * 1000, `r${run}-${rate}`);
    await sleep(1000); // drain
    const cpu1 = procCpuSeconds(child.pid!);
    const rep = await snapshot(child, reports);
    const received = tags.filter((t) => seen.has(t)).length;
    ladder.push({
      rate, sent: tags.length, received,
      p50: rep.upstream.latencyUs.p50, p99: rep.upstream.latencyUs.p99,
      cpuPer1000: ((cpu1 - cpu0) / tags.length) * 1000,
    });
    process.stderr.write(`run ${run}: ${rate}/s sent ${tags.length} received ${received} p99 ${rep.upstream.latencyUs.p99} µs\n`);
  }

  // Downlinks while uplinks flow: the server answers uplinks with a tmst + 1 s FSK downlink
  // whenever that slot is clear of the previous one (the JIT queue needs 32.5 ms + airtime between frames).
  let lastTarget: number | null = null;
  let rejected = 0;
  ns.on('push', (e: PushEvent) => {
    for (const r of e.rxpk) {
      const target = (r.tmst + 1_000_000) >>> 0;
      if (lastTarget !== null && ((target - lastTarget) | 0) < 40_000) continue;
      lastTarget = target;
      ns.sendPullResp({ imme: false, tmst: target, freq: 869.525, rfch: 0, powe: 14, modu: 'FSK', datr: 50000, fdev: 25000, size: 4, data: 'AQIDBA==' });
    }
  });
  ns.on('txack', (a: { error: string | null }) => {
    if (a.error) rejected++;
  });
  air.downlinkErrors.length = 0;
  const stopLoad = air.background(argv['downlink-uplink-rate'], `r${run}-dl`);
  while (air.downlinkErrors.length < argv.downlinks) await sleep(200);
  stopLoad();
  const peakRssMiB = procPeakRssMiB(child.pid!);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  air.stop();
  ns.stop();
  return { ladder, peakRssMiB, downlinkErrors: air.downlinkErrors.slice(0, argv.downlinks), downlinkRejected: rejected };
}

const paths = argv.paths.split(',');
// Measured first, with nothing else of ours running.
const floor = spinGapsUs(1000, 6); // 6 s
const results: RunResult[] = [];
if (paths.includes('sim')) for (let i = 1; i <= argv.runs; i++) results.push(await oneRun(i));
const sx127xLines = paths.includes('sx127x')
  ? await runSx127xBench({
    runs: argv['sx127x-runs'] ?? argv.runs, downlinks: argv['sx127x-downlinks'], uplinkRate: argv['sx127x-uplink-rate'], spacingUs: argv['sx127x-spacing-ms'] * 1000,
    schedule: argv['sx127x-schedule'], dio0: argv['sx127x-dio0'], sched: sx127xSched, loads: sx127xLoads,
  })
  : [];

function simLines(): string[] {
const fmt = (x: number | null, d = 0) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(d));
const lines: string[] = [];
lines.push(`simulated concentrator path: medians over ${argv.runs} runs`);
lines.push('');
lines.push('| uplinks/s offered | delivered (median) | lost | latency p50 µs | latency p99 µs | CPU s / 1000 uplinks |');
lines.push('|---:|---:|---:|---:|---:|---:|');
for (const [k, rate] of rates.entries()) {
  const rows = results.map((r) => r.ladder[k]!);
  const sent = median(rows.map((r) => r.sent));
  const rec = median(rows.map((r) => r.received));
  const lostMax = Math.max(...rows.map((r) => r.sent - r.received));
  lines.push(`| ${rate} | ${rec} / ${sent} | ${lostMax === 0 ? '0' : `up to ${lostMax}`} | ${fmt(median(rows.map((r) => r.p50 ?? NaN)))} | ${fmt(median(rows.map((r) => r.p99 ?? NaN)))} | ${fmt(median(rows.map((r) => r.cpuPer1000)), 3)} |`);
}
const zeroLoss = results.map((r) => Math.max(0, ...r.ladder.filter((l) => l.received === l.sent).map((l) => l.rate)));
lines.push('');
lines.push(`highest offered rate with zero loss in every run: ${Math.min(...zeroLoss)} uplinks/s (per run: ${zeroLoss.join(', ')})`);
lines.push(`peak RSS of the forwarder: ${fmt(median(results.map((r) => r.peakRssMiB)), 1)} MiB (median of runs)`);
const errs = results.map((r) => r.downlinkErrors.map(Math.abs).sort((a, b) => a - b));
lines.push(`downlinks: ${errs.map((e) => e.length).join(' + ')} emissions while ${argv['downlink-uplink-rate']} uplinks/s flowed; TX_ACK errors: ${results.map((r) => r.downlinkRejected).join(', ')}`);
lines.push(`|count_us − target_us|: p50 ${fmt(median(errs.map((e) => pct(e, 50))))} µs, p99 ${fmt(median(errs.map((e) => pct(e, 99))))} µs, max ${fmt(median(errs.map((e) => e[e.length - 1] ?? NaN)))} µs (medians of runs)`);
const signed = results.flatMap((r) => r.downlinkErrors);
lines.push(`signed error range over all runs: ${Math.min(...signed)} .. ${Math.max(...signed)} µs`);
return lines;
}

const out: string[] = [`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}`];
if (results.length) out.push(...simLines());
out.push(...sx127xLines);
if (paths.includes('sx1301')) out.push(...runSx1301Bench(argv.runs));
if (paths.includes('fuzz')) {
  const r = await runFuzz({ total: argv['fuzz-datagrams'], seed: argv['fuzz-seed'], onProgress: (n) => n % 100_000 === 0 && process.stderr.write(`fuzz: ${n}\n`) });
  const d = r.datagrams;
  const sw = r.sweep.pullResp;
  out.push('', `fuzz, real process (seed ${r.seed}): sweep of every hostile value in every field: ${sw.sent} PULL_RESP (${sw.wellFormed} well-formed, ${sw.invalid} malformed, ${sw.garbage} not a PULL_RESP; TX_ACKs missing ${sw.missingTxAcks}, unexpected ${sw.unexpectedTxAcks}; counted ${sw.invalidCounted} + ${sw.garbageCounted}), ${r.sweep.air.sent} virtual-air datagrams (uplink after: ${r.sweep.air.uplinkAfterOk})`);
  out.push(`then ${d.total} datagrams in ${r.seconds.toFixed(0)} s: ${d.validFromServer} well-formed PULL_RESP from the server, ${d.mutatedFromServer} mutated, ${d.hostileFromServer} hostile, ${d.randomFromServer} random, ${d.foreign} from another address, ${d.air} virtual-air frames (half mutated), ${d.hostileAir} hostile virtual-air frames`);
  out.push(`TX_ACKs for the well-formed: ${r.txAcksForValid} (missing ${r.missingTxAcks}, duplicated ${r.duplicateTxAcks}); foreign not ignored: ${r.foreignNotIgnored}; emissions ${r.emissions} (handed over ${r.handedOver}), illegal ${r.illegalEmissions.length}${r.illegalEmissions.length ? `: ${r.illegalEmissions.join('; ')}` : ''}; errors logged ${r.errorsLogged}; internal errors ${r.internalErrors}; process alive ${r.processAlive} (exit ${r.exitCode} on SIGTERM); at the end: TX_ACK ${r.txAckErrorAtEnd} for a refused request, downlink ${r.finalDownlinkOk}, uplink ${r.uplinkAtEndOk}`);
}
if (paths.includes('loadshape')) {
  const points = argv['loadshape-points']?.split(',').map((spec): LoadPoint => {
    const [rate, fifo, ack] = spec.split('/').map(Number) as [number, number, number | undefined];
    return DEFAULT_POINTS.find((p) => p.rate === rate && p.fifo === fifo && p.ackDelayMs === (ack ?? 0))
      ?? { label: `${rate.toLocaleString('en-US')}/s, FIFO ${fifo}${ack ? `, server ${ack} ms` : ''}`, rate, fifo, ackDelayMs: ack ?? 0, cVariant: fifo > 16 ? 'B' : 'A' };
  });
  const stallSpec = argv['loadshape-stall']?.split(':').map(Number);
  const stall = stallSpec && stallSpec.length === 2 && stallSpec.every((x) => Number.isFinite(x) && x > 0) ? { atMs: stallSpec[0]!, forMs: stallSpec[1]! } : undefined;
  out.push('', 'loadshape: the shared uplink load kit, side by side', ...runLoadshapeBench({ reps: argv['loadshape-reps'], points, idleSeconds: argv['loadshape-idle-s'], stall }));
}
if (paths.includes('api')) out.push(...(await runApiBench(argv.runs, argv['api-rates'].split(',').map(Number), argv['phase-s'] * 1000)));
out.push('', `machine timing floor (idle, before the runs, 6 s): longest stall of a spinning thread per 6 ms window, p50 ${pct(floor, 50).toFixed(0)} µs, p99 ${pct(floor, 99).toFixed(0)} µs, max ${(floor[floor.length - 1] ?? NaN).toFixed(0)} µs; windows with a stall over 1 ms: ${floor.filter((g) => g > 1000).length} of ${floor.length}`);
process.stdout.write(`${out.join('\n')}\n`);
