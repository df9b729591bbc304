/**
 * systemd/pktfwd.service read as systemd reads it: every device class it
 * allows is a kernel chrdev name from the table in
 * test/fixtures/kernel-device-names.ts (and every allowed one is there), the
 * real-time settings stay below the kernel's interrupt threads, and every
 * directive is one systemd knows. With systemd-analyze on the machine the
 * unit as install writes it is also verified by systemd itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { unitText } from '../src/install.js';
import { KERNEL_DEVICE_NAMES } from './fixtures/kernel-device-names.js';
import { deviceAllowProblems, parseUnit, values } from './helpers/systemd-unit.js';

const UNIT = fileURLToPath(new URL('../../systemd/pktfwd.service', import.meta.url));
const shipped = readFileSync(UNIT, 'utf8');
const NODE = realpathSync(process.execPath);

/** The directives the unit may use, per section (systemd.unit(5), .service(5), .exec(5), .kill(5), .resource-control(5)). */
const KNOWN: Record<string, string[]> = {
  Unit: ['Description', 'Documentation', 'After', 'Before', 'Wants', 'Requires', 'StartLimitIntervalSec', 'StartLimitBurst'],
  Service: [
    'Type', 'NotifyAccess', 'WatchdogSec', 'TimeoutStartSec', 'TimeoutStopSec', 'User', 'Group', 'SupplementaryGroups', 'WorkingDirectory',
    'ExecStart', 'ExecReload', 'Restart', 'RestartSec', 'RestartPreventExitStatus', 'StandardOutput', 'StandardError',
    'CPUSchedulingPolicy', 'CPUSchedulingPriority', 'CPUSchedulingResetOnFork', 'Nice', 'IOSchedulingClass', 'IOSchedulingPriority',
    'NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'ProtectControlGroups', 'ProtectKernelModules', 'ProtectKernelTunables',
    'RestrictSUIDSGID', 'LockPersonality', 'StateDirectory', 'ConfigurationDirectory', 'ReadWritePaths', 'DevicePolicy', 'DeviceAllow',
  ],
  Install: ['WantedBy'],
};
/** Directives systemd takes once (a second one silently overrides the first). */
const SINGLE = ['Type', 'User', 'Group', 'ExecStart', 'CPUSchedulingPolicy', 'CPUSchedulingPriority', 'DevicePolicy', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'WatchdogSec'];

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function lint(text: string): string[] {
  const u = parseUnit(text);
  const problems = u.junk.map((j) => `line ${j.line}: not a section, comment or Key=value: ${j.text}`);
  for (const e of u.entries) {
    if (!KNOWN[e.section]) problems.push(`line ${e.line}: unknown section [${e.section}]`);
    else if (!KNOWN[e.section]!.includes(e.key)) problems.push(`line ${e.line}: ${e.key}= is not a [${e.section}] directive this test knows (a typo? if systemd documents it, add it to KNOWN)`);
  }
  for (const k of SINGLE) if (values(u, 'Service', k).length > 1) problems.push(`${k}= is given ${values(u, 'Service', k).length} times`);
  return [...problems, ...deviceAllowProblems(u)];
}

describe('systemd/pktfwd.service', () => {
  test('every DeviceAllow= names a kernel chrdev name from the table, and every allowed name is there; DevicePolicy=closed', () => {
    const u = parseUnit(shipped);
    assert.deepEqual(deviceAllowProblems(u), []);
    assert.deepEqual(values(u, 'Service', 'DevicePolicy'), ['closed']);
    assert.ok(values(u, 'Service', 'DeviceAllow').includes('char-spi rw'), 'spidev registers its chrdev as "spi"');
  });

  test('the unit\'s comment cites the kernel source of every allowed name, as the table does', () => {
    const comments = parseUnit(shipped).comments.join('\n');
    for (const d of KERNEL_DEVICE_NAMES.filter((k) => k.allowed)) {
      const file = d.source.split(':')[0]!;
      assert.ok(comments.includes(file), `the unit's comment does not cite ${file} for char-${d.name}`);
      assert.match(comments, new RegExp(`^\\s+${d.name}\\s`, 'm'), `the unit's table has no row for ${d.name}`);
    }
  });

  test('the check catches a wrong class: char-spidev, a /dev path, a name the table does not allow, a missing one, mknod', () => {
    const withDevices = (lines: string[]) => parseUnit(shipped.replace(/^DeviceAllow=.*\n/gm, '').replace('DevicePolicy=closed\n', `DevicePolicy=closed\n${lines.join('\n')}\n`));
    const good = values(parseUnit(shipped), 'Service', 'DeviceAllow').map((v) => `DeviceAllow=${v}`);
    assert.deepEqual(deviceAllowProblems(withDevices(good)), [], 'the shipped lines pass');
    const spidev = deviceAllowProblems(withDevices(good.map((l) => l.replace('char-spi ', 'char-spidev '))));
    assert.ok(spidev.some((p) => /"spidev" is not a kernel chrdev name/.test(p)), spidev.join('\n'));
    assert.ok(spidev.some((p) => /char-spi is missing/.test(p)), spidev.join('\n'));
    assert.ok(deviceAllowProblems(withDevices([...good, 'DeviceAllow=/dev/gpiomem rw'])).some((p) => /"\/dev\/gpiomem" is not a char-NAME class/.test(p)));
    assert.ok(deviceAllowProblems(withDevices([...good, 'DeviceAllow=char-gpiomem rw'])).some((p) => /marks "gpiomem" as not allowed/.test(p)));
    assert.ok(deviceAllowProblems(withDevices(good.filter((l) => !l.includes('ttyACM')))).some((p) => /char-ttyACM is missing/.test(p)));
    assert.ok(deviceAllowProblems(withDevices([...good.slice(1), 'DeviceAllow=char-spi rwm'])).some((p) => /mode "rwm"/.test(p)));
  });

  test('real-time scheduling: SCHED_FIFO/RR at a priority below the kernel\'s threaded interrupts (50), never RestrictRealtime', () => {
    const u = parseUnit(shipped);
    const [policy] = values(u, 'Service', 'CPUSchedulingPolicy');
    assert.ok(policy === 'fifo' || policy === 'rr', `CPUSchedulingPolicy=${policy}`);
    const prio = Number(values(u, 'Service', 'CPUSchedulingPriority')[0]);
    assert.ok(Number.isInteger(prio) && prio >= 1 && prio < 50, `CPUSchedulingPriority=${prio}: 1..49 keeps the IRQ threads (SCHED_FIFO 50) ahead of pktfwd`);
    assert.deepEqual(values(u, 'Service', 'RestrictRealtime'), []);
    assert.deepEqual(values(u, 'Service', 'WatchdogSec'), ['30'], 'the watchdog still restarts a loop that stops feeding it');
  });

  test('every line is a section, a comment or a directive systemd knows, each single-valued directive once', () => {
    assert.deepEqual(lint(shipped), []);
    assert.ok(lint(shipped.replace('CPUSchedulingPolicy=fifo', 'CPUSchedulingPolicyy=fifo')).some((p) => /CPUSchedulingPolicyy= is not/.test(p)), 'a typo is caught');
  });

  test('as install writes it: this machine\'s paths, only the groups that exist (none: no SupplementaryGroups= at all)', () => {
    const all = unitText('/opt/pktfwd', '/usr/bin/node');
    assert.deepEqual(lint(all), []);
    assert.deepEqual(values(parseUnit(all), 'Service', 'SupplementaryGroups'), ['spi gpio dialout']);
    const some = parseUnit(unitText('/srv/pktfwd', '/usr/local/bin/node', ['spi', 'dialout']));
    assert.deepEqual(values(some, 'Service', 'SupplementaryGroups'), ['spi dialout']);
    assert.deepEqual(values(some, 'Service', 'ExecStart'), ['/usr/local/bin/node --max-semi-space-size=2 /srv/pktfwd/dist/src/cli.js run --config /etc/pktfwd/global_conf.json --log-format json']);
    assert.deepEqual(values(some, 'Unit', 'Documentation'), ['file:///srv/pktfwd/README.md']);
    const none = unitText('/opt/pktfwd', '/usr/bin/node', []);
    assert.deepEqual(values(parseUnit(none), 'Service', 'SupplementaryGroups'), []);
    assert.deepEqual(lint(none), []);
  });

  test('systemd-analyze verify accepts the unit as install writes it (and flags a bad value, so the check can fail)', { skip: have('systemd-analyze') ? false : 'systemd-analyze not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktfwd-unit-'));
    const file = join(dir, 'pktfwd.service');
    writeFileSync(file, unitText('/opt/pktfwd', NODE, ['dialout']));
    const ok = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr, /pktfwd\.service:/, ok.stderr);
    writeFileSync(file, unitText('/opt/pktfwd', NODE, ['dialout']).replace('CPUSchedulingPolicy=fifo', 'CPUSchedulingPolicy=realtime'));
    const bad = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    assert.match(bad.stderr, /pktfwd\.service:\d+: .*CPU scheduling policy/, bad.stderr);
  });
});
