/**
 * CPU scheduling for the benchmarks: the forwarder started under a chosen
 * Linux scheduling policy (what systemd's `CPUSchedulingPolicy=`,
 * `CPUSchedulingPriority=` and `Nice=` set for the service), the policy read
 * back from /proc for every thread, and competing busy processes.
 *
 * Policy numbers are the kernel's (include/uapi/linux/sched.h: SCHED_OTHER 0,
 * SCHED_FIFO 1, SCHED_RR 2); in /proc/<pid>/stat, nice is field 19,
 * rt_priority field 40 and policy field 41 (proc(5)).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** One way of starting the forwarder. */
export interface SchedVariant {
  /** As given on the command line: `other`, `nice:-10`, `rr:10`, `fifo:10`. */
  name: string;
  /** What it is, for the report. */
  label: string;
  /** Command put before `node …` (empty: started as the bench itself runs). */
  prefix: string[];
  /** What /proc must show for every thread of the started process (nice: null = not looked at; it does not apply to real-time policies). */
  expect: { policy: number; rtPriority: number; nice: number | null };
}

const POLICY_NAMES = ['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE', 'SCHED_DEADLINE'];

/** `SCHED_FIFO 10`, `SCHED_OTHER nice -10`. */
export function policyText(p: { policy: number; rtPriority: number; nice: number }): string {
  const name = POLICY_NAMES[p.policy] ?? `policy ${p.policy}`;
  return p.policy === 1 || p.policy === 2 ? `${name} ${p.rtPriority}` : `${name} nice ${p.nice}`;
}

/** Parses one variant; throws an Error naming it when it is not one of the forms above. */
export function parseSchedVariant(text: string): SchedVariant {
  const t = text.trim();
  if (t === 'other') return { name: t, label: 'SCHED_OTHER nice 0', prefix: [], expect: { policy: 0, rtPriority: 0, nice: 0 } };
  const m = /^(nice|rr|fifo):(-?\d+)$/.exec(t);
  if (!m) throw new Error(`scheduling variant ${JSON.stringify(text)}: expected other, nice:N (-20..19), rr:P or fifo:P (1..99)`);
  const n = Number(m[2]);
  if (m[1] === 'nice') {
    // nice(1) adds to the caller's niceness: N is absolute only from nice 0, which cannotStart checks.
    if (n < -20 || n > 19) throw new Error(`scheduling variant ${JSON.stringify(text)}: nice must be -20..19`);
    return { name: t, label: `SCHED_OTHER nice ${n}`, prefix: ['nice', '-n', String(n)], expect: { policy: 0, rtPriority: 0, nice: n } };
  }
  if (n < 1 || n > 99) throw new Error(`scheduling variant ${JSON.stringify(text)}: a real-time priority must be 1..99`);
  const fifo = m[1] === 'fifo';
  return {
    name: t, label: `${fifo ? 'SCHED_FIFO' : 'SCHED_RR'} ${n}`, prefix: ['chrt', fifo ? '-f' : '-r', String(n)],
    expect: { policy: fifo ? 1 : 2, rtPriority: n, nice: null },
  };
}

/** Whether this process can start `v` (chrt and a negative nice need root or CAP_SYS_NICE); null if it can, else why not. */
export function cannotStart(v: SchedVariant): string | null {
  if (v.prefix.length === 0) {
    // Started as this process runs: only SCHED_OTHER nice 0 if this process is.
    const self = statFields(readFileSync('/proc/self/stat', 'utf8'));
    return self.policy === 0 && self.nice === 0 ? null : `this process runs ${policyText(self)}, not SCHED_OTHER nice 0`;
  }
  const r = spawnSync(v.prefix[0]!, [...v.prefix.slice(1), 'true'], { encoding: 'utf8' });
  if (r.error) return `${v.prefix.join(' ')}: ${r.error.message}`;
  if (r.status !== 0) return `${v.prefix.join(' ')} true: ${(r.stderr || `exit ${r.status}`).trim()} (needs root or CAP_SYS_NICE)`;
  // nice(1) only warns when it cannot lower the value, so check what it gave.
  if (v.prefix[0] === 'nice') {
    const probe = spawnSync(v.prefix[0], [...v.prefix.slice(1), 'cat', '/proc/self/stat'], { encoding: 'utf8' });
    const got = statFields(probe.stdout ?? '').nice;
    const own = statFields(readFileSync('/proc/self/stat', 'utf8')).nice;
    if (got !== v.expect.nice) return `${v.prefix.join(' ')} gave nice ${got} (it adds to this process's nice ${own}; going below 0 needs root or CAP_SYS_NICE)`;
  }
  return null;
}

/** The fields of /proc/<pid>/stat after the command name, 1-based as in proc(5) (index 0 = field 3). */
function statFields(stat: string): { nice: number; rtPriority: number; policy: number } {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { nice: Number(f[19 - 3]), rtPriority: Number(f[40 - 3]), policy: Number(f[41 - 3]) };
}

/** Scheduling of every thread of `pid`, from /proc. */
export function threadPolicies(pid: number): { tid: number; policy: number; rtPriority: number; nice: number }[] {
  const out = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push({ tid: Number(tid), ...statFields(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')) });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** Checks that every thread of `pid` runs as `v` asks; returns the text for the report, or throws saying which thread differs. */
export function checkPolicy(pid: number, v: SchedVariant): string {
  const threads = threadPolicies(pid);
  const off = threads.filter((t) => t.policy !== v.expect.policy || t.rtPriority !== v.expect.rtPriority || (v.expect.nice !== null && t.nice !== v.expect.nice));
  if (threads.length === 0 || off.length > 0) {
    throw new Error(`forwarder started as ${v.label}, but ${off.length ? `thread ${off[0]!.tid} runs ${policyText(off[0]!)}` : 'no thread was found'}`);
  }
  return `${threads.length} threads ${policyText(threads[0]!)}`;
}

/** Competing load: `n` processes spinning at SCHED_OTHER nice 0; `end` kills them and resolves once they are gone. */
export function busyProcesses(n: number): { pids: number[]; end(): Promise<void> } {
  const kids: ChildProcess[] = [];
  for (let i = 0; i < n; i++) kids.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  return {
    pids: kids.map((k) => k.pid!),
    end: async () => {
      await Promise.all(kids.map((k) => new Promise<void>((r) => {
        if (k.exitCode !== null || k.signalCode !== null) return r();
        k.once('exit', () => r());
        k.kill('SIGKILL');
      })));
    },
  };
}
