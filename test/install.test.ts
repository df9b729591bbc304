/**
 * `pktfwd install` / `uninstall` in a temporary root: the real useradd,
 * userdel and systemctl run with --root, so nothing on this machine
 * changes. The installed unit is checked with `systemd-analyze verify`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { installPlan, InstallError } from '../src/install.js';
import { loadConfig } from '../src/config/index.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const PKG = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['useradd', 'userdel', 'systemctl'].filter((c) => !have(c));
const skip = missing.length ? `${missing.join(', ')} not installed (the install runs them with --root)` : false;

/** A minimal Raspberry Pi OS root: accounts with the spi/gpio/dialout groups, and the boot files. */
function fakeRoot(): string {
  const r = mkdtempSync(join(tmpdir(), 'pktfwd-root-'));
  mkdirSync(join(r, 'etc'), { recursive: true });
  mkdirSync(join(r, 'boot/firmware'), { recursive: true });
  writeFileSync(join(r, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000::/home/pi:/bin/bash\n');
  writeFileSync(join(r, 'etc/group'), 'root:x:0:\ndialout:x:20:pi\nspi:x:999:pi\ngpio:x:997:pi\npi:x:1000:\n');
  writeFileSync(join(r, 'etc/shadow'), 'root:*:19000:0:99999:7:::\npi:*:19000:0:99999:7:::\n');
  writeFileSync(join(r, 'etc/gshadow'), 'root:*::\ndialout:*::pi\nspi:!::pi\ngpio:!::pi\npi:!::\n');
  writeFileSync(join(r, 'boot/firmware/config.txt'), '[all]\n#dtparam=spi=on\n');
  writeFileSync(join(r, 'boot/firmware/cmdline.txt'), 'console=serial0,115200 console=tty1 root=PARTUUID=abc rootfstype=ext4 rootwait\n');
  return r;
}

function pktfwd(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
}

/** Every file and symlink under `dir`, relative, sorted. */
function tree(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? tree(p, base) : [p.slice(base.length + 1)];
  }).sort();
}

describe('pktfwd install / uninstall in a temporary root', () => {
  test('--dry-run prints the plan and changes nothing', { skip }, () => {
    const r = fakeRoot();
    const before = tree(r).map((f) => [f, readFileSync(join(r, f), 'utf8')]);
    const res = pktfwd(['install', '--root', r, '--board', 'rak2245', '--region', 'us915', '--enable-spi', '--dry-run']);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /would do/);
    assert.match(res.stdout, /create system user pktfwd \(groups: spi, gpio, dialout\)/);
    assert.match(res.stdout, /global_conf\.json from global_conf\.us915\.json/);
    assert.deepEqual(tree(r).map((f) => [f, readFileSync(join(r, f), 'utf8')]), before);
  });

  test('install: user in spi/gpio/dialout, config preset + board, unit with this machine\'s paths (verified), enabled, SPI/UART on; a second run keeps the config; uninstall reverses it', { skip }, () => {
    const r = fakeRoot();
    const res = pktfwd(['install', '--root', r, '--board', 'rak2245', '--region', 'us915', '--server', 'nam1.cloud.thethings.network', '--enable-spi', '--enable-serial']);
    assert.equal(res.status, 0, res.stderr + res.stdout);
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

    const unit = readFileSync(join(r, 'etc/systemd/system/pktfwd.service'), 'utf8');
    assert.ok(unit.includes(`ExecStart=${process.execPath} ${PKG}/dist/src/cli.js run --config /etc/pktfwd/global_conf.json`), unit);
    for (const line of ['Type=notify', 'NotifyAccess=all', 'WatchdogSec=30', 'User=pktfwd', 'SupplementaryGroups=spi gpio dialout', 'Restart=on-failure', 'NoNewPrivileges=true', 'ProtectSystem=strict', 'ProtectHome=true', 'PrivateTmp=true', 'ReadWritePaths=/var/lib/pktfwd', 'DeviceAllow=char-spi rw', 'After=network-online.target time-sync.target']) {
      assert.ok(unit.split('\n').includes(line), line);
    }
    assert.doesNotMatch(unit, /^Requires=network/m, 'does not depend on the network being up');
    const wants = join(r, 'etc/systemd/system/multi-user.target.wants/pktfwd.service');
    assert.ok(lstatSync(wants).isSymbolicLink(), 'enabled');
    if (have('systemd-analyze')) {
      const v = spawnSync('systemd-analyze', ['verify', join(r, 'etc/systemd/system/pktfwd.service')], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr);
      assert.doesNotMatch(v.stderr, /pktfwd\.service:/, v.stderr);
    }
    assert.equal(readFileSync(join(r, 'boot/firmware/config.txt'), 'utf8'), '[all]\ndtparam=spi=on\nenable_uart=1\n');
    assert.equal(readFileSync(join(r, 'boot/firmware/cmdline.txt'), 'utf8'), 'console=tty1 root=PARTUUID=abc rootfstype=ext4 rootwait\n');
    assert.ok(existsSync(join(r, 'var/lib/pktfwd/sx1301-firmware')));

    // A second run: the user's edits survive.
    writeFileSync(join(r, 'etc/pktfwd/local_conf.json'), '{"gateway_conf":{"radio":"sx1301","server_address":"my.server"}}');
    const again = pktfwd(['install', '--root', r, '--board', 'rak2245', '--region', 'eu868']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /user pktfwd exists: kept/);
    assert.match(again.stdout, /global_conf\.json exists: kept/);
    assert.match(again.stdout, /local_conf\.json exists: kept/);
    assert.equal(readFileSync(join(r, 'etc/pktfwd/local_conf.json'), 'utf8'), '{"gateway_conf":{"radio":"sx1301","server_address":"my.server"}}');

    const un = pktfwd(['uninstall', '--root', r]);
    assert.equal(un.status, 0, un.stderr + un.stdout);
    assert.ok(!existsSync(join(r, 'etc/systemd/system/pktfwd.service')));
    assert.ok(!existsSync(wants), 'disabled');
    assert.ok(!existsSync(join(r, 'var/lib/pktfwd')));
    assert.doesNotMatch(readFileSync(join(r, 'etc/passwd'), 'utf8'), /^pktfwd:/m);
    assert.ok(existsSync(join(r, 'etc/pktfwd/global_conf.json')), 'configuration kept without --purge');
    assert.match(un.stdout, /left as is: \/boot\/firmware\/config\.txt/);
  });

  test('uninstall --purge removes the config install wrote; nothing to uninstall is an error', { skip }, () => {
    const r = fakeRoot();
    assert.equal(pktfwd(['install', '--root', r, '--board', 'dragino-lora-gps-hat']).status, 0);
    const local = JSON.parse(readFileSync(join(r, 'etc/pktfwd/local_conf.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    assert.deepEqual(local, { gateway_conf: { radio: 'sx127x' }, buffer_conf: { file: '/var/lib/pktfwd/uplinks.jsonl' }, SX127x_conf: { board: 'dragino-lora-gps-hat' } });
    const un = pktfwd(['uninstall', '--root', r, '--purge']);
    assert.equal(un.status, 0, un.stderr);
    assert.ok(!existsSync(join(r, 'etc/pktfwd')));
    const none = pktfwd(['uninstall', '--root', r]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /install\.json not found: nothing installed by pktfwd install here/);
  });

  test('refusals: a checkout under /home (ProtectHome), an unknown board (usage, exit 2), the real root without sudo', () => {
    assert.throws(() => installPlan({ root: '/tmp/x', region: 'eu868', board: 'rak2245', enableSpi: false, enableSerial: false, start: false, dryRun: true, packageDir: '/home/pi/pktfwd' }), (e: Error) => e instanceof InstallError && /ProtectHome/.test(e.message));
    const bad = pktfwd(['install', '--root', '/tmp/none', '--board', 'lopy']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Invalid values:[\s\S]*board/);
    if (process.getuid?.() !== 0) {
      const res = pktfwd(['install', '--board', 'sim']);
      assert.equal(res.status, 1);
      assert.match(res.stderr, /run it with sudo/);
    }
  });
});
