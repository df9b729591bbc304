/**
 * `npm run bench -- --paths loadshape`: the forwarder under the shared uplink
 * load kit (../shared/perf: measure.py, sink.py), driven through
 * bench/loadshape-main.ts (the real `pktfwd run` with a load-shape radio),
 * and, when a C build of Semtech's lora_pkt_fwd v4.0.1 on the kit's stub HAL
 * is named by LORA_PKT_FWD_C (the directory build.sh ran in, holding
 * lora_pkt_fwd_A, lora_pkt_fwd_B and src/lora_pkt_fwd/global_conf.json),
 * the C forwarder under the same load in the same session, runs interleaved
 * (C first on the 1st, 3rd… repetition, pktfwd first on the others).
 *
 * The kit is found at PERF_KIT, else ../shared/perf beside the checkout.
 * Neither is needed by CI: without the kit the path says so and is skipped.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './util.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One comparison point: a row of the side-by-side table. */
export interface LoadPoint {
  label: string;
  rate: number;
  fifo: number;
  ackDelayMs: number;
  /** The C variant it is compared with: A stock (NB_PKT_MAX 8, 10 ms poll), B (255, 1 ms). */
  cVariant: 'A' | 'B';
  count?: number;
}

/** The points of the footprint issue: FIFO 16 against stock C, FIFO 255 against C-B, a 20 ms server, 20,000/s delivery. */
export const DEFAULT_POINTS: LoadPoint[] = [
  { label: '1,000/s, FIFO 16', rate: 1000, fifo: 16, ackDelayMs: 0, cVariant: 'A' },
  { label: '5,000/s, FIFO 16', rate: 5000, fifo: 16, ackDelayMs: 0, cVariant: 'A' },
  { label: '10,000/s, FIFO 16', rate: 10000, fifo: 16, ackDelayMs: 0, cVariant: 'A' },
  { label: '1,000/s, FIFO 255', rate: 1000, fifo: 255, ackDelayMs: 0, cVariant: 'B' },
  { label: '5,000/s, FIFO 255', rate: 5000, fifo: 255, ackDelayMs: 0, cVariant: 'B' },
  { label: '10,000/s, FIFO 255', rate: 10000, fifo: 255, ackDelayMs: 0, cVariant: 'B' },
  { label: '20,000/s, FIFO 255', rate: 20000, fifo: 255, ackDelayMs: 0, cVariant: 'B' },
  { label: '5,000/s, FIFO 255, server 20 ms', rate: 5000, fifo: 255, ackDelayMs: 20, cVariant: 'B' },
];

/** What measure.py reports (the fields used here). */
interface Measured {
  delivered: number;
  delivered_pct: number;
  /** rxpk the sink saw more than once (resends whose first copy had arrived). */
  duplicates?: number;
  /** The load generator's summary (the radio side): packets generated, dropped by the modelled FIFO, fetched by the forwarder. */
  generator?: { generated?: number; fifo_dropped?: number; fetched?: number };
  cpu_us_per_pkt?: number;
  cpu_window_s?: number;
  window_s: number;
  rss_peak_kb: number;
  lat_us_p99?: number;
  lat_us_p50?: number;
  pkts_per_dgram?: number;
  exit: number;
  done: string;
}

export function findKit(): string | null {
  const candidates = [process.env.PERF_KIT, path.resolve(root, '..', 'shared', 'perf')].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(path.join(p, 'measure.py'))) ?? null;
}

/** A wrapper that execs the C forwarder in a fresh directory with Semtech's stock config pointed at the sink. */
function cWrapper(dir: string, cBuild: string, variant: 'A' | 'B'): string {
  const file = path.join(dir, `run_c_${variant}.sh`);
  writeFileSync(
    file,
    [
      '#!/bin/sh',
      'd=$(mktemp -d)',
      `cp ${JSON.stringify(path.join(cBuild, 'src', 'lora_pkt_fwd', 'global_conf.json'))} "$d/global_conf.json"`,
      `printf '{"gateway_conf":{"gateway_ID":"AA555A0000000101","server_address":"127.0.0.1","serv_port_up":%s,"serv_port_down":%s}}' "$SINK_PORT" "$SINK_PORT" > "$d/local_conf.json"`,
      'cd "$d"',
      `exec ${JSON.stringify(path.join(cBuild, `lora_pkt_fwd_${variant}`))}`,
      '',
    ].join('\n'),
  );
  chmodSync(file, 0o755);
  return file;
}

/**
 * A wrapper that runs `cmd` and stops it with SIGSTOP `atMs` after the load starts for `forMs` (a process
 * stall: swap, a slow SD card, a VM pause), forwarding SIGTERM. measure.py then sees the shell, so its CPU
 * and RSS figures are not the forwarder's: only delivery and latency are reported for stall runs.
 */
function stallWrapper(dir: string, name: string, cmd: string[], atMs: number, forMs: number): string {
  const file = path.join(dir, `stall_${name}.sh`);
  const q = cmd.map((c) => JSON.stringify(c)).join(' ');
  writeFileSync(
    file,
    [
      '#!/bin/bash',
      `${q} &`,
      'p=$!',
      "trap 'kill -TERM $p 2>/dev/null' TERM",
      // LOAD_START_NS is CLOCK_MONOTONIC ns of packet 0; sleep until atMs after it.
      `python3 -c "import time,os; t=int(os.environ['LOAD_START_NS'])+${Math.round(atMs * 1e6)}; d=(t-time.monotonic_ns())/1e9; time.sleep(max(0,d))"`,
      `kill -STOP $p; sleep ${forMs / 1000}; kill -CONT $p`,
      'wait $p',
      '',
    ].join('\n'),
  );
  chmodSync(file, 0o755);
  return file;
}

function measure(kit: string, outdir: string, label: string, args: string[], cmd: string[], cwd: string): Measured {
  const r = spawnSync('python3', [path.join(kit, 'measure.py'), ...args, '--label', label, '--outdir', outdir, '--results', path.join(outdir, 'results.jsonl'), '--', ...cmd], {
    encoding: 'utf8',
    cwd,
    maxBuffer: 64 << 20,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`measure.py failed for ${label}: ${r.stderr.slice(-500)}`);
  const m = JSON.parse(line) as Measured;
  process.stderr.write(`${r.stderr.trim().split('\n').pop()}\n`);
  return m;
}

function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || Number.isNaN(x) ? '—' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export interface LoadshapeOptions {
  reps: number;
  points?: LoadPoint[];
  idleSeconds?: number;
  /** Stop the forwarder with SIGSTOP at `atMs` after the load starts, for `forMs`, in every point (delivery and latency only). */
  stall?: { atMs: number; forMs: number };
}

/** Runs the comparison; returns the README lines (markdown tables). */
export function runLoadshapeBench(o: LoadshapeOptions): string[] {
  const kit = findKit();
  if (!kit) return ['loadshape: skipped (no load kit: set PERF_KIT to the directory holding measure.py)'];
  const cBuild = process.env.LORA_PKT_FWD_C;
  const withC = !!cBuild && existsSync(path.join(cBuild, 'lora_pkt_fwd_A'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'pktfwd-loadshape-'));
  const outdir = path.join(work, 'out');
  mkdirSync(outdir);
  const ours = [process.execPath, path.join(root, 'dist', 'bench', 'loadshape-main.js')];
  const wrappers = withC ? { A: cWrapper(work, cBuild!, 'A'), B: cWrapper(work, cBuild!, 'B') } : null;
  const points = o.points ?? DEFAULT_POINTS;
  const idleS = o.idleSeconds ?? 10;
  type Who = 'C' | 'pktfwd';
  const results = new Map<string, Measured[]>();
  const push = (k: string, m: Measured) => results.set(k, [...(results.get(k) ?? []), m]);
  for (let rep = 0; rep < o.reps; rep++) {
    const order: Who[] = withC ? (rep % 2 === 0 ? ['C', 'pktfwd'] : ['pktfwd', 'C']) : ['pktfwd'];
    for (const who of order) {
      // Idle: no packet at all, over idleS seconds (measure.py's --count 0 with the grace as the window).
      const idleCmd = who === 'C' ? [wrappers!.A] : ours;
      push(`${who}|idle`, measure(kit, outdir, `${who}-idle-${rep}`, ['--rate', '1', '--count', '0', '--grace', String(idleS)], idleCmd, work));
    }
    for (const p of points) {
      for (const who of order) {
        const base = who === 'C' ? [wrappers![p.cVariant]] : ours;
        const cmd = o.stall ? [stallWrapper(work, `${who}-${p.rate}-${p.fifo}`, base, o.stall.atMs, o.stall.forMs)] : base;
        // A stall run lasts 8 s of load (and 6 s of grace), so the live traffic after the stall is long enough to show whether the backlog drains.
        const count = o.stall ? Math.max(p.count ?? 20_000, p.rate * 8) : (p.count ?? 20_000);
        const args = ['--rate', String(p.rate), '--fifo', String(p.fifo), '--ack-delay-ms', String(p.ackDelayMs), '--count', String(count), ...(o.stall ? ['--max-seconds', '8', '--grace', '6'] : [])];
        push(`${who}|${p.label}`, measure(kit, outdir, `${who}-${p.rate}-${p.fifo}-${p.ackDelayMs}-${rep}`, args, cmd, work));
      }
    }
  }
  const med = (k: string, f: (m: Measured) => number | undefined) => median((results.get(k) ?? []).map(f).filter((x): x is number => x !== undefined));
  const idleRate = (m: Measured) => (m.cpu_window_s !== undefined ? (m.cpu_window_s / m.window_s) * 1000 : undefined);
  const lines: string[] = [];
  lines.push(`Load kit: ${kit}; C build: ${withC ? cBuild : 'none (set LORA_PKT_FWD_C to compare)'}; ${o.reps} interleaved repetitions, medians; raw lines: ${path.join(outdir, 'results.jsonl')}`);
  if (o.stall) {
    // A stall run: the shell wrapper is what measure.py measures, so only delivery and latency are the forwarder's.
    lines.push(`Stall: SIGSTOP ${o.stall.atMs} ms after the load started, for ${o.stall.forMs} ms. measure.py ends a run when the rxpk the sink has seen, duplicates included, reach the count, or at its deadline ("done"): with resends, "delivered + duplicates = generated" means nothing was missing when it stopped.`, '');
    lines.push('| point | who | generated | lost in the radio FIFO during the stall | fetched by the forwarder | delivered (unique) | duplicates | run ended by | latency p99 ms |', '|---|---|---:|---:|---:|---:|---:|---|---:|');
    for (const p of points) {
      for (const who of (withC ? ['C', 'pktfwd'] : ['pktfwd']) as Who[]) {
        const k = `${who}|${p.label}`;
        const gen = med(k, (m) => m.generator?.generated);
        const deliveredOfGenerated = med(k, (m) => (m.generator?.generated ? (100 * m.delivered) / m.generator.generated : undefined));
        const p99 = med(k, (m) => (m.lat_us_p99 !== undefined ? m.lat_us_p99 / 1000 : undefined));
        const dup = med(k, (m) => m.duplicates);
        const uniq = med(k, (m) => m.delivered);
        const ended = [...new Set((results.get(k) ?? []).map((m) => m.done))].join(', ');
        const fifo = med(k, (m) => m.generator?.fifo_dropped);
        const fetched = med(k, (m) => m.generator?.fetched);
        lines.push(`| ${p.label} | ${who} | ${fmt(gen, 0)} | ${fmt(fifo, 0)} | ${fmt(fetched, 0)} | ${fmt(uniq, 0)} (${fmt(deliveredOfGenerated, 2)} % of generated) | ${fmt(dup, 0)} | ${ended} | ${fmt(p99, 1)} |`);
      }
    }
    return lines;
  }
  lines.push('');
  if (withC) {
    lines.push('| figure | C | pktfwd | ratio | delivered % C / pktfwd | latency p99 ms C / pktfwd | peak RSS MB C / pktfwd |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|');
  } else {
    lines.push('| figure | pktfwd | delivered % | latency p50 / p99 ms | pkts / datagram | peak RSS MB |');
    lines.push('|---|---:|---:|---:|---:|---:|');
  }
  const rss = (k: string) => med(k, (m) => m.rss_peak_kb / 1024);
  {
    const c = med('C|idle', idleRate);
    const us = med('pktfwd|idle', idleRate);
    if (withC) lines.push(`| idle CPU, ms/s (C stock) | ${fmt(c, 2)} | ${fmt(us, 2)} | ${fmt(us / c, 2)}× | | | ${fmt(rss('C|idle'))} / ${fmt(rss('pktfwd|idle'))} |`);
    else lines.push(`| idle CPU, ms/s | ${fmt(us, 2)} | | | | ${fmt(rss('pktfwd|idle'))} |`);
  }
  for (const p of points) {
    const us = med(`pktfwd|${p.label}`, (m) => m.cpu_us_per_pkt);
    const dUs = med(`pktfwd|${p.label}`, (m) => m.delivered_pct);
    const p99 = med(`pktfwd|${p.label}`, (m) => (m.lat_us_p99 !== undefined ? m.lat_us_p99 / 1000 : undefined));
    if (withC) {
      const c = med(`C|${p.label}`, (m) => m.cpu_us_per_pkt);
      const dC = med(`C|${p.label}`, (m) => m.delivered_pct);
      const p99C = med(`C|${p.label}`, (m) => (m.lat_us_p99 !== undefined ? m.lat_us_p99 / 1000 : undefined));
      lines.push(`| CPU µs per uplink, ${p.label} (C-${p.cVariant}) | ${fmt(c)} | ${fmt(us)} | ${fmt(us / c, 1)}× | ${fmt(dC, 2)} / ${fmt(dUs, 2)} | ${fmt(p99C, 2)} / ${fmt(p99, 2)} | ${fmt(rss(`C|${p.label}`))} / ${fmt(rss(`pktfwd|${p.label}`))} |`);
    } else {
      const p50 = med(`pktfwd|${p.label}`, (m) => (m.lat_us_p50 !== undefined ? m.lat_us_p50 / 1000 : undefined));
      const ppd = med(`pktfwd|${p.label}`, (m) => m.pkts_per_dgram);
      lines.push(`| CPU µs per uplink, ${p.label} | ${fmt(us)} | ${fmt(dUs, 2)} | ${fmt(p50, 2)} / ${fmt(p99, 2)} | ${fmt(ppd)} | ${fmt(rss(`pktfwd|${p.label}`))} |`);
    }
  }
  return lines;
}
