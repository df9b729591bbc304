/**
 * `pktfwd install` / `pktfwd uninstall`: what a Pi owner runs once with sudo.
 *
 * install: the `pktfwd` system user (groups spi, gpio, dialout where they
 * exist), /etc/pktfwd with the chosen region preset and a local_conf.json
 * naming the board, radio and server, /var/lib/pktfwd (state, SX1301
 * firmware), the systemd unit written with this machine's node and pktfwd
 * paths, enabled (and started unless --no-start); SPI and the serial port
 * enabled in the Pi's config.txt when asked. It never overwrites an existing
 * configuration file. What it did is recorded in
 * /var/lib/pktfwd/install.json so that uninstall reverses exactly that.
 *
 * Everything happens under --root DIR (default /): files are written there,
 * and useradd/userdel/systemctl get `--root DIR`, which they support, so a
 * test never touches the real system. --dry-run prints the plan only.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SX1301_BOARDS } from '../hal/sx1301/boards.js';
import { SX127X_BOARDS } from '../hal/index.js';

/** Regions with a shipped preset, and their file. */
export const REGIONS: Record<string, string> = {
  eu868: 'global_conf.json', us915: 'global_conf.us915.json', au915: 'global_conf.au915.json', as923: 'global_conf.as923.json', in865: 'global_conf.in865.json',
};

/** Boards install knows: SX1301 presets, SX127x presets, and the simulator. */
export function installBoards(): Record<string, 'sx1301' | 'sx127x' | 'sim'> {
  const out: Record<string, 'sx1301' | 'sx127x' | 'sim'> = { sim: 'sim' };
  for (const b of Object.keys(SX1301_BOARDS)) out[b] = 'sx1301';
  for (const b of Object.keys(SX127X_BOARDS)) out[b] = 'sx127x';
  return out;
}

/** What the user asked for. */
export interface InstallOptions {
  root: string;
  region: string;
  board: string;
  server?: string;
  portUp?: number;
  portDown?: number;
  enableSpi: boolean;
  enableSerial: boolean;
  start: boolean;
  dryRun: boolean;
  /** The pktfwd package directory (default: this one) and node binary (default: this one). */
  packageDir?: string;
  nodePath?: string;
  /** Runs a system command; tests may observe it. */
  exec?: (cmd: string, args: string[]) => void;
}

/** One step of the plan. */
interface Step {
  what: string;
  run(): void;
}

/** A failure before anything was changed, with a one-line message. */
export class InstallError extends Error {
  readonly code = 'EINSTALL';
}

const PKG_DIR = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
const USER = 'pktfwd';
const GROUPS = ['spi', 'gpio', 'dialout'];

function defaultExec(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

function groupsIn(root: string): Set<string> {
  try {
    return new Set(readFileSync(join(root, 'etc/group'), 'utf8').split('\n').map((l) => l.split(':')[0]!).filter(Boolean));
  } catch {
    return new Set();
  }
}

function userExists(root: string): boolean {
  try {
    return readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').some((l) => l.startsWith(`${USER}:`));
  } catch {
    return false;
  }
}

/** The Pi's boot config: /boot/firmware/config.txt (Bookworm) or /boot/config.txt. */
function bootFile(root: string, name: string): string {
  const fw = join(root, 'boot/firmware', name);
  return existsSync(fw) || !existsSync(join(root, 'boot', name)) ? fw : join(root, 'boot', name);
}

/**
 * The unit file with this machine's paths and the supplementary groups that
 * exist on it (systemd refuses to start a unit naming a missing group).
 */
export function unitText(packageDir: string, nodePath: string, groups: readonly string[] = GROUPS): string {
  const shipped = readFileSync(join(PKG_DIR, 'systemd/pktfwd.service'), 'utf8');
  const swap = (text: string, from: string, to: string) => {
    if (!text.includes(from)) throw new Error(`systemd/pktfwd.service has no "${from}" line to fill in`);
    return text.replace(from, to);
  };
  let t = swap(shipped, 'ExecStart=/usr/bin/node /opt/pktfwd/dist/src/cli.js', `ExecStart=${nodePath} ${join(packageDir, 'dist/src/cli.js')}`);
  t = swap(t, 'Documentation=file:///opt/pktfwd/README.md', `Documentation=file://${join(packageDir, 'README.md')}`);
  return swap(t, `SupplementaryGroups=${GROUPS.join(' ')}\n`, groups.length
    ? `SupplementaryGroups=${groups.join(' ')}\n`
    : `# SupplementaryGroups= left out: none of ${GROUPS.join(', ')} exists on this system.\n`);
}

/** Builds the install plan; throws InstallError when the request cannot be honoured. */
export function installPlan(o: InstallOptions): { steps: Step[]; record: Record<string, unknown> } {
  const root = resolve(o.root);
  const at = (p: string) => join(root, p);
  const exec = o.exec ?? defaultExec;
  const pkg = o.packageDir ?? PKG_DIR;
  const node = o.nodePath ?? process.execPath;
  const preset = REGIONS[o.region];
  if (!preset) throw new InstallError(`--region: expected one of ${Object.keys(REGIONS).join(', ')}, got "${o.region}"`);
  const radio = installBoards()[o.board];
  if (!radio) throw new InstallError(`--board: expected one of ${Object.keys(installBoards()).join(', ')}, got "${o.board}"`);
  if (/^\/(home|root)(\/|$)/.test(pkg)) {
    throw new InstallError(`pktfwd is in ${pkg}, which the service cannot read (ProtectHome=true): clone it to /opt/pktfwd and run npm ci there`);
  }
  if (!existsSync(join(pkg, 'dist/src/cli.js'))) throw new InstallError(`${join(pkg, 'dist/src/cli.js')} is missing: run npm ci in ${pkg} first`);
  if (root === '/' && !o.dryRun && process.getuid?.() !== 0) throw new InstallError('install changes the system: run it with sudo (or --dry-run to see the plan)');
  const rootArgs = root === '/' ? [] : [`--root=${root}`];
  // A second install adds to what the first one recorded (a user it created stays its to remove).
  let prior: { files?: string[]; dirs?: string[]; userCreated?: boolean; bootEdits?: string[] } = {};
  try {
    prior = JSON.parse(readFileSync(at('var/lib/pktfwd/install.json'), 'utf8')) as typeof prior;
  } catch {
    // first install
  }
  const record: Record<string, unknown> = {
    version: 1, at: new Date().toISOString(), region: o.region, board: o.board, files: [...(prior.files ?? [])], dirs: [...(prior.dirs ?? [])],
    userCreated: prior.userCreated ?? false, bootEdits: [...(prior.bootEdits ?? [])],
  };
  const files = record.files as string[];
  const dirs = record.dirs as string[];
  const steps: Step[] = [];

  const groups = GROUPS.filter((g) => groupsIn(root).has(g));
  if (!userExists(root)) {
    steps.push({
      what: `create system user ${USER} (groups: ${groups.join(', ') || 'none of spi, gpio, dialout exist here'})`,
      run: () => {
        exec('useradd', [...(root === '/' ? [] : ['--root', root]), '--system', '--no-create-home', '--home-dir', '/var/lib/pktfwd', '--shell', '/usr/sbin/nologin', '--user-group', ...(groups.length ? ['--groups', groups.join(',')] : []), USER]);
        record.userCreated = true;
      },
    });
  } else {
    steps.push({ what: `user ${USER} exists: kept`, run: () => undefined });
  }
  for (const d of ['etc/pktfwd', 'var/lib/pktfwd', 'var/lib/pktfwd/sx1301-firmware']) {
    steps.push({
      what: `directory /${d}`,
      run: () => {
        if (!existsSync(at(d))) {
          mkdirSync(at(d), { recursive: true });
          dirs.push(`/${d}`);
        }
      },
    });
  }
  const conf = at('etc/pktfwd/global_conf.json');
  if (existsSync(conf)) {
    steps.push({ what: '/etc/pktfwd/global_conf.json exists: kept (delete it to take the preset)', run: () => undefined });
  } else {
    steps.push({
      what: `/etc/pktfwd/global_conf.json from ${preset} (${o.region})`,
      run: () => {
        writeFileSync(conf, readFileSync(join(pkg, preset)));
        files.push('/etc/pktfwd/global_conf.json');
      },
    });
  }
  const local = at('etc/pktfwd/local_conf.json');
  const localDoc: Record<string, Record<string, unknown>> = { gateway_conf: { radio } };
  if (o.server) localDoc.gateway_conf!.server_address = o.server;
  if (o.portUp) localDoc.gateway_conf!.serv_port_up = o.portUp;
  if (o.portDown) localDoc.gateway_conf!.serv_port_down = o.portDown;
  localDoc.buffer_conf = { file: '/var/lib/pktfwd/uplinks.jsonl' };
  if (radio === 'sx1301') localDoc.SX1301_conf = { board: o.board };
  if (radio === 'sx127x') localDoc.SX127x_conf = { board: o.board };
  if (existsSync(local)) {
    steps.push({ what: '/etc/pktfwd/local_conf.json exists: kept', run: () => undefined });
  } else {
    steps.push({
      what: `/etc/pktfwd/local_conf.json: ${JSON.stringify(localDoc)}`,
      run: () => {
        writeFileSync(local, `${JSON.stringify(localDoc, null, 2)}\n`);
        files.push('/etc/pktfwd/local_conf.json');
      },
    });
  }
  steps.push({
    what: `/etc/systemd/system/pktfwd.service (ExecStart=${node} ${join(pkg, 'dist/src/cli.js')}; SupplementaryGroups=${groups.join(' ') || '(none)'})`,
    run: () => {
      mkdirSync(at('etc/systemd/system'), { recursive: true });
      writeFileSync(at('etc/systemd/system/pktfwd.service'), unitText(pkg, node, groups));
      chmodSync(at('etc/systemd/system/pktfwd.service'), 0o644);
      if (!files.includes('/etc/systemd/system/pktfwd.service')) files.push('/etc/systemd/system/pktfwd.service');
    },
  });
  const bootEdit = (name: string, what: string, edit: (text: string) => string) =>
    steps.push({
      what,
      run: () => {
        const f = bootFile(root, name);
        const before = existsSync(f) ? readFileSync(f, 'utf8') : '';
        const after = edit(before);
        if (after !== before) {
          mkdirSync(dirname(f), { recursive: true });
          writeFileSync(f, after);
          (record.bootEdits as string[]).push(`${root === '/' ? f : f.slice(root.length)}: ${what}`);
        }
      },
    });
  const ensureLine = (line: string, pattern: RegExp) => (t: string) => (pattern.test(t) ? t.replace(pattern, line) : `${t}${t.endsWith('\n') || t === '' ? '' : '\n'}${line}\n`);
  if (o.enableSpi) bootEdit('config.txt', 'SPI on (dtparam=spi=on in config.txt; reboot to apply)', ensureLine('dtparam=spi=on', /^#?\s*dtparam=spi=.*$/m));
  if (o.enableSerial) {
    bootEdit('config.txt', 'UART on (enable_uart=1 in config.txt; reboot to apply)', ensureLine('enable_uart=1', /^#?\s*enable_uart=.*$/m));
    bootEdit('cmdline.txt', 'serial console off (console=serial0 removed from cmdline.txt), so the GPS owns the port', (t) => {
      const kept = t.trim().split(/\s+/).filter((w) => w !== '' && !/^console=(serial0|serial1|ttyAMA0|ttyS0),\d+$/.test(w));
      return t.trim() === '' ? t : `${kept.join(' ')}\n`;
    });
  }
  steps.push({
    what: `enable pktfwd.service${o.start && root === '/' ? ' and start it' : ''}`,
    run: () => {
      if (root === '/') exec('systemctl', ['daemon-reload']);
      exec('systemctl', [...rootArgs, 'enable', ...(o.start && root === '/' ? ['--now'] : []), 'pktfwd.service']);
    },
  });
  steps.push({
    what: '/var/lib/pktfwd/install.json (what uninstall reverses)',
    run: () => writeFileSync(at('var/lib/pktfwd/install.json'), `${JSON.stringify(record, null, 2)}\n`),
  });
  if (root === '/') {
    steps.push({ what: 'state directory owned by pktfwd', run: () => exec('chown', ['-R', `${USER}:${USER}`, '/var/lib/pktfwd']) });
  }
  return { steps, record };
}

/** Runs (or with dryRun prints) the plan; returns the lines printed. */
export function install(o: InstallOptions, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  const { steps } = installPlan(o);
  out(o.dryRun ? `pktfwd install --dry-run: would do, under ${resolve(o.root)}:` : `pktfwd install, under ${resolve(o.root)}:`);
  for (const s of steps) {
    if (o.dryRun) {
      out(`  - ${s.what}`);
      continue;
    }
    s.run();
    out(`  ✓ ${s.what}`);
  }
  if (!o.dryRun) {
    out('Next: put the SX1301 firmware in place if needed (pktfwd sx1301-firmware import), check the config with');
    out('  pktfwd check-config --config /etc/pktfwd/global_conf.json, and watch it with: journalctl -u pktfwd -f; pktfwd status');
    if (o.enableSpi || o.enableSerial) out('Reboot for the SPI/UART change to take effect.');
  }
}

/** Reverses what install.json says install did (the configuration stays unless purge). */
export function uninstall(o: { root: string; purge: boolean; dryRun: boolean; exec?: (cmd: string, args: string[]) => void }, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  const root = resolve(o.root);
  const at = (p: string) => join(root, p);
  const exec = o.exec ?? defaultExec;
  const recFile = at('var/lib/pktfwd/install.json');
  if (!existsSync(recFile)) throw new InstallError(`${recFile} not found: nothing installed by pktfwd install here`);
  if (root === '/' && !o.dryRun && process.getuid?.() !== 0) throw new InstallError('uninstall changes the system: run it with sudo (or --dry-run to see the plan)');
  const rec = JSON.parse(readFileSync(recFile, 'utf8')) as { files: string[]; dirs: string[]; userCreated: boolean; bootEdits: string[] };
  const rootArgs = root === '/' ? [] : [`--root=${root}`];
  const steps: Step[] = [
    { what: 'disable (and stop) pktfwd.service', run: () => exec('systemctl', [...rootArgs, 'disable', ...(root === '/' ? ['--now'] : []), 'pktfwd.service']) },
    { what: 'remove /etc/systemd/system/pktfwd.service', run: () => rmSync(at('etc/systemd/system/pktfwd.service'), { force: true }) },
  ];
  if (root === '/') steps.push({ what: 'systemctl daemon-reload', run: () => exec('systemctl', ['daemon-reload']) });
  if (o.purge) {
    for (const f of rec.files.filter((f) => f.startsWith('/etc/pktfwd/'))) steps.push({ what: `remove ${f}`, run: () => rmSync(at(f), { force: true }) });
    steps.push({ what: 'remove /etc/pktfwd if empty', run: () => rmdirSync(at('etc/pktfwd')) });
  } else {
    steps.push({ what: 'keep /etc/pktfwd (your configuration; --purge removes what install wrote)', run: () => undefined });
  }
  steps.push({ what: 'remove /var/lib/pktfwd (state, install record, imported firmware)', run: () => rmSync(at('var/lib/pktfwd'), { recursive: true, force: true }) });
  if (rec.userCreated) steps.push({ what: `remove user ${USER}`, run: () => exec('userdel', [...(root === '/' ? [] : ['--root', root]), USER]) });
  for (const e of rec.bootEdits) steps.push({ what: `left as is: ${e} (other hardware may rely on it)`, run: () => undefined });
  out(o.dryRun ? `pktfwd uninstall --dry-run: would do, under ${root}:` : `pktfwd uninstall, under ${root}:`);
  for (const s of steps) {
    if (o.dryRun) {
      out(`  - ${s.what}`);
      continue;
    }
    try {
      s.run();
    } catch (err) {
      // an empty-directory removal that finds files, a unit already disabled: say so and go on
      out(`  ! ${s.what}: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    out(`  ✓ ${s.what}`);
  }
}
