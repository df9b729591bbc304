/**
 * The SX127x path of `npm run bench`: the forwarder CLI with `--radio sx127x`
 * on the register-level SX1276 emulator (`SX127x_conf.spi_device:
 * "emulator"`), uplinks arriving on its channel at a steady rate, and a
 * server that sends downlinks.
 *
 * Per run it measures:
 * - TX start − target, µs: the emulated chip's RegOpMode = TX write time
 *   converted to the counter, announced on the virtual air, against the
 *   requested tmst;
 * - uplink tmst − true RxDone, µs: the frame's end is when the bench put it
 *   on the virtual air, on the forwarder's counter through a clock
 *   alignment (below);
 * - with the `rx1` schedule, TX start − (true RxDone + 1 s): both errors
 *   together, as a device waiting for its RX1 window sees them;
 * - the return to RX after TxDone and the whole receive gap around each TX,
 *   from the driver's figures in the stats report;
 * - how many uplinks were heard while the radio was away.
 *
 * Clock alignment. Both processes read CLOCK_MONOTONIC (performance.now(),
 * each from its own origin), so the forwarder's counter is the bench's clock
 * plus a constant. The bench sends `listen` pings and the emulator answers
 * with its counter when it handles each one; the smallest (counter − send
 * time) over the pings is that constant plus the quickest loopback delivery.
 * "True RxDone" is therefore the send time plus that quickest delivery: any
 * later handling of the uplink datagram by the forwarder (it was busy,
 * preempted, not yet scheduled) counts as stamp error, as a late poll or a
 * late DIO0 callback would on a Pi.
 *
 * Each run can start the forwarder under a scheduling policy (bench/sched.ts)
 * with competing busy processes.
 */
import dgram from 'node:dgram';
import type { ChildProcess } from 'node:child_process';
import { NetworkServerStandIn, type PushEvent } from '../src/demo/network-server.js';
import { snapshot, startForwarder, type Report } from './forwarder-process.js';
import { busyProcesses, checkPolicy, type SchedVariant } from './sched.js';
import { freePort, median, pct } from './util.js';

/** Options of the SX127x benchmark. */
export interface Sx127xBenchOptions {
  runs: number;
  downlinks: number;
  uplinkRate: number;
  /** Space between downlink targets, µs. */
  spacingUs: number;
  /**
   * `full`: the schedule kept full, from 300 ms after the newest uplink up to
   * 1 s, one downlink every spacingUs; `rx1`: each heard uplink answered at
   * its tmst + 1 s when that is at least spacingUs after the previous one.
   */
  schedule: 'full' | 'rx1';
  /** `edge`: DIO0 wired (the Dragino preset); `polled`: no DIO0 pin, the IRQ register polled every `poll_interval_ms`. */
  dio0: 'edge' | 'polled';
  /** Scheduling variants the forwarder is started under (each run goes through all of them, interleaved). */
  sched: SchedVariant[];
  /** Numbers of competing busy processes (each run goes through all of them). */
  loads: number[];
}

interface RunResult {
  /** TX start − target, µs. */
  errors: number[];
  /** Uplink tmst − true RxDone, µs. */
  stampErrors: number[];
  /** TX start − (true RxDone + 1 s), µs (`rx1` schedule only). */
  totalErrors: number[];
  report: Report;
  uplinksSent: number;
  uplinksForwarded: number;
  rejected: number;
  policy: string;
  /** Round trip of the ping the clock alignment used, and how far apart the alignments before and after the run were, µs. */
  syncRttUs: number;
  syncSpreadUs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowUs = () => performance.now() * 1000;
const u32 = (x: number) => Math.round(x) >>> 0;
const signed = (a: number, b: number) => ((a - b) | 0);

/** The bench's antenna on the emulator's virtual air: timed pings, timed uplinks, emissions heard. */
class TimedAir {
  private readonly sock = dgram.createSocket('udp4');
  private onListening: ((countUs: number) => void) | null = null;
  /** Bench clock (µs) when each uplink was sent, by base64 payload. */
  readonly sentAt = new Map<string, number>();
  /** Emissions heard: counter at the chip's TX-mode write, and the requested target. */
  readonly downlinks: { countUs: number; targetUs: number }[] = [];
  sent = 0;

  constructor(private readonly port: number) {
    this.sock.on('message', (m) => {
      const msg = JSON.parse(m.toString()) as { op: string; count_us: number; target_us: number | null };
      if (msg.op === 'listening') this.onListening?.(msg.count_us);
      else if (msg.op === 'downlink' && msg.target_us !== null) this.downlinks.push({ countUs: msg.count_us, targetUs: msg.target_us });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', r));
  }

  /** One `listen`: resolves with the counter the emulator read and the bench times around it, or null after 50 ms. */
  private ping(): Promise<{ t1: number; t2: number; countUs: number } | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onListening = null;
        resolve(null);
      }, 50);
      const t1 = nowUs();
      this.onListening = (countUs) => {
        const t2 = nowUs();
        clearTimeout(timer);
        this.onListening = null;
        resolve({ t1, t2, countUs });
      };
      this.sock.send('{"op":"listen"}', this.port, '127.0.0.1');
    });
  }

  /**
   * Subscribes to emissions and aligns the clocks: returns the counter − bench
   * clock offset of the quickest of `n` pings, and that ping's round trip.
   */
  async sync(n: number): Promise<{ offset: number; rttUs: number; medianExcessUs: number }> {
    let best: { offset: number; rttUs: number } | null = null;
    const offsets: number[] = [];
    for (let i = 0; i < n * 2 && offsets.length < n; i++) {
      const p = await this.ping();
      if (p) {
        const offset = u32(p.countUs - p.t1);
        offsets.push(offset);
        if (!best || signed(offset, best.offset) < 0) best = { offset, rttUs: p.t2 - p.t1 };
      }
      await sleep(2);
    }
    if (!best) throw new Error('the emulator did not answer listen');
    // How much later than the quickest a ping is usually handled: the forwarder's usual wake-up for a datagram.
    return { ...best, medianExcessUs: median(offsets.map((x) => signed(x, best.offset))) };
  }

  /**
   * Sends `rate` uplinks/s until the returned function is called. A late timer
   * sends one frame, never a burst: two frames ending together on one channel
   * is not what the bench measures.
   */
  uplinks(rate: number, prefix: string): () => void {
    const periodUs = 1e6 / rate;
    let due = nowUs();
    const timer = setInterval(() => {
      const t = nowUs();
      if (t < due) return;
      due = Math.max(due + periodUs, t + periodUs / 2);
      const data = Buffer.from(`${prefix}-${this.sent++}`).toString('base64');
      this.sentAt.set(data, nowUs());
      this.sock.send(
        `{"op":"uplink","freq":868.1,"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":-60,"lsnr":9.5,"crc":"ok","data":"${data}"}`,
        this.port,
        '127.0.0.1',
      );
    }, 1);
    return () => clearInterval(timer);
  }

  stop(): void {
    this.sock.close();
  }
}

/** Starts the forwarder on the emulator, under the scheduling variant `v`. */
async function startUnder(nsPort: number, airPort: number, o: Sx127xBenchOptions, v: SchedVariant): Promise<{ child: ChildProcess; reports: Report[] }> {
  return startForwarder(nsPort, airPort, (conf) => {
    conf.SX127x_conf = { ...conf.SX127x_conf, spi_device: 'emulator', ...(o.dio0 === 'polled' ? { dio0_pin: null } : {}) };
  }, ['--radio', 'sx127x'], v.prefix);
}

async function oneRun(tag: string, o: Sx127xBenchOptions, v: SchedVariant, load: number): Promise<RunResult> {
  let endLoad: (() => Promise<void>) | null = null;
  try {
    const ns = new NetworkServerStandIn();
    const nsPort = await ns.start();
    const airPort = await freePort();
    const { child, reports } = await startUnder(nsPort, airPort, o, v);
    const air = new TimedAir(airPort);
    await air.start();
    for (let i = 0; i < 500 && ns.counts.pull === 0; i++) await sleep(10);
    const policy = checkPolicy(child.pid!, v);
    // Aligned before the competing load starts and again after it ends: the offset is constant, the quickest delivery is not.
    const before = await air.sync(300);
    endLoad = busyProcesses(load).end;
    await sleep(500); // a running gateway, not one in its first milliseconds
    let forwarded = 0;
    let lastTarget: number | null = null;
    let rejected = 0;
    let measuring = false;
    const stampErrors: number[] = [];
    /** Requested target → true RxDone + 1 s of the uplink it answers (`rx1`). */
    const trueTarget = new Map<number, number>();
    ns.on('push', (e: PushEvent) => {
      for (const r of e.rxpk) {
        forwarded++;
        const sent = air.sentAt.get(r.data);
        const trueRxDone = sent === undefined ? null : u32(sent + before.offset);
        if (measuring && trueRxDone !== null) stampErrors.push(signed(r.tmst, trueRxDone));
        if (o.schedule === 'rx1') {
          const target = (r.tmst + 1_000_000) >>> 0;
          if (lastTarget !== null && signed(target, lastTarget) < o.spacingUs) continue;
          lastTarget = target;
          if (trueRxDone !== null) trueTarget.set(target, (trueRxDone + 1_000_000) >>> 0);
          ns.sendPullResp({ imme: false, tmst: target, freq: 868.1, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', ipol: true, size: 4, data: 'AQIDBA==' });
          continue;
        }
        // Keep the schedule full: from 300 ms after the newest uplink up to 1 s (an RX1 delay), one downlink every spacingUs.
        const horizon = (r.tmst + 1_000_000) >>> 0;
        let next = lastTarget === null ? (r.tmst + 300_000) >>> 0 : (lastTarget + o.spacingUs) >>> 0;
        if (signed(next, (r.tmst + 300_000) >>> 0) < 0) next = (r.tmst + 300_000) >>> 0;
        while (signed(horizon, next) >= 0) {
          ns.sendPullResp({ imme: false, tmst: next, freq: 868.1, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', ipol: true, size: 4, data: 'AQIDBA==' });
          lastTarget = next;
          next = (next + o.spacingUs) >>> 0;
        }
      }
    });
    ns.on('txack', (a: { error: string | null }) => {
      if (a.error) rejected++;
    });
    const stop = air.uplinks(o.uplinkRate, tag);
    await sleep(1500); // the first downlinks answer uplinks sent from now on
    air.downlinks.length = 0;
    measuring = true;
    const sent0 = air.sent;
    const forwarded0 = forwarded;
    const t0 = Date.now();
    while (air.downlinks.length < o.downlinks) {
      await sleep(200);
      if (Date.now() - t0 > o.downlinks * 1000) throw new Error(`only ${air.downlinks.length} downlinks in ${o.downlinks} s`);
    }
    stop();
    measuring = false;
    const sent = air.sent - sent0;
    await endLoad();
    endLoad = null;
    await sleep(300);
    const report = await snapshot(child, reports);
    const after = await air.sync(300);
    const best = signed(after.offset, before.offset) < 0 ? after : before;
    const syncSpreadUs = Math.abs(signed(after.offset, before.offset));
    // Stamp errors were taken against the first alignment; move them to the better one.
    const shift = signed(best.offset, before.offset);
    for (let i = 0; i < stampErrors.length; i++) stampErrors[i] = stampErrors[i]! - shift;
    for (const [k, t] of trueTarget) trueTarget.set(k, (t + shift) >>> 0);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    air.stop();
    ns.stop();
    const heard = air.downlinks.slice(0, o.downlinks);
    const errors = heard.map((d) => signed(d.countUs, d.targetUs));
    const totalErrors = heard.flatMap((d) => {
      const t = trueTarget.get(d.targetUs);
      return t === undefined ? [] : [signed(d.countUs, t)];
    });
    const beyond = (xs: number[]) => (xs.length ? `${((100 * xs.filter((x) => Math.abs(x) > 1000).length) / xs.length).toFixed(1)} %` : '-');
    process.stderr.write(`sx127x ${tag} (${policy}, ${load} busy): ${heard.length} downlinks, beyond ±1 ms: TX start ${beyond(errors)}, stamp ${beyond(stampErrors)}, total ${beyond(totalErrors)}; clock alignment ${best.rttUs.toFixed(0)} µs round trip, the two alignments ${syncSpreadUs} µs apart, a ping usually handled ${before.medianExcessUs.toFixed(0)} µs after the quickest\n`);
    return { errors, stampErrors, totalErrors, report, uplinksSent: sent, uplinksForwarded: forwarded - forwarded0, rejected, policy, syncRttUs: best.rttUs, syncSpreadUs };
  } finally {
    await endLoad?.();
  }
}

const fmt = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(0));
const sortNum = (xs: number[]) => [...xs].sort((a, b) => a - b);
/** Median over runs of a percentile of each run's samples. */
const medPct = (runs: number[][], p: number) => median(runs.map((e) => pct(sortNum(e), p)));
/** Median over runs of the share (%) of samples beyond ±1 ms. */
const medBeyond = (runs: number[][]) => median(runs.filter((e) => e.length).map((e) => (100 * e.filter((x) => Math.abs(x) > 1000).length) / e.length));
const pctText = (x: number) => (Number.isNaN(x) ? '-' : `${x.toFixed(1)} %`);

/** The detailed section of one variant (the one `npm run bench` prints by default). */
function detailLines(results: RunResult[], o: Sx127xBenchOptions): string[] {
  const med = (f: (r: RunResult) => number | null | undefined) => median(results.map((r) => f(r) ?? NaN));
  const sorted = results.map((r) => sortNum(r.errors));
  const lines: string[] = [];
  lines.push('| figure | p50 | p99 | max |');
  lines.push('|---|---:|---:|---:|');
  lines.push(`| TX start − target (µs, chip's mode write vs tmst) | ${fmt(median(sorted.map((e) => pct(e, 50))))} | ${fmt(median(sorted.map((e) => pct(e, 99))))} | ${fmt(median(sorted.map((e) => e[e.length - 1] ?? NaN)))} |`);
  const stamps = results.map((r) => r.stampErrors);
  lines.push(`| uplink tmst − true RxDone (µs) | ${fmt(medPct(stamps, 50))} | ${fmt(medPct(stamps, 99))} | ${fmt(median(stamps.map((e) => Math.max(...e))))} |`);
  if (o.schedule === 'rx1') {
    const totals = results.map((r) => r.totalErrors);
    lines.push(`| TX start − (true RxDone + 1 s) (µs) | ${fmt(medPct(totals, 50))} | ${fmt(medPct(totals, 99))} | ${fmt(median(totals.map((e) => Math.max(...e))))} |`);
  }
  lines.push(`| TxDone → back in continuous RX (µs) | ${fmt(med((r) => r.report.radio?.rxRestoreUs.p50))} | ${fmt(med((r) => r.report.radio?.rxRestoreUs.p99))} | ${fmt(med((r) => r.report.radio?.rxRestoreUs.max))} |`);
  lines.push(`| receive gap per TX, leaving RX → back (µs) | ${fmt(med((r) => r.report.radio?.rxGapUs.p50))} | ${fmt(med((r) => r.report.radio?.rxGapUs.p99))} | ${fmt(med((r) => r.report.radio?.rxGapUs.max))} |`);
  const dio0 = results.map((r) => r.report.radio?.dio0LatencyUs).filter((d): d is { count: number; p50: number | null; p99: number | null; max: number | null } => typeof d === 'object');
  if (dio0.length) lines.push(`| DIO0 latency measured on TxDone (µs) | ${fmt(median(dio0.map((d) => d.p50 ?? NaN)))} | ${fmt(median(dio0.map((d) => d.p99 ?? NaN)))} | ${fmt(median(dio0.map((d) => d.max ?? NaN)))} |`);
  const all = results.flatMap((r) => r.errors);
  lines.push('');
  lines.push(`signed TX start error over all runs: ${Math.min(...all)} .. ${Math.max(...all)} µs; early (< 0): ${all.filter((e) => e < 0).length}; over 1 ms: ${all.filter((e) => e > 1000).length} of ${all.length}`);
  lines.push(`beyond ±1 ms (median of runs): TX start ${pctText(medBeyond(results.map((r) => r.errors)))}, uplink stamp ${pctText(medBeyond(stamps))}${o.schedule === 'rx1' ? `, TX start vs true RxDone + 1 s ${pctText(medBeyond(results.map((r) => r.totalErrors)))}` : ''}`);
  lines.push(`TX_ACK errors: ${results.map((r) => r.rejected).join(', ')}; late starts counted by the driver: ${results.map((r) => r.report.radio?.txLate ?? '-').join(', ')}; radio faults: ${results.map((r) => r.report.radio?.faults ?? '-').join(', ')}`);
  lines.push(`uplinks forwarded / offered (the radio is away during each gap): ${results.map((r) => `${r.uplinksForwarded} / ${r.uplinksSent}`).join(', ')}`);
  lines.push(`forwarder scheduling (read from /proc): ${[...new Set(results.map((r) => r.policy))].join('; ')}; clock alignment: round trip ${results.map((r) => r.syncRttUs.toFixed(0)).join(', ')} µs, before/after ${results.map((r) => r.syncSpreadUs).join(', ')} µs apart`);
  return lines;
}

/** Runs the SX127x benchmark and returns the lines of its section. */
export async function runSx127xBench(o: Sx127xBenchOptions): Promise<string[]> {
  const combos = o.loads.flatMap((load) => o.sched.map((v) => ({ v, load })));
  const results = combos.map(() => [] as RunResult[]);
  // Interleaved (run 1 of every variant, then run 2…), so that a noisy spell of the machine does not fall on one variant.
  for (let i = 1; i <= o.runs; i++) {
    for (const [k, c] of combos.entries()) results[k]!.push(await oneRun(`x${i}-${c.v.name}-${c.load}`, o, c.v, c.load));
  }
  const lines: string[] = [];
  lines.push('');
  const what = o.schedule === 'rx1'
    ? `each heard uplink answered at tmst + 1 s (SF7BW125, 4 bytes, at least ${o.spacingUs / 1000} ms apart)`
    : `SF7BW125, 4 bytes, one every ${o.spacingUs / 1000} ms`;
  const n = results.map((rs) => rs.map((r) => r.errors.length).join(' + '));
  lines.push(`SX127x path (emulated SX1276, --radio sx127x, DIO0 ${o.dio0 === 'edge' ? 'wired' : 'polled'}): ${n[0]} downlinks per variant (${what}) while ${o.uplinkRate} uplinks/s arrived on 868.1 MHz; medians over ${o.runs} runs`);
  lines.push('');
  if (combos.length === 1) return [...lines, ...detailLines(results[0]!, o)];
  lines.push('| forwarder scheduling | busy processes | TX start − target p50 / p99 µs, beyond ±1 ms | uplink tmst − true RxDone p50 / p99 µs, beyond ±1 ms |' + (o.schedule === 'rx1' ? ' TX start − (true RxDone + 1 s) p50 / p99 µs, beyond ±1 ms |' : ''));
  lines.push('|---|---:|---:|---:|' + (o.schedule === 'rx1' ? '---:|' : ''));
  for (const [k, c] of combos.entries()) {
    const rs = results[k]!;
    const cell = (runs: number[][]) => `${fmt(medPct(runs, 50))} / ${fmt(medPct(runs, 99))}, ${pctText(medBeyond(runs))}`;
    lines.push(`| ${c.v.label} | ${c.load} | ${cell(rs.map((r) => r.errors))} | ${cell(rs.map((r) => r.stampErrors))} |${o.schedule === 'rx1' ? ` ${cell(rs.map((r) => r.totalErrors))} |` : ''}`);
  }
  lines.push('');
  for (const [k, c] of combos.entries()) {
    const rs = results[k]!;
    const per = (f: (r: RunResult) => number[]) => rs.map((r) => pctText((100 * f(r).filter((x) => Math.abs(x) > 1000).length) / Math.max(1, f(r).length))).join(', ');
    lines.push(`${c.v.label}, ${c.load} busy: beyond ±1 ms per run: TX start ${per((r) => r.errors)}; stamp ${per((r) => r.stampErrors)}${o.schedule === 'rx1' ? `; total ${per((r) => r.totalErrors)}` : ''}; late starts (driver) ${rs.map((r) => r.report.radio?.txLate ?? '-').join(', ')}; TX_ACK errors ${rs.map((r) => r.rejected).join(', ')}; checked: ${[...new Set(rs.map((r) => r.policy))].join('; ')}`);
  }
  return lines;
}
