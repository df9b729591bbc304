/**
 * The forwarder as a child process for the benchmarks: the real CLI on a
 * temporary copy of the shipped config, its stats reports collected from its
 * JSON log on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetworkServerStandIn, type PushEvent } from '../src/demo/network-server.js';
import { AirLoad, freePort } from './util.js';

const ROOT = new URL('../../', import.meta.url);
const CLI = fileURLToPath(new URL('dist/src/cli.js', ROOT));

/** Summary of a sample set as the forwarder reports it. */
export interface Summary { count: number; p50: number | null; p99: number | null; max: number | null }

/** The parts of the stats report the benchmarks read. */
export interface Report {
  upstream: { rxnb: number; rxfw: number; latencyUs: Summary };
  downstream: { txRequested: number; txSent: number; txFailed: number; txExpired: number };
  radio?: { txStartErrorUs: Summary; rxRestoreUs: Summary; rxGapUs: Summary; dio0LatencyUs: Summary | string; txLate: number; faults: number };
}

type Conf = Record<string, Record<string, unknown>>;

/**
 * Starts the forwarder CLI; `edit` adjusts the config; `args` are extra CLI
 * arguments; `prefix` is a command that execs node (`chrt -f 10`, `nice -n -10`).
 */
export async function startForwarder(
  nsPort: number,
  airPort: number,
  edit: (conf: Conf) => void = () => undefined,
  args: string[] = [],
  prefix: string[] = [],
): Promise<{ child: ChildProcess; reports: Report[] }> {
  const conf = JSON.parse(readFileSync(new URL('global_conf.json', ROOT), 'utf8')) as Conf;
  conf.gateway_conf = { ...conf.gateway_conf, server_address: '127.0.0.1', serv_port_up: nsPort, serv_port_down: nsPort, stat_interval: 3600, keepalive_interval: 5, radio: 'sim' };
  conf.sim_conf = { air_address: '127.0.0.1', air_port: airPort };
  conf.api_conf = { enable: false }; // the API's own cost is measured apart (bench/api.ts)
  edit(conf);
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-bench-'));
  writeFileSync(join(dir, 'global_conf.json'), JSON.stringify(conf));
  const argv = [process.execPath, CLI, 'run', '--config', join(dir, 'global_conf.json'), '--log-format', 'json', '--log-level', 'info', ...args];
  const cmd = [...prefix, ...argv];
  const child = spawn(cmd[0]!, cmd.slice(1), {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const reports: Report[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.includes('"stats report"')) reports.push((JSON.parse(line) as { report: Report }).report);
    }
  });
  return { child, reports };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends SIGUSR1 and waits for the report it triggers. */
export async function snapshot(child: ChildProcess, reports: Report[]): Promise<Report> {
  const n = reports.length;
  child.kill('SIGUSR1');
  for (let i = 0; i < 200 && reports.length === n; i++) await sleep(10);
  if (reports.length === n) throw new Error('no stats report from the forwarder');
  return reports[reports.length - 1]!;
}

/**
 * The sim path ready for load: a server stand-in collecting the payloads it
 * receives, the forwarder CLI (`edit` adjusts its config), and an AirLoad on
 * its virtual air once the forwarder has sent its first PULL_DATA.
 */
export async function startSimPath(edit: (conf: Conf) => void = () => undefined): Promise<{
  ns: NetworkServerStandIn; child: ChildProcess; reports: Report[]; air: AirLoad; seen: Set<string>;
}> {
  const ns = new NetworkServerStandIn();
  const nsPort = await ns.start();
  const airPort = await freePort();
  const { child, reports } = await startForwarder(nsPort, airPort, edit);
  const seen = new Set<string>();
  ns.on('push', (e: PushEvent) => {
    for (const r of e.rxpk) seen.add(r.data);
  });
  const air = new AirLoad(airPort);
  await air.start();
  for (let i = 0; i < 500 && ns.counts.pull === 0; i++) await sleep(10);
  await air.waitListening();
  return { ns, child, reports, air, seen };
}
