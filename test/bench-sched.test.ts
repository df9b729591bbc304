/**
 * The scheduling variants of the SX127x benchmark (bench/sched.ts): each
 * variant's command really starts node under that policy, as read back from
 * /proc for every thread, and a policy other than the one asked for is
 * reported with the thread that differs. Real-time variants need root or
 * CAP_SYS_NICE and are skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { busyProcesses, cannotStart, checkPolicy, parseSchedVariant, threadPolicies } from '../bench/sched.js';
import { waitFor } from './helpers/harness.js';

test('variants: other, nice:N, rr:P, fifo:P; anything else is refused naming it', () => {
  assert.deepEqual(parseSchedVariant('other').prefix, []);
  assert.deepEqual(parseSchedVariant('nice:-10').prefix, ['nice', '-n', '-10']);
  assert.deepEqual(parseSchedVariant('rr:10').prefix, ['chrt', '-r', '10']);
  assert.deepEqual(parseSchedVariant('fifo:50').expect, { policy: 1, rtPriority: 50, nice: null });
  assert.equal(parseSchedVariant('rr:10').label, 'SCHED_RR 10');
  for (const bad of ['fifo', 'fifo:0', 'rr:100', 'nice:-21', 'nice:20', 'idle:1', 'FIFO:10', '']) {
    assert.throws(() => parseSchedVariant(bad), (e: Error) => e.message.includes(JSON.stringify(bad)), bad);
  }
});

/** node started through the variant's prefix, once it has exec'd node (chrt and nice exec their command). */
async function startNode(prefix: string[]): Promise<ChildProcess> {
  const cmd = [...prefix, process.execPath, '-e', 'setInterval(() => {}, 1000)'];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: 'ignore' });
  await waitFor(() => {
    try {
      return readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0')[0] === process.execPath;
    } catch {
      return false;
    }
  }, 5000, 'node exec');
  // node starts its V8 platform threads right away; wait until there are several.
  await waitFor(() => threadPolicies(child.pid!).length > 2, 5000, 'node threads');
  return child;
}

for (const name of ['other', 'nice:-10', 'rr:10', 'fifo:10']) {
  const v = parseSchedVariant(name);
  const why = cannotStart(v);
  test(`${name}: every thread of the started node runs ${v.label}`, { skip: why ?? false, timeout: 20_000 }, async () => {
    const child = await startNode(v.prefix);
    try {
      const text = checkPolicy(child.pid!, v);
      assert.match(text, new RegExp(`^\\d+ threads ${v.label}$`));
      // Asked for something else: refused, naming a thread and what it runs.
      const other = parseSchedVariant(name === 'fifo:10' ? 'rr:10' : 'fifo:10');
      assert.throws(() => checkPolicy(child.pid!, other), new RegExp(`started as ${other.label}, but thread \\d+ runs ${v.label}`));
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  });
}

test('busy processes run until ended, and are gone once end() resolves', { timeout: 20_000 }, async () => {
  const load = busyProcesses(2);
  assert.equal(load.pids.length, 2);
  try {
    for (const pid of load.pids) {
      await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('for (;;)'), 5000, `busy process ${pid}`);
      assert.equal(threadPolicies(pid)[0]!.policy, 0, 'SCHED_OTHER');
    }
  } finally {
    await load.end();
  }
  for (const pid of load.pids) assert.equal(existsSync(`/proc/${pid}`), false, `process ${pid} still there`);
});
