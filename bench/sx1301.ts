/**
 * The SX1301 part of `npm run bench`, on the shared fake chip (LD_PRELOAD;
 * skipped with the reason when ../shared or gcc is missing):
 * - start-up time to the first receive poll, with the waits shortened (the
 *   fake chip calibrates at once) and with the real waits, against the
 *   ~2.82 s of libloragw's waits (sx1301.md §3);
 * - receive-poll cost while the fake chip delivers 200 packets/s: CPU µs
 *   per packet (the poll itself, measured in the child), and SPI bytes per
 *   packet from the shim's raw trace.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './util.js';

const CHILD = fileURLToPath(new URL('./sx1301-child.js', import.meta.url));

/** Runs the SX1301 benchmark; returns the lines of its section. */
export function runSx1301Bench(runs: number): string[] {
  const kitRoot = process.env.PKTFWD_SHARED_DIR ?? fileURLToPath(new URL('../../../shared/', import.meta.url));
  const kit = join(kitRoot, 'sx1301');
  if (!existsSync(join(kit, 'fake-chip', 'fakespi.c'))) return ['', `SX1301 path: skipped, the fake chip is not at ${kit} (set PKTFWD_SHARED_DIR)`];
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-bench-sx1301-'));
  const so = join(dir, 'libfakespi.so');
  if (spawnSync('make', ['-s', '-C', join(kit, 'fake-chip'), `OUT=${so}`]).status !== 0) return ['', 'SX1301 path: skipped, the fake chip did not build (gcc?)'];
  const conf = join(kit, 'golden', 'eu868', 'config.json');
  const fw = join(kit, 'firmware');
  const child = (real: boolean, pollS: number, env: Record<string, string>) => {
    const r = spawnSync(process.execPath, [CHILD, conf, fw, real ? '1' : '0', String(pollS)], {
      env: { ...process.env, LD_PRELOAD: so, FAKESPI_FW_DIR: fw, ...env }, encoding: 'utf8', timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`SX1301 bench child failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { startMs: number; packets: number; polls: number; cpuUs: number };
  };
  const fast = Array.from({ length: runs }, () => child(false, 0, {}).startMs);
  const real = child(true, 0, {}).startMs;
  const rx: { cpuPerPkt: number; bytesPerPkt: number; packets: number; dropped: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const raw = join(dir, `rx${i}.raw`);
    const state = join(dir, `rx${i}.json`);
    const r = child(false, 10, { FAKESPI_RX_RATE: '200', FAKESPI_RAW: raw, FAKESPI_STATE_OUT: state });
    // SPI bytes of the receive phase: every transaction after the start-up's (the first 563 of ours).
    const lines = readFileSync(raw, 'utf8').split('\n').filter((l) => l.startsWith('TX '));
    const rxBytes = lines.slice(563).reduce((n, l) => n + (l.split(' ')[1]!.length / 2), 0);
    const dropped = (JSON.parse(readFileSync(state, 'utf8')) as { rx_dropped?: number }).rx_dropped ?? 0;
    rx.push({ cpuPerPkt: r.cpuUs / Math.max(1, r.packets), bytesPerPkt: rxBytes / Math.max(1, r.packets), packets: r.packets, dropped });
  }
  return [
    '',
    `SX1301 path (our driver over spidev on the shared fake chip; medians of ${runs} runs):`,
    `- start-up to the first receive poll: ${median(fast).toFixed(0)} ms with the waits shortened; ${(real / 1000).toFixed(2)} s with the real waits (libloragw's waits: ~2.82 s)`,
    `- receive at 200 packets/s for 10 s, polled every 10 ms: ${median(rx.map((r) => r.cpuPerPkt)).toFixed(0)} µs CPU per packet (the poll itself), ${median(rx.map((r) => r.bytesPerPkt)).toFixed(1)} SPI bytes per packet; packets received per run ${rx.map((r) => r.packets).join(', ')}, lost to FIFO overflow ${rx.map((r) => r.dropped).join(', ')}`,
  ];
}
