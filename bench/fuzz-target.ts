/**
 * The forwarder under fuzz: the real CLI as a child process on the simulated
 * concentrator, talking to a server on loopback, with its status API on.
 * Its JSON log is read for the ports it bound and for every line at error
 * level or above; after start-up its log level is lowered to `error` with
 * SIGHUP (the config file is rewritten first), so that a million warnings
 * about malformed datagrams do not cost the run its speed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ForwarderStatus } from '../src/forwarder.js';

const ROOT = new URL('../../', import.meta.url);
const CLI = fileURLToPath(new URL('dist/src/cli.js', ROOT));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A running forwarder process. */
export class FuzzTarget {
  /** Lines logged at error or fatal level (pino 50, 60). */
  errorsLogged = 0;
  /** The first few of them, for the report. */
  readonly errorSamples: string[] = [];
  airPort = 0;
  url = '';
  private child: ChildProcess | null = null;
  private out = '';
  private stderr = '';
  private exit: Promise<number | null> | null = null;

  /** Starts the CLI against the server at 127.0.0.1:`serverPort`; resolves once its air port and API are up. */
  async start(serverPort: number): Promise<void> {
    const conf = JSON.parse(readFileSync(new URL('global_conf.json', ROOT), 'utf8')) as Record<string, Record<string, unknown>>;
    conf.gateway_conf = {
      ...conf.gateway_conf, gateway_ID: 'AA555A0000000000', server_address: '127.0.0.1', serv_port_up: serverPort, serv_port_down: serverPort,
      keepalive_interval: 1, stat_interval: 3600, log_level: 'info', radio: 'sim',
    };
    conf.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
    conf.api_conf = { port: 0 };
    const file = join(mkdtempSync(join(tmpdir(), 'pktfwd-fuzz-')), 'global_conf.json');
    writeFileSync(file, JSON.stringify(conf));
    const child = spawn(process.execPath, [CLI, 'run', '--config', file, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exit = new Promise((r) => child.once('exit', (code) => r(code)));
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    for (let i = 0; i < 1000 && (!this.airPort || !this.url) && this.alive; i++) await sleep(10);
    if (!this.airPort || !this.url) throw new Error(`forwarder did not start: ${this.stderr.slice(-2000)}${this.out.slice(-2000)}`);
    conf.gateway_conf.log_level = 'error';
    writeFileSync(file, JSON.stringify(conf));
    // The handler is installed in the same tick as the line announcing the API, so it is there by now.
    child.kill('SIGHUP');
  }

  private onLine(line: string): void {
    if (!this.url) this.out += `${line}\n`;
    const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
    if (level >= 50) {
      this.errorsLogged++;
      if (this.errorSamples.length < 5) this.errorSamples.push(line.slice(0, 500));
    }
    if (!this.airPort) this.airPort = Number(/"air":"127\.0\.0\.1:(\d+)"/.exec(line)?.[1] ?? 0);
    if (!this.url) this.url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(line)?.[1] ?? '';
  }

  /** The process has not exited. */
  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Exit code so far (null while alive), and what it wrote to stderr. */
  get exitInfo(): { code: number | null; signal: string | null; stderr: string } {
    return { code: this.child?.exitCode ?? null, signal: this.child?.signalCode ?? null, stderr: this.stderr.slice(-2000) };
  }

  /** `GET /api/status`. */
  async status(): Promise<ForwarderStatus> {
    const r = await fetch(`${this.url}/api/status`);
    return (await r.json()) as ForwarderStatus;
  }

  /** SIGTERM, then the exit code (SIGKILL after 10 s). */
  async stop(): Promise<number | null> {
    if (!this.child || !this.exit) return null;
    if (!this.alive) return this.exit;
    this.child.kill('SIGTERM');
    const code = await Promise.race([this.exit, sleep(10_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      return this.exit;
    }
    return code;
  }
}
