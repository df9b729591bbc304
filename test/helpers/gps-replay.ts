/**
 * A GPS receiver on a real serial path for end-to-end tests: a socat pty
 * pair (the forwarder opens one end with serialport, the test writes the
 * other), a capture from shared/reference/nmea grouped by epoch, and its
 * replay at 9600-baud pacing with a PPS edge on the simulated concentrator
 * ~30 ms after each whole counter second, as a receiver's PPS precedes its
 * sentences.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AirClient } from './harness.js';
import { waitFor } from './harness.js';
import { NMEA_DIR } from './shared-kit.js';

/** The Quectel L70 capture (2022-03-09) the serial tests replay. */
export const L70_CAPTURE = join(NMEA_DIR, 'quectel-L70.log');
const haveSocat = spawnSync('sh', ['-c', 'command -v socat']).status === 0;
/** Why a replay test cannot run here, or false. */
export const gpsReplaySkip: string | false = !haveSocat ? 'socat not installed (apt-get install socat; .ci/run does)' : !existsSync(L70_CAPTURE) ? `${L70_CAPTURE} is missing (set PKTFWD_SHARED_DIR)` : false;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One epoch of a capture: its UTC second and its sentences (CRLF-terminated). */
export interface Epoch { utcMs: number; lines: string[] }

/** The capture's sentences grouped by epoch (the hhmmss of their time field), comment lines dropped; `date` is the capture's day (UTC, ms). */
export function captureEpochs(file = L70_CAPTURE, date = Date.UTC(2022, 2, 9)): Epoch[] {
  const out: { key: string; lines: string[] }[] = [];
  for (const raw of readFileSync(file, 'latin1').split('\n')) {
    const l = raw.replace(/\r$/, '');
    if (!l.startsWith('$')) continue;
    const t = /^\$[A-Z]+,(\d{6})(\.\d+)?,/.exec(l)?.[1];
    if (t && (out.length === 0 || out.at(-1)!.key !== t)) out.push({ key: t, lines: [] });
    out.at(-1)?.lines.push(`${l}\r\n`);
  }
  return out.map((e) => ({ utcMs: date + ((Number(e.key.slice(0, 2)) * 60 + Number(e.key.slice(2, 4))) * 60 + Number(e.key.slice(4, 6))) * 1000, lines: e.lines }));
}

/** A pty pair: `gps` is the receiver's side (give it to the forwarder), `feed` the test's. */
export class PtyPair {
  readonly dir = mkdtempSync(join(tmpdir(), 'pktfwd-gps-'));
  readonly gps = join(this.dir, 'gps');
  readonly feedPath = join(this.dir, 'feed');
  private readonly socat: ChildProcess;
  private fd = -1;

  constructor() {
    this.socat = spawn('socat', [`pty,raw,echo=0,link=${this.gps}`, `pty,raw,echo=0,link=${this.feedPath}`], { stdio: 'ignore' });
  }

  async ready(): Promise<void> {
    await waitFor(() => existsSync(this.gps) && existsSync(this.feedPath), 5000, 'socat ptys');
  }

  write(text: string): void {
    if (this.fd < 0) this.fd = openSync(this.feedPath, 'w');
    writeSync(this.fd, text);
  }

  /**
   * Replays `eps` one per counter second: a PPS datagram to the sim ~30 ms
   * after each whole second of its counter (`startCount` is the counter when
   * the air client started listening), then the epoch's sentences.
   */
  async replay(air: AirClient, startCount: number, eps: readonly Epoch[]): Promise<void> {
    const t0 = performance.now();
    const firstBoundaryMs = (1_000_000 - (startCount % 1_000_000)) / 1000 + 30;
    for (const [k, e] of eps.entries()) {
      await sleep(Math.max(0, t0 + firstBoundaryMs + k * 1000 - performance.now()));
      air.send({ op: 'pps' });
      await sleep(10);
      for (const l of e.lines) {
        this.write(l);
        await sleep((l.length * 10) / 9.6); // 9600 baud, 10 bits per byte
      }
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.socat.kill();
  }
}
