/**
 * `pktfwd install` / `uninstall` through the real CLI in a temporary root:
 * the real useradd, userdel and systemctl run with --root, so nothing on this
 * machine changes. The installed unit is checked against the kernel's device
 * names and with `systemd-analyze verify`.
 *
 * The unit names paths on the target, and install refuses ones the hardened
 * unit cannot reach (/home, /root, /tmp: this checkout may well be in /tmp on
 * CI). So the tests install with `--package-dir /opt/pktfwd` (a placeholder
 * dist/src/cli.js inside the fake root) and `--node` this node's real path
 * (a placeholder file at that path inside the fake root, so no "does not exist
 * yet" note); the presets are read from this checkout, as always.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/index.js';
import { deviceAllowProblems, parseUnit, values } from './helpers/systemd-unit.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const PKG = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const NODE = realpathSync(process.execPath);
const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['useradd', 'userdel', 'systemctl'].filter((c) => !have(c));
const nodeHidden = /^\/(home|root|tmp|var\/tmp|run\/user)\//.test(NODE);
const skip = missing.length
  ? `${missing.join(', ')} not installed (the install runs them with --root)`
  : nodeHidden ? `this node (${NODE}) is where the service could not run it, so install refuses it` : false;
const GROUP_ALL = 'root:x:0:\ndialout:x:20:pi\nspi:x:999:pi\ngpio:x:997:pi\npi:x:1000:\n';
/** Where the unit says pktfwd is: on the target, not this checkout. */
const TARGET = ['--package-dir', '/opt/pktfwd', '--node', NODE];

/** A minimal Raspberry Pi OS root: accounts with the spi/gpio/dialout groups (or `group`), the boot files, pktfwd and node where the unit will look. */
function fakeRoot(group = GROUP_ALL): string {
  const r = mkdtempSync(join(tmpdir(), 'pktfwd-root-'));
  mkdirSync(join(r, 'etc'), { recursive: true });
  mkdirSync(join(r, 'boot/firmware'), { recursive: true });
  writeFileSync(join(r, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000::/home/pi:/bin/bash\n');
  writeFileSync(join(r, 'etc/group'), group);
  writeFileSync(join(r, 'etc/shadow'), 'root:*:19000:0:99999:7:::\npi:*:19000:0:99999:7:::\n');
  writeFileSync(join(r, 'etc/gshadow'), group.split('\n').filter(Boolean).map((l) => { const [n, , , m] = l.split(':'); return `${n}:!::${m ?? ''}`; }).join('\n') + '\n');
  writeFileSync(join(r, 'boot/firmware/config.txt'), '[all]\n#dtparam=spi=on\n');
  writeFileSync(join(r, 'boot/firmware/cmdline.txt'), 'console=serial0,115200 console=tty1 root=PARTUUID=abc rootfstype=ext4 rootwait\n');
  mkdirSync(join(r, 'opt/pktfwd/dist/src'), { recursive: true });
  writeFileSync(join(r, 'opt/pktfwd/dist/src/cli.js'), '// placeholder: the unit names /opt/pktfwd/dist/src/cli.js\n');
  mkdirSync(join(r, dirname(NODE)), { recursive: true });
  writeFileSync(join(r, NODE), '');
  return r;
}

function pktfwd(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
}

/** Every file (with its content) and symlink (with its target) under `dir`, relative, sorted. */
function snapshot(dir: string, base = dir): [string, string][] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e): [string, string][] => {
    const p = join(dir, e.name);
    const rel = p.slice(base.length + 1);
    if (e.isSymbolicLink()) return [[rel, `-> ${readlinkSync(p)}`]];
    return e.isDirectory() ? [[`${rel}/`, ''], ...snapshot(p, base)] : [[rel, readFileSync(p, 'utf8')]];
  }).sort((a, b) => a[0].localeCompare(b[0]));
}

/** One line on stderr, naming what it must. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  return lines[0]!;
}

describe('pktfwd install / uninstall in a temporary root', () => {
  test('--dry-run prints the plan and changes nothing; an SX1301 board gets the firmware step, an SX127x board and sim do not', { skip }, () => {
    const r = fakeRoot();
    const before = snapshot(r);
    const res = pktfwd(['install', '--root', r, '--board', 'rak2245', '--region', 'us915', '--enable-spi', '--dry-run', ...TARGET]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /would do/);
    assert.match(res.stdout, /create system user pktfwd \(groups: spi, gpio, dialout\)/);
    assert.match(res.stdout, /global_conf\.json from global_conf\.us915\.json/);
    assert.match(res.stdout, /directory \/var\/lib\/pktfwd\/sx1301-firmware/);
    assert.doesNotMatch(res.stdout, /note:/, 'pktfwd and node are where the unit looks');
    for (const board of ['dragino-lora-gps-hat', 'adafruit-rfm95-bonnet', 'sim']) {
      const plan = pktfwd(['install', '--root', r, '--board', board, '--dry-run', ...TARGET]);
      assert.equal(plan.status, 0, plan.stderr);
      assert.doesNotMatch(plan.stdout, /sx1301|firmware/i, `${board}: ${plan.stdout}`);
    }
    assert.deepEqual(snapshot(r), before);
  });

  test('install: user in spi/gpio/dialout, config preset + board, unit with the target\'s paths (device names checked, verified), enabled, SPI/UART on; the same options again change nothing; uninstall reverses it', { skip }, () => {
    const r = fakeRoot();
    const args = ['install', '--root', r, '--board', 'rak2245', '--region', 'us915', '--server', 'nam1.cloud.thethings.network', '--enable-spi', '--enable-serial', ...TARGET];
    const res = pktfwd(args);
    assert.equal(res.status, 0, res.stderr + res.stdout);
    assert.match(res.stdout, /Next: put the SX1301 firmware in place/);
    const passwd = readFileSync(join(r, 'etc/passwd'), 'utf8');
    assert.match(passwd, /^pktfwd:x:\d+:\d+::\/var\/lib\/pktfwd:\/usr\/sbin\/nologin$/m);
    const group = readFileSync(join(r, 'etc/group'), 'utf8');
    for (const g of ['spi', 'gpio', 'dialout']) assert.match(group, new RegExp(`^${g}:x:\\d+:.*\\bpktfwd\\b`, 'm'), g);

    const conf = loadConfig({ globalPath: join(r, 'etc/pktfwd/global_conf.json'), macs: { interfaces: () => ({ eth0: 'b8:27:eb:00:00:01' }), routeTable: () => null } });
    assert.deepEqual(conf.warnings, []);
    assert.equal(conf.config.gateway.radio, 'sx1301');
    assert.equal(conf.config.gateway.serverAddress, 'nam1.cloud.thethings.network');
    assert.equal(conf.config.sx1301.resetPinBcm, 17, 'rak2245: reset on BCM17');
    assert.equal(conf.config.board.radios[0]!.freqHz, 904_300_000, 'the US915 preset');

    const unitFile = join(r, 'etc/systemd/system/pktfwd.service');
    const unit = readFileSync(unitFile, 'utf8');
    const u = parseUnit(unit);
    assert.deepEqual(values(u, 'Service', 'ExecStart'), [`${NODE} --max-semi-space-size=2 /opt/pktfwd/dist/src/cli.js run --config /etc/pktfwd/global_conf.json --log-format json`]);
    assert.deepEqual(values(u, 'Service', 'SupplementaryGroups'), ['spi gpio dialout']);
    assert.deepEqual(deviceAllowProblems(u), []);
    for (const line of ['Type=notify', 'NotifyAccess=all', 'WatchdogSec=30', 'User=pktfwd', 'Restart=on-failure', 'NoNewPrivileges=true', 'ProtectSystem=strict', 'ProtectHome=true', 'PrivateTmp=true', 'ReadWritePaths=/var/lib/pktfwd', 'DeviceAllow=char-spi rw', 'CPUSchedulingPolicy=fifo', 'After=network-online.target time-sync.target']) {
      assert.ok(unit.split('\n').includes(line), line);
    }
    assert.doesNotMatch(unit, /^Requires=network/m, 'does not depend on the network being up');
    const wants = join(r, 'etc/systemd/system/multi-user.target.wants/pktfwd.service');
    assert.ok(lstatSync(wants).isSymbolicLink(), 'enabled');
    if (have('systemd-analyze')) {
      const v = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr);
      assert.doesNotMatch(v.stderr, /pktfwd\.service:/, v.stderr);
    }
    assert.equal(readFileSync(join(r, 'boot/firmware/config.txt'), 'utf8'), '[all]\ndtparam=spi=on\nenable_uart=1\n');
    assert.equal(readFileSync(join(r, 'boot/firmware/cmdline.txt'), 'utf8'), 'console=tty1 root=PARTUUID=abc rootfstype=ext4 rootwait\n');
    assert.ok(existsSync(join(r, 'var/lib/pktfwd/sx1301-firmware')));

    // The same options again: exit 0, the configuration byte for byte as it was, hand edits that keep the choices kept.
    const local = JSON.parse(readFileSync(join(r, 'etc/pktfwd/local_conf.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    local.gateway_conf!.gps_tty_path = '/dev/serial0';
    writeFileSync(join(r, 'etc/pktfwd/local_conf.json'), JSON.stringify(local));
    const configBefore = snapshot(join(r, 'etc/pktfwd'));
    const again = pktfwd(args);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /user pktfwd exists: kept/);
    assert.match(again.stdout, /global_conf\.json exists, same choices: kept/);
    assert.match(again.stdout, /local_conf\.json exists, same choices: kept/);
    assert.deepEqual(snapshot(join(r, 'etc/pktfwd')), configBefore);
    // Without --region/--server: what is installed stays (not eu868, not "no server").
    const bare = pktfwd(['install', '--root', r, '--board', 'rak2245', ...TARGET]);
    assert.equal(bare.status, 0, bare.stderr);
    assert.deepEqual(snapshot(join(r, 'etc/pktfwd')), configBefore);

    const un = pktfwd(['uninstall', '--root', r]);
    assert.equal(un.status, 0, un.stderr + un.stdout);
    assert.ok(!existsSync(unitFile));
    assert.ok(!existsSync(wants), 'disabled');
    assert.ok(!existsSync(join(r, 'var/lib/pktfwd')));
    assert.doesNotMatch(readFileSync(join(r, 'etc/passwd'), 'utf8'), /^pktfwd:/m);
    assert.ok(existsSync(join(r, 'etc/pktfwd/global_conf.json')), 'configuration kept without --purge');
    assert.match(un.stdout, /left as is: \/boot\/firmware\/config\.txt/);
  });

  test('installing again with another --board, --region or --server: refused with old → new and nothing changed; --force replaces and keeps backups; then idempotent', { skip }, () => {
    const r = fakeRoot();
    assert.equal(pktfwd(['install', '--root', r, '--board', 'rak2245', '--region', 'us915', '--server', 'nam1.cloud.thethings.network', ...TARGET]).status, 0);
    const oldGlobal = readFileSync(join(r, 'etc/pktfwd/global_conf.json'), 'utf8');
    const oldLocal = readFileSync(join(r, 'etc/pktfwd/local_conf.json'), 'utf8');
    const before = snapshot(r);
    const other = ['install', '--root', r, '--board', 'dragino-lora-gps-hat', '--region', 'eu868', '--server', 'eu1.cloud.thethings.network', ...TARGET];

    const refused = pktfwd(other);
    assert.equal(refused.status, 1, refused.stdout);
    const line = oneLine(refused.stderr);
    assert.match(line, /region us915 → eu868/);
    assert.match(line, /board rak2245 → dragino-lora-gps-hat/);
    assert.match(line, /server nam1\.cloud\.thethings\.network → eu1\.cloud\.thethings\.network/);
    assert.match(line, /--force/);
    assert.deepEqual(snapshot(r), before, 'nothing changed');
    // One choice alone is enough to refuse.
    const serverOnly = pktfwd(['install', '--root', r, '--board', 'rak2245', '--server', 'eu1.cloud.thethings.network', ...TARGET]);
    assert.equal(serverOnly.status, 1);
    assert.doesNotMatch(oneLine(serverOnly.stderr), /region|board/);

    const forced = pktfwd([...other, '--force']);
    assert.equal(forced.status, 0, forced.stderr);
    const backups = readdirSync(join(r, 'etc/pktfwd')).filter((f) => f.includes('.bak-')).sort();
    assert.equal(backups.length, 2, backups.join(' '));
    const [globalBak, localBak] = backups as [string, string];
    assert.match(globalBak, /^global_conf\.json\.bak-\d{8}T\d{6}Z$/);
    assert.equal(readFileSync(join(r, 'etc/pktfwd', globalBak), 'utf8'), oldGlobal);
    assert.equal(readFileSync(join(r, 'etc/pktfwd', localBak), 'utf8'), oldLocal);
    assert.ok(forced.stdout.includes(`/etc/pktfwd/${globalBak}`) && forced.stdout.includes(`/etc/pktfwd/${localBak}`), `says where the backups are:\n${forced.stdout}`);
    const conf = loadConfig({ globalPath: join(r, 'etc/pktfwd/global_conf.json'), macs: { interfaces: () => ({ eth0: 'b8:27:eb:00:00:01' }), routeTable: () => null } });
    assert.equal(conf.config.gateway.radio, 'sx127x');
    assert.equal(conf.config.gateway.serverAddress, 'eu1.cloud.thethings.network');
    assert.equal(readFileSync(join(r, 'etc/pktfwd/global_conf.json'), 'utf8'), readFileSync(join(PKG, 'global_conf.json'), 'utf8'), 'the EU868 preset');

    const settled = snapshot(join(r, 'etc/pktfwd'));
    const same = pktfwd([...other, '--force']);
    assert.equal(same.status, 0, same.stderr);
    assert.deepEqual(snapshot(join(r, 'etc/pktfwd')), settled, 'the same options again: no new backup, nothing rewritten');
  });

  test('SupplementaryGroups= lists only the groups /etc/group has: no gpio group, no gpio in the unit; none of them, no SupplementaryGroups= line', { skip }, () => {
    const r = fakeRoot('root:x:0:\ndialout:x:20:pi\nspi:x:999:pi\npi:x:1000:\n');
    const res = pktfwd(['install', '--root', r, '--board', 'dragino-lora-gps-hat', ...TARGET]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /create system user pktfwd \(groups: spi, dialout\)/);
    const unitFile = join(r, 'etc/systemd/system/pktfwd.service');
    const u = parseUnit(readFileSync(unitFile, 'utf8'));
    assert.deepEqual(values(u, 'Service', 'SupplementaryGroups'), ['spi dialout']);
    assert.match(readFileSync(join(r, 'etc/group'), 'utf8'), /^spi:x:999:pi,pktfwd$/m);
    assert.ok(!existsSync(join(r, 'var/lib/pktfwd/sx1301-firmware')), 'no SX1301 firmware directory for an SX127x board');
    assert.doesNotMatch(res.stdout, /firmware/i);

    const bare = fakeRoot('root:x:0:\npi:x:1000:\n');
    const res2 = pktfwd(['install', '--root', bare, '--board', 'sim', ...TARGET]);
    assert.equal(res2.status, 0, res2.stderr);
    assert.match(res2.stdout, /groups: none of spi, gpio, dialout exist here/);
    const unit2 = readFileSync(join(bare, 'etc/systemd/system/pktfwd.service'), 'utf8');
    assert.deepEqual(values(parseUnit(unit2), 'Service', 'SupplementaryGroups'), []);
    if (have('systemd-analyze')) {
      const v = spawnSync('systemd-analyze', ['verify', join(bare, 'etc/systemd/system/pktfwd.service')], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr);
      assert.doesNotMatch(v.stderr, /pktfwd\.service:/, v.stderr);
    }
  });

  test('a failing step prints the command\'s own error: useradd finding /etc/passwd locked', { skip }, () => {
    const r = fakeRoot();
    // shadow's lock protocol: a lock file holding a live PID (this test's) means "in use".
    writeFileSync(join(r, 'etc/passwd.lock'), String(process.pid));
    const res = pktfwd(['install', '--root', r, '--board', 'rak2245', ...TARGET]);
    assert.equal(res.status, 1, res.stdout);
    const line = oneLine(res.stderr);
    assert.match(line, /install failed at "create system user pktfwd/);
    assert.match(line, /useradd: cannot lock \/etc\/passwd; try again later\./);
    assert.match(line, /nothing was changed/);
    assert.doesNotMatch(line, /Command failed/);
    assert.match(res.stdout, /✗ create system user pktfwd/);
    assert.ok(!existsSync(join(r, 'etc/pktfwd')), 'it stopped at the failing step');
  });

  test('--root on an empty directory says what it needs and changes nothing; a root without pktfwd or node in it gets a note', { skip }, () => {
    const empty = mkdtempSync(join(tmpdir(), 'pktfwd-empty-'));
    const res = pktfwd(['install', '--root', empty, '--board', 'rak2245', ...TARGET]);
    assert.equal(res.status, 1, res.stdout);
    assert.equal(oneLine(res.stderr), `pktfwd: ${empty}/etc/passwd is missing: --root needs the target's root filesystem (e.g. the SD card's root partition, mounted) with /etc/passwd and /etc/group; an empty directory is not one`);
    assert.deepEqual(readdirSync(empty), []);

    const r = fakeRoot();
    const plan = pktfwd(['install', '--root', r, '--board', 'rak2245', '--package-dir', '/srv/pktfwd', '--node', '/usr/local/bin/node', '--dry-run']);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`note: ${r}/srv/pktfwd/dist/src/cli\\.js does not exist \\(yet\\)`));
    assert.match(plan.stdout, new RegExp(`note: ${r}/usr/local/bin/node does not exist \\(yet\\)`));
  });

  test('refusals, each one line before anything changes: a checkout or node the unit cannot reach (/home, /root, /tmp, nvm, a symlink into /home), an unknown board (usage, exit 2), the real root without sudo', () => {
    const r = fakeRoot();
    const etcBefore = snapshot(join(r, 'etc'));
    const refuse = (extra: string[], pattern: RegExp) => {
      const res = pktfwd(['install', '--root', r, '--board', 'rak2245', ...extra]);
      assert.equal(res.status, 1, `${extra.join(' ')}: ${res.stdout}${res.stderr}`);
      assert.match(oneLine(res.stderr), pattern);
    };
    const node = ['--node', NODE];
    refuse(['--package-dir', '/home/pi/pktfwd', ...node], /pktfwd is in \/home\/pi\/pktfwd, which the service cannot read \(ProtectHome=true .*\): clone or copy it to \/opt\/pktfwd/);
    refuse(['--package-dir', '/root/pktfwd', ...node], /ProtectHome=true/);
    refuse(['--package-dir', '/tmp/x', ...node], /pktfwd is in \/tmp\/x, .*PrivateTmp=true/);
    refuse(['--package-dir', '/var/tmp/pktfwd', ...node], /PrivateTmp=true/);
    refuse(['--package-dir', 'opt/pktfwd', ...node], /--package-dir opt\/pktfwd: give an absolute path/);
    refuse(['--package-dir', '/opt/pktfwd', '--node', '/home/pi/.nvm/versions/node/v20.19.0/bin/node'], /node is \/home\/pi\/\.nvm\/versions\/node\/v20\.19\.0\/bin\/node \(a per-user node from nvm\), which the service cannot run \(ProtectHome=true .*\): install a system-wide Node\.js/);
    refuse(['--package-dir', '/opt/pktfwd', '--node', '/tmp/node'], /node is \/tmp\/node, .*PrivateTmp=true/);
    // /usr/local/bin/node as nvm's installer links it: the link is followed inside the root.
    mkdirSync(join(r, 'usr/local/bin'), { recursive: true });
    symlinkSync('/home/pi/.nvm/versions/node/v20.19.0/bin/node', join(r, 'usr/local/bin/node'));
    refuse(['--package-dir', '/opt/pktfwd', '--node', '/usr/local/bin/node'], /node is \/usr\/local\/bin\/node \(→ \/home\/pi\/\.nvm\/versions\/node\/v20\.19\.0\/bin\/node\) \(a per-user node from nvm\)/);
    symlinkSync('../../home/pi/pktfwd', join(r, 'opt/pktfwd-link'));
    refuse(['--package-dir', '/opt/pktfwd-link', ...node], /pktfwd is in \/opt\/pktfwd-link \(→ \/home\/pi\/pktfwd\)/);
    assert.deepEqual(snapshot(join(r, 'etc')), etcBefore, 'nothing changed');
    assert.ok(!existsSync(join(r, 'var')), 'nothing changed');

    const bad = pktfwd(['install', '--root', '/tmp/none', '--board', 'lopy']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Invalid values:[\s\S]*board/);
    if (process.getuid?.() !== 0) {
      const res = pktfwd(['install', '--board', 'sim', '--package-dir', '/opt/pktfwd', '--node', NODE]);
      assert.equal(res.status, 1);
      assert.match(res.stderr, /run it with sudo|is missing/);
    }
  });

  test('uninstall --purge removes the config install wrote; nothing to uninstall is an error', { skip }, () => {
    const r = fakeRoot();
    assert.equal(pktfwd(['install', '--root', r, '--board', 'dragino-lora-gps-hat', ...TARGET]).status, 0);
    const local = JSON.parse(readFileSync(join(r, 'etc/pktfwd/local_conf.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    assert.deepEqual(local, { gateway_conf: { radio: 'sx127x' }, buffer_conf: { file: '/var/lib/pktfwd/uplinks.jsonl' }, SX127x_conf: { board: 'dragino-lora-gps-hat' } });
    const un = pktfwd(['uninstall', '--root', r, '--purge']);
    assert.equal(un.status, 0, un.stderr);
    assert.ok(!existsSync(join(r, 'etc/pktfwd')));
    const none = pktfwd(['uninstall', '--root', r]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /install\.json not found: nothing installed by pktfwd install here/);
  });
});
