/**
 * Readiness and watchdog through the real `systemd-notify` binary to a
 * stand-in notification socket (a Python Unix-datagram receiver): READY=1
 * at start, WATCHDOG=1 every WATCHDOG_USEC/2 from the event loop, none once
 * the loop is blocked, STOPPING=1 at the end.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSystemdNotify } from '../src/systemd-notify.js';
import { memoryLogger, waitFor } from './helpers/harness.js';

const RECEIVER = fileURLToPath(new URL('../../test/fixtures/notify-receiver.py', import.meta.url));
const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip = !have('systemd-notify') ? 'systemd-notify not installed' : !have('python3') ? 'python3 (the stand-in socket) not installed' : false;

test('READY=1, WATCHDOG=1 from the event loop (none while it is blocked), STOPPING=1; nothing without NOTIFY_SOCKET', { skip, timeout: 30_000 }, async () => {
  const { log } = memoryLogger();
  assert.equal(startSystemdNotify(log, {}).active, false, 'not under systemd: inactive');
  const path = join(mkdtempSync(join(tmpdir(), 'pktfwd-notify-')), 'notify.sock');
  const rx = spawn('python3', [RECEIVER, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let got = '';
  rx.stdout.on('data', (d: Buffer) => (got += d.toString()));
  try {
    await waitFor(() => got.includes('bound'), 5000, 'receiver bound');
    const n = startSystemdNotify(log, { ...process.env, NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000' });
    assert.equal(n.active, true);
    await waitFor(() => /READY=1 STATUS=forwarding MAINPID=\d+/.test(got), 5000, 'READY=1');
    await waitFor(() => (got.match(/WATCHDOG=1/g) ?? []).length >= 3, 5000, 'three watchdog pings');
    // A blocked event loop sends nothing: 500 ms of busy work, 5 ping periods.
    const before = n.pings;
    const end = performance.now() + 500;
    while (performance.now() < end) {
      // busy
    }
    assert.equal(n.pings, before, 'no ping while the loop was blocked');
    n.stopping();
    await waitFor(() => got.includes('STOPPING=1'), 5000, 'STOPPING=1');
    n.close();
    const after = (got.match(/WATCHDOG=1/g) ?? []).length;
    await new Promise((r) => setTimeout(r, 400));
    assert.ok((got.match(/WATCHDOG=1/g) ?? []).length <= after + 1, 'pings stop after close');
  } finally {
    rx.kill();
  }
});
