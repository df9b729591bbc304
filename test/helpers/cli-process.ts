/**
 * The real `pktfwd run` as a child process for end-to-end tests: the shipped
 * global_conf.json edited by the test, the simulated radio, one server on
 * loopback, JSON log lines collected.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../../global_conf.json', import.meta.url));

/** The shipped global_conf.json as an object, to edit. */
export function shippedConf(): Record<string, Record<string, unknown>> {
  return JSON.parse(readFileSync(SHIPPED, 'utf8')) as Record<string, Record<string, unknown>>;
}

/** A running `pktfwd run --radio sim` with `conf`, pointed at 127.0.0.1:`serverPort`. */
export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  /** Its JSON log lines so far. */
  entries: () => Record<string, unknown>[];
}

export function spawnCli(conf: Record<string, unknown>, serverPort: number, env: NodeJS.ProcessEnv = process.env): CliProcess {
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-cli-'));
  writeFileSync(join(dir, 'global_conf.json'), JSON.stringify(conf));
  const child = spawn(process.execPath, [CLI, 'run', '--config', join(dir, 'global_conf.json'), '--radio', 'sim', '--server', '127.0.0.1', '--port-up', String(serverPort), '--port-down', String(serverPort), '--log-format', 'json'], {
    stdio: ['pipe', 'pipe', 'pipe'], env,
  });
  child.stdin.end();
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return { child, entries: () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) };
}
