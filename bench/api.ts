/**
 * The status API's cost on uplink throughput: the sim path at fixed rates
 * with api_conf.enable false (no packet log, no metrics: the forwarder as
 * before the API existed) and true with a client doing what an open status
 * page does (status, the whole packet log and the per-minute counts every
 * 2 s) plus a Prometheus scrape of /metrics every 5 s.
 */
import { snapshot, startSimPath } from './forwarder-process.js';
import { freePort, median, procCpuSeconds, procPeakRssMiB } from './util.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row { rate: number; sent: number; received: number; p99: number | null; cpuPer1000: number }

async function oneRun(apiOn: boolean, rates: number[], phaseMs: number, tag: string): Promise<{ rows: Row[]; rssMiB: number; requests: number }> {
  const apiPort = await freePort();
  const { ns, child, reports, air, seen } = await startSimPath((c) => {
    c.api_conf = { enable: apiOn, port: apiPort };
  });
  let requests = 0;
  let polling = apiOn;
  const base = `http://127.0.0.1:${apiPort}`;
  const get = async (path: string) => {
    try {
      const r = await fetch(base + path);
      await r.arrayBuffer();
      requests++;
    } catch {
      // counted as missing: the row shows it
    }
  };
  const page = (async () => {
    while (polling) {
      await Promise.all([get('/api/status'), get('/api/packets?limit=1000'), get('/api/channels')]);
      await sleep(2000);
    }
  })();
  const scrape = (async () => {
    while (polling) {
      await get('/metrics');
      await sleep(5000);
    }
  })();
  const rows: Row[] = [];
  for (const rate of rates) {
    await snapshot(child, reports);
    const cpu0 = procCpuSeconds(child.pid!);
    const tags = await air.uplinks(rate, phaseMs, `${tag}-${rate}`);
    await sleep(1000);
    const cpu1 = procCpuSeconds(child.pid!);
    const rep = await snapshot(child, reports);
    rows.push({ rate, sent: tags.length, received: tags.filter((t) => seen.has(t)).length, p99: rep.upstream.latencyUs.p99, cpuPer1000: ((cpu1 - cpu0) / tags.length) * 1000 });
    process.stderr.write(`api ${apiOn ? 'on ' : 'off'} ${tag}: ${rate}/s received ${rows.at(-1)!.received}/${tags.length}\n`);
  }
  polling = false;
  await Promise.all([page, scrape]);
  const rssMiB = procPeakRssMiB(child.pid!);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  air.stop();
  ns.stop();
  return { rows, rssMiB, requests };
}

/** Runs both configurations `runs` times, interleaved; returns the README lines. */
export async function runApiBench(runs: number, rates: number[], phaseMs: number): Promise<string[]> {
  const res: Record<'off' | 'on', Awaited<ReturnType<typeof oneRun>>[]> = { off: [], on: [] };
  for (let i = 1; i <= runs; i++) {
    res.off.push(await oneRun(false, rates, phaseMs, `off${i}`));
    res.on.push(await oneRun(true, rates, phaseMs, `on${i}`));
  }
  const fmt = (x: number | null, d = 0) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(d));
  const lines = ['', `status API overhead on the sim path: medians over ${runs} runs each, interleaved; "on" = a page polling every 2 s and a /metrics scrape every 5 s`, ''];
  lines.push('| uplinks/s | API | delivered (median) | lost (worst run) | latency p99 µs | CPU s / 1000 uplinks |');
  lines.push('|---:|---|---:|---:|---:|---:|');
  rates.forEach((rate, k) => {
    for (const mode of ['off', 'on'] as const) {
      const rows = res[mode].map((r) => r.rows[k]!);
      lines.push(`| ${rate} | ${mode} | ${median(rows.map((r) => r.received))} / ${median(rows.map((r) => r.sent))} | ${Math.max(...rows.map((r) => r.sent - r.received))} | ${fmt(median(rows.map((r) => r.p99 ?? NaN)))} | ${fmt(median(rows.map((r) => r.cpuPer1000)), 3)} |`);
    }
  });
  lines.push('');
  lines.push(`peak RSS: off ${fmt(median(res.off.map((r) => r.rssMiB)), 1)} MiB, on ${fmt(median(res.on.map((r) => r.rssMiB)), 1)} MiB; API requests answered per "on" run: ${res.on.map((r) => r.requests).join(', ')}`);
  return lines;
}
