import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

/** Median of numbers (NaN-free input expected). */
export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile of a sorted array. */
export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A UDP port free right now on loopback. */
export async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const p = (s.address() as AddressInfo).port;
  s.close();
  return p;
}

/** user + system CPU seconds of a process, from /proc/<pid>/stat. */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the comm field: utime is field 14, stime 15 (1-based), i.e. index 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** Peak resident set size of a process, MiB (VmHWM). */
export function procPeakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const FREQS = [868.1, 868.3, 868.5, 867.1, 867.3, 867.5, 867.7, 867.9];

/** Load generator and listener on the sim's virtual air. */
export class AirLoad {
  private readonly sock = dgram.createSocket('udp4');
  private listening = false;
  /** count_us − target_us of every timestamped emission heard. */
  readonly downlinkErrors: number[] = [];

  /** `freqs`: the uplink channels, MHz (default the 8 EU868 channels of the shipped plan). */
  constructor(
    private readonly port: number,
    private readonly freqs: readonly number[] = FREQS,
  ) {
    this.sock.on('message', (m) => {
      const msg = JSON.parse(m.toString()) as { op: string; count_us: number; target_us: number | null };
      if (msg.op === 'listening') this.listening = true;
      else if (msg.op === 'downlink' && msg.target_us !== null) this.downlinkErrors.push((msg.count_us - msg.target_us) | 0);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', r));
    this.sock.setSendBufferSize(8 << 20);
  }

  /** Subscribes to emissions (retries until the sim answers). */
  async waitListening(): Promise<void> {
    for (let i = 0; i < 100 && !this.listening; i++) {
      this.sock.send('{"op":"listen"}', this.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!this.listening) throw new Error('sim did not answer listen');
  }

  private sendUplink(tag: string, i: number): void {
    const data = Buffer.from(tag).toString('base64');
    this.sock.send(
      `{"op":"uplink","freq":${this.freqs[i % this.freqs.length]},"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":-60,"lsnr":9.5,"crc":"ok","data":"${data}"}`,
      this.port,
      '127.0.0.1',
    );
  }

  /** Sends `rate` uplinks/s for `ms`, paced by elapsed time; resolves with their base64 payloads. */
  async uplinks(rate: number, ms: number, prefix: string): Promise<string[]> {
    const total = Math.round((rate * ms) / 1000);
    const tags: string[] = [];
    const t0 = performance.now();
    while (tags.length < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000));
      while (tags.length < due) {
        const tag = `${prefix}-${tags.length}`;
        this.sendUplink(tag, tags.length);
        tags.push(Buffer.from(tag).toString('base64'));
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    return tags;
  }

  /** Sends `rate` uplinks/s until the returned function is called. */
  background(rate: number, prefix: string): () => void {
    let n = 0;
    const t0 = performance.now();
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) * rate) / 1000);
      while (n < due) this.sendUplink(`${prefix}-${n}`, n++);
    }, 1);
    return () => clearInterval(timer);
  }

  stop(): void {
    this.sock.close();
  }
}

/**
 * The machine's own timing floor: spins on the monotonic clock for `windows`
 * windows of `windowMs` and returns, per window, the longest gap between two
 * consecutive clock reads (µs). A thread that is preempted or stalled by the
 * host cannot emit on time during such a gap, whatever the code does.
 */
export function spinGapsUs(windows = 200, windowMs = 6): number[] {
  const gaps: number[] = [];
  for (let i = 0; i < windows; i++) {
    const end = performance.now() + windowMs;
    let last = performance.now();
    let max = 0;
    for (;;) {
      const t = performance.now();
      if (t - last > max) max = t - last;
      last = t;
      if (t >= end) break;
    }
    gaps.push(max * 1000);
  }
  return gaps.sort((a, b) => a - b);
}
