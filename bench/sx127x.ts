/**
 * The SX127x path of `npm run bench`: the forwarder CLI with `--radio sx127x`
 * on the register-level SX1276 emulator (`SX127x_conf.spi_device:
 * "emulator"`), uplinks arriving on its channel at a steady rate, and a
 * server that keeps the downlink schedule full.
 *
 * Per run it measures:
 * - TX start − target, µs: the emulated chip's RegOpMode = TX write time
 *   converted to the counter, announced on the virtual air, against the
 *   requested tmst;
 * - the return to RX after TxDone and the whole receive gap around each TX,
 *   from the driver's figures in the stats report;
 * - how many uplinks were heard while the radio was away.
 */
import { NetworkServerStandIn, type PushEvent } from '../src/demo/network-server.js';
import { snapshot, startForwarder, type Report } from './forwarder-process.js';
import { AirLoad, freePort, median, pct } from './util.js';

/** Options of the SX127x benchmark. */
export interface Sx127xBenchOptions {
  runs: number;
  downlinks: number;
  uplinkRate: number;
  /** Space between downlink targets, µs. */
  spacingUs: number;
}

interface RunResult {
  errors: number[];
  report: Report;
  uplinksSent: number;
  uplinksForwarded: number;
  rejected: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function oneRun(run: number, o: Sx127xBenchOptions): Promise<RunResult> {
  const ns = new NetworkServerStandIn();
  const nsPort = await ns.start();
  const airPort = await freePort();
  const { child, reports } = await startForwarder(nsPort, airPort, (conf) => {
    conf.SX127x_conf = { ...conf.SX127x_conf, spi_device: 'emulator' };
  }, ['--radio', 'sx127x']);
  let forwarded = 0;
  let lastTarget: number | null = null;
  let rejected = 0;
  // Keep the schedule full: from 300 ms after the newest uplink up to 1 s (an RX1 delay), one downlink every spacingUs.
  ns.on('push', (e: PushEvent) => {
    for (const r of e.rxpk) {
      forwarded++;
      const horizon = (r.tmst + 1_000_000) >>> 0;
      let next = lastTarget === null ? (r.tmst + 300_000) >>> 0 : (lastTarget + o.spacingUs) >>> 0;
      if (((next - ((r.tmst + 300_000) >>> 0)) | 0) < 0) next = (r.tmst + 300_000) >>> 0;
      while (((horizon - next) | 0) >= 0) {
        ns.sendPullResp({ imme: false, tmst: next, freq: 868.1, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', ipol: true, size: 4, data: 'AQIDBA==' });
        lastTarget = next;
        next = (next + o.spacingUs) >>> 0;
      }
    }
  });
  ns.on('txack', (a: { error: string | null }) => {
    if (a.error) rejected++;
  });
  const air = new AirLoad(airPort, [868.1]);
  await air.start();
  for (let i = 0; i < 500 && ns.counts.pull === 0; i++) await sleep(10);
  await air.waitListening();
  await sleep(500); // a running gateway, not one in its first milliseconds
  air.downlinkErrors.length = 0;
  let sent = 0;
  const stop = air.background(o.uplinkRate, `x${run}`);
  const t0 = Date.now();
  while (air.downlinkErrors.length < o.downlinks) {
    await sleep(200);
    if (Date.now() - t0 > o.downlinks * 1000) throw new Error(`only ${air.downlinkErrors.length} downlinks in ${o.downlinks} s`);
  }
  stop();
  sent = Math.round(((Date.now() - t0) / 1000) * o.uplinkRate);
  await sleep(300);
  const report = await snapshot(child, reports);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  air.stop();
  ns.stop();
  process.stderr.write(`sx127x run ${run}: ${air.downlinkErrors.length} downlinks, restore p99 ${report.radio?.rxRestoreUs.p99} µs\n`);
  return { errors: air.downlinkErrors.slice(0, o.downlinks), report, uplinksSent: sent, uplinksForwarded: forwarded, rejected };
}

/** Runs the SX127x benchmark and returns the lines of its section. */
export async function runSx127xBench(o: Sx127xBenchOptions): Promise<string[]> {
  const results: RunResult[] = [];
  for (let i = 1; i <= o.runs; i++) results.push(await oneRun(i, o));
  const fmt = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(0));
  const med = (f: (r: RunResult) => number | null | undefined) => median(results.map((r) => f(r) ?? NaN));
  const sorted = results.map((r) => [...r.errors].sort((a, b) => a - b));
  const lines: string[] = [];
  lines.push('');
  lines.push(`SX127x path (emulated SX1276, --radio sx127x): ${results.map((r) => r.errors.length).join(' + ')} downlinks (SF7BW125, 4 bytes, one every ${o.spacingUs / 1000} ms) while ${o.uplinkRate} uplinks/s arrived on 868.1 MHz; medians over ${o.runs} runs`);
  lines.push('');
  lines.push('| figure | p50 | p99 | max |');
  lines.push('|---|---:|---:|---:|');
  lines.push(`| TX start − target (µs, chip's mode write vs tmst) | ${fmt(median(sorted.map((e) => pct(e, 50))))} | ${fmt(median(sorted.map((e) => pct(e, 99))))} | ${fmt(median(sorted.map((e) => e[e.length - 1] ?? NaN)))} |`);
  lines.push(`| TxDone → back in continuous RX (µs) | ${fmt(med((r) => r.report.radio?.rxRestoreUs.p50))} | ${fmt(med((r) => r.report.radio?.rxRestoreUs.p99))} | ${fmt(med((r) => r.report.radio?.rxRestoreUs.max))} |`);
  lines.push(`| receive gap per TX, leaving RX → back (µs) | ${fmt(med((r) => r.report.radio?.rxGapUs.p50))} | ${fmt(med((r) => r.report.radio?.rxGapUs.p99))} | ${fmt(med((r) => r.report.radio?.rxGapUs.max))} |`);
  const dio0 = results.map((r) => r.report.radio?.dio0LatencyUs).filter((d): d is { count: number; p50: number | null; p99: number | null; max: number | null } => typeof d === 'object');
  if (dio0.length) lines.push(`| DIO0 latency measured on TxDone (µs) | ${fmt(median(dio0.map((d) => d.p50 ?? NaN)))} | ${fmt(median(dio0.map((d) => d.p99 ?? NaN)))} | ${fmt(median(dio0.map((d) => d.max ?? NaN)))} |`);
  const all = results.flatMap((r) => r.errors);
  lines.push('');
  lines.push(`signed TX start error over all runs: ${Math.min(...all)} .. ${Math.max(...all)} µs; early (< 0): ${all.filter((e) => e < 0).length}; over 1 ms: ${all.filter((e) => e > 1000).length} of ${all.length}`);
  lines.push(`TX_ACK errors: ${results.map((r) => r.rejected).join(', ')}; late starts counted by the driver: ${results.map((r) => r.report.radio?.txLate ?? '-').join(', ')}; radio faults: ${results.map((r) => r.report.radio?.faults ?? '-').join(', ')}`);
  lines.push(`uplinks forwarded / offered (the radio is away during each gap): ${results.map((r) => `${r.uplinksForwarded} / ${r.uplinksSent}`).join(', ')}`);
  return lines;
}
