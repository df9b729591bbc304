/**
 * `pktfwd install` / `pktfwd uninstall`: what a Pi owner runs once with sudo.
 *
 * install: the `pktfwd` system user (groups spi, gpio, dialout where they
 * exist), /etc/pktfwd with the chosen region preset and a local_conf.json
 * naming the board, radio and server, /var/lib/pktfwd (state; SX1301
 * firmware for an SX1301 board), the systemd unit written with this
 * machine's node and pktfwd paths and the supplementary groups that exist,
 * enabled (and started unless --no-start); SPI and the serial port enabled in
 * the Pi's config.txt when asked. What it did is recorded in
 * /var/lib/pktfwd/install.json so that uninstall reverses exactly that.
 *
 * It refuses, before changing anything: a checkout or node binary the
 * hardened unit cannot reach (ProtectHome, PrivateTmp: /home, /root,
 * /run/user, /tmp, /var/tmp, nvm's ~/.nvm), a --root without /etc/passwd and
 * /etc/group, and a re-run whose --region, --board, --server or ports differ
 * from the installed configuration (it says old → new; --force replaces the
 * files and keeps the old ones as *.bak-<time>). The same options again
 * change nothing in the configuration, and hand edits of it are kept.
 *
 * Everything happens under --root DIR (default /): files are written there,
 * and useradd/userdel/systemctl get `--root DIR`, which they support, so a
 * test never touches the real system. The paths the unit names
 * (--package-dir, --node) are paths on the target. --dry-run prints the plan.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, constants, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Channel plan preset; absent: keep the installed one (eu868 on a first install). */
  region?: string;
  board: string;
  server?: string;
  portUp?: number;
  portDown?: number;
  enableSpi: boolean;
  enableSerial: boolean;
  start: boolean;
  dryRun: boolean;
  /** Replace configuration files whose choices differ (keeping *.bak-<time> copies). */
  force?: boolean;
  /** The pktfwd package directory and node binary the unit runs, as paths on the target (default: this one, and this node). */
  packageDir?: string;
  nodePath?: string;
  /** Runs a system command; throws with the command's own error output when it fails. */
  exec?: (cmd: string, args: string[]) => void;
}

/** One step of the plan. */
interface Step {
  what: string;
  run(): void;
}

/** A failure with a one-line message; before anything was changed unless it says which step failed. */
export class InstallError extends Error {
  readonly code = 'EINSTALL';
}

const PKG_DIR = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
const USER = 'pktfwd';
const GROUPS = ['spi', 'gpio', 'dialout'];
const DEFAULT_REGION = 'eu868';

/** Runs a command; a failure carries the command's own stderr (e.g. `useradd: cannot lock /etc/passwd; try again later.`). */
function defaultExec(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) {
    const e = r.error as NodeJS.ErrnoException;
    throw new InstallError(e.code === 'ENOENT' ? `${cmd} not found (is it installed?)` : `${cmd}: ${e.message}`);
  }
  if (r.status !== 0) {
    const said = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.split('\n').map((l) => l.trim()).filter(Boolean);
    throw new InstallError(`${cmd} ${r.status === null ? `killed by ${r.signal}` : `exited with ${r.status}`}: ${said.join(' / ') || '(no output)'}`);
  }
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
  let t = swap(shipped, 'ExecStart=/usr/bin/node --max-semi-space-size=2 /opt/pktfwd/dist/src/cli.js', `ExecStart=${nodePath} --max-semi-space-size=2 ${join(packageDir, 'dist/src/cli.js')}`);
  t = swap(t, 'Documentation=file:///opt/pktfwd/README.md', `Documentation=file://${join(packageDir, 'README.md')}`);
  return swap(t, `SupplementaryGroups=${GROUPS.join(' ')}\n`, groups.length
    ? `SupplementaryGroups=${groups.join(' ')}\n`
    : `# SupplementaryGroups= left out: none of ${GROUPS.join(', ')} exists on this system.\n`);
}

/**
 * `p` with its symlinks followed, inside `root` (an absolute link target is
 * taken relative to root, as the target system will see it). A component
 * that does not exist ends the walk: the rest is appended as is.
 */
export function resolveInRoot(root: string, p: string): string {
  const parts = p.split('/').filter(Boolean);
  const done: string[] = [];
  for (let hops = 0; parts.length; ) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const onDisk = join(root, ...done, part);
    let target: string | undefined;
    try {
      if (lstatSync(onDisk).isSymbolicLink()) target = readlinkSync(onDisk);
    } catch {
      return `/${[...done, part, ...parts].join('/')}`;
    }
    if (target === undefined) {
      done.push(part);
      continue;
    }
    if (++hops > 40) throw new InstallError(`${p}: too many levels of symbolic links`);
    if (target.startsWith('/')) done.length = 0;
    parts.unshift(...target.split('/').filter(Boolean));
  }
  return `/${done.join('/')}`;
}

/** Why the hardened unit cannot reach `p` (a path on the target), or null. */
function hiddenFromService(p: string): string | null {
  if (/^\/(home|root)(\/|$)|^\/run\/user(\/|$)/.test(p)) return 'ProtectHome=true hides /home, /root and /run/user from the service';
  if (/^\/(var\/)?tmp(\/|$)/.test(p)) return 'PrivateTmp=true gives the service its own empty /tmp and /var/tmp';
  return null;
}

/** Refuses a package directory or node binary the unit could not reach; returns the path as resolved on the target. */
function checkServicePath(root: string, given: string, kind: 'package' | 'node'): string {
  const flag = kind === 'package' ? '--package-dir' : '--node';
  if (!given.startsWith('/')) throw new InstallError(`${flag} ${given}: give an absolute path (as the target system sees it)`);
  const real = resolveInRoot(root, given);
  const shown = real === given ? given : `${given} (→ ${real})`;
  for (const p of [given, real]) {
    const why = hiddenFromService(p);
    if (!why) continue;
    if (kind === 'package') {
      throw new InstallError(`pktfwd is in ${shown}, which the service cannot read (${why}): clone or copy it to /opt/pktfwd, run npm ci there and run install from there (or give --package-dir)`);
    }
    const manager = /\/\.(nvm|volta|fnm|asdf|nodenv|local\/share\/fnm)\//.exec(p);
    throw new InstallError(`node is ${shown}${manager ? ` (a per-user node from ${manager[1]})` : ''}, which the service cannot run (${why}): install a system-wide Node.js 20.19+ (/usr/bin/node; README "Running it on a Raspberry Pi") and run install with it, or give --node PATH`);
  }
  return real;
}

/** The region whose shipped preset `text` is, byte for byte, if any. */
function presetRegion(text: string): string | undefined {
  for (const [region, file] of Object.entries(REGIONS)) {
    try {
      if (readFileSync(join(PKG_DIR, file), 'utf8') === text) return region;
    } catch {
      // preset missing from this checkout
    }
  }
  return undefined;
}

/** The choices an existing local_conf.json holds (what install wrote there, or the owner's edits). */
function localChoices(text: string): { board?: string; server?: string; portUp?: number; portDown?: number } | null {
  try {
    const doc = JSON.parse(text) as Record<string, Record<string, unknown> | undefined>;
    const gw = doc.gateway_conf ?? {};
    const board = (doc.SX1301_conf?.board ?? doc.SX127x_conf?.board ?? (gw.radio === 'sim' ? 'sim' : undefined)) as string | undefined;
    return { board, server: gw.server_address as string | undefined, portUp: gw.serv_port_up as number | undefined, portDown: gw.serv_port_down as number | undefined };
  } catch {
    return null;
  }
}

/** "20250103T101500Z": a backup suffix that sorts and has no colons. */
function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

/** Builds the install plan; throws InstallError when the request cannot be honoured (nothing is changed then). */
export function installPlan(o: InstallOptions): { steps: Step[]; record: Record<string, unknown>; notes: string[]; saveRecord: () => void } {
  const root = resolve(o.root);
  const onTarget = root === '/';
  const at = (p: string) => join(root, p);
  const exec = o.exec ?? defaultExec;
  if (o.region !== undefined && !REGIONS[o.region]) throw new InstallError(`--region: expected one of ${Object.keys(REGIONS).join(', ')}, got "${o.region}"`);
  const radio = installBoards()[o.board];
  if (!radio) throw new InstallError(`--board: expected one of ${Object.keys(installBoards()).join(', ')}, got "${o.board}"`);
  const notes: string[] = [];

  // What the unit runs: paths on the target, checked for what ProtectHome/PrivateTmp hide.
  const pkg = o.packageDir ?? PKG_DIR;
  const node = o.nodePath ?? process.execPath;
  const pkgReal = checkServicePath(root, pkg, 'package');
  const nodeReal = checkServicePath(root, node, 'node');
  const cli = join(pkg, 'dist/src/cli.js');
  if (onTarget) {
    if (!existsSync(join(pkgReal, 'dist/src/cli.js'))) throw new InstallError(`${cli} is missing: run npm ci in ${pkg} first`);
    if (!existsSync(nodeReal)) throw new InstallError(`--node ${node}: no such file`);
  } else {
    if (!existsSync(join(root, pkgReal, 'dist/src/cli.js'))) notes.push(`${join(root, cli)} does not exist (yet): the unit runs ${cli}; put pktfwd there (clone it to ${join(root, pkg)}, npm ci on the Pi), or give --package-dir`);
    if (!existsSync(join(root, nodeReal))) notes.push(`${join(root, node)} does not exist (yet): the unit runs ${node}; install Node.js there, or give --node`);
  }
  for (const f of ['etc/passwd', 'etc/group']) {
    if (!existsSync(at(f))) {
      throw new InstallError(onTarget
        ? `/${f} is missing: this is not a usable root filesystem`
        : `${at(f)} is missing: --root needs the target's root filesystem (e.g. the SD card's root partition, mounted) with /etc/passwd and /etc/group; an empty directory is not one`);
    }
  }
  if (onTarget && !o.dryRun && process.getuid?.() !== 0) throw new InstallError('install changes the system: run it with sudo (or --dry-run to see the plan)');
  const rootArgs = onTarget ? [] : [`--root=${root}`];

  // A second install adds to what the first one recorded (a user it created stays its to remove).
  let prior: { region?: string; files?: string[]; dirs?: string[]; userCreated?: boolean; bootEdits?: string[] } = {};
  try {
    prior = JSON.parse(readFileSync(at('var/lib/pktfwd/install.json'), 'utf8')) as typeof prior;
  } catch {
    // first install
  }

  // The configuration: what is there, what the options ask for, and what differs.
  const conf = at('etc/pktfwd/global_conf.json');
  const local = at('etc/pktfwd/local_conf.json');
  const confText = existsSync(conf) ? readFileSync(conf, 'utf8') : undefined;
  const localText = existsSync(local) ? readFileSync(local, 'utf8') : undefined;
  const oldRegion = confText === undefined ? undefined : (presetRegion(confText) ?? prior.region);
  const old = localText === undefined ? undefined : (localChoices(localText) ?? {});
  const region = o.region ?? oldRegion ?? prior.region ?? DEFAULT_REGION;
  const want = {
    board: o.board,
    server: o.server ?? old?.server,
    portUp: o.portUp ?? old?.portUp,
    portDown: o.portDown ?? old?.portDown,
  };
  const confDiffs: string[] = [];
  if (confText !== undefined && o.region !== undefined && o.region !== oldRegion) {
    confDiffs.push(`region ${oldRegion ?? '(a global_conf.json that is no preset)'} → ${o.region}`);
  }
  const localDiffs: string[] = [];
  if (old) {
    const show = (v: unknown) => (v === undefined ? '(none)' : String(v));
    if (old.board !== want.board) localDiffs.push(`board ${show(old.board)} → ${want.board}`);
    if (o.server !== undefined && old.server !== o.server) localDiffs.push(`server ${show(old.server)} → ${o.server}`);
    if (o.portUp !== undefined && old.portUp !== o.portUp) localDiffs.push(`port-up ${show(old.portUp)} → ${o.portUp}`);
    if (o.portDown !== undefined && old.portDown !== o.portDown) localDiffs.push(`port-down ${show(old.portDown)} → ${o.portDown}`);
  }
  const suffix = `.bak-${stamp(new Date())}`;
  if ((confDiffs.length || localDiffs.length) && !o.force) {
    const files = [...(confDiffs.length ? ['global_conf.json'] : []), ...(localDiffs.length ? ['local_conf.json'] : [])];
    throw new InstallError(`the installed configuration differs: ${[...confDiffs, ...localDiffs].join(', ')}; nothing was changed: re-run with --force to replace /etc/pktfwd/${files.join(' and ')} (the old ${files.length > 1 ? 'ones are' : 'one is'} kept as ${files.map((f) => `${f}.bak-<time>`).join(', ')})`);
  }

  const record: Record<string, unknown> = {
    version: 1, at: new Date().toISOString(), region: confText === undefined || confDiffs.length ? region : (oldRegion ?? prior.region), board: o.board,
    server: want.server, portUp: want.portUp, portDown: want.portDown,
    files: [...(prior.files ?? [])], dirs: [...(prior.dirs ?? [])], userCreated: prior.userCreated ?? false, bootEdits: [...(prior.bootEdits ?? [])],
  };
  const files = record.files as string[];
  const dirs = record.dirs as string[];
  const steps: Step[] = [];
  const saveRecord = () => writeFileSync(at('var/lib/pktfwd/install.json'), `${JSON.stringify(record, null, 2)}\n`);

  const groups = GROUPS.filter((g) => groupsIn(root).has(g));
  if (!userExists(root)) {
    steps.push({
      what: `create system user ${USER} (groups: ${groups.join(', ') || `none of ${GROUPS.join(', ')} exist here`})`,
      run: () => {
        exec('useradd', [...(onTarget ? [] : ['--root', root]), '--system', '--no-create-home', '--home-dir', '/var/lib/pktfwd', '--shell', '/usr/sbin/nologin', '--user-group', ...(groups.length ? ['--groups', groups.join(',')] : []), USER]);
        record.userCreated = true;
      },
    });
  } else {
    steps.push({ what: `user ${USER} exists: kept`, run: () => undefined });
  }
  // The SX1301's MCU images live in the state directory; other radios need none.
  for (const d of ['etc/pktfwd', 'var/lib/pktfwd', ...(radio === 'sx1301' ? ['var/lib/pktfwd/sx1301-firmware'] : [])]) {
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
  /** Writes `file` (an /etc/pktfwd path), first keeping the old one as file.bak-<time> when replacing. */
  const configStep = (rel: string, text: string | undefined, diffs: string[], content: () => string | Buffer, fresh: string) => {
    const file = at(rel);
    if (text === undefined) {
      steps.push({ what: `/${rel} ${fresh}`, run: () => { writeFileSync(file, content()); if (!files.includes(`/${rel}`)) files.push(`/${rel}`); } });
    } else if (diffs.length) {
      steps.push({
        what: `/${rel} replaced (${diffs.join(', ')}); the old one kept as /${rel}${suffix}`,
        run: () => {
          copyFileSync(file, `${file}${suffix}`, constants.COPYFILE_EXCL);
          writeFileSync(file, content());
        },
      });
    } else {
      steps.push({ what: `/${rel} exists, same choices: kept${rel.endsWith('global_conf.json') ? ' (delete it to take the preset again)' : ''}`, run: () => undefined });
    }
  };
  const preset = REGIONS[region]!;
  configStep('etc/pktfwd/global_conf.json', confText, confDiffs, () => readFileSync(join(PKG_DIR, preset)), `from ${preset} (${region})`);
  const localDoc: Record<string, Record<string, unknown>> = { gateway_conf: { radio } };
  if (want.server !== undefined) localDoc.gateway_conf!.server_address = want.server;
  if (want.portUp !== undefined) localDoc.gateway_conf!.serv_port_up = want.portUp;
  if (want.portDown !== undefined) localDoc.gateway_conf!.serv_port_down = want.portDown;
  localDoc.buffer_conf = { file: '/var/lib/pktfwd/uplinks.jsonl' };
  if (radio === 'sx1301') localDoc.SX1301_conf = { board: o.board };
  if (radio === 'sx127x') localDoc.SX127x_conf = { board: o.board };
  configStep('etc/pktfwd/local_conf.json', localText, localDiffs, () => `${JSON.stringify(localDoc, null, 2)}\n`, JSON.stringify(localDoc));
  steps.push({
    what: `/etc/systemd/system/pktfwd.service (ExecStart=${node} ${cli}; SupplementaryGroups=${groups.join(' ') || '(none)'})`,
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
          (record.bootEdits as string[]).push(`${onTarget ? f : f.slice(root.length)}: ${what}`);
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
    what: `enable pktfwd.service${o.start && onTarget ? ' and start it' : ''}`,
    run: () => {
      if (onTarget) exec('systemctl', ['daemon-reload']);
      exec('systemctl', [...rootArgs, 'enable', ...(o.start && onTarget ? ['--now'] : []), 'pktfwd.service']);
    },
  });
  steps.push({ what: '/var/lib/pktfwd/install.json (what uninstall reverses)', run: saveRecord });
  if (onTarget) {
    steps.push({ what: 'state directory owned by pktfwd', run: () => exec('chown', ['-R', `${USER}:${USER}`, '/var/lib/pktfwd']) });
  }
  return { steps, record, notes, saveRecord };
}

/** Runs (or with dryRun prints) the plan. A failing step is named with the failing command's own error. */
export function install(o: InstallOptions, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  const { steps, notes, saveRecord } = installPlan(o);
  const root = resolve(o.root);
  out(o.dryRun ? `pktfwd install --dry-run: would do, under ${root}:` : `pktfwd install, under ${root}:`);
  for (const n of notes) out(`  note: ${n}`);
  let done = 0;
  for (const s of steps) {
    if (o.dryRun) {
      out(`  - ${s.what}`);
      continue;
    }
    try {
      s.run();
    } catch (err) {
      out(`  ✗ ${s.what}`);
      // Keep what was done so far reversible by uninstall.
      let saved = false;
      if (done > 0 && existsSync(join(root, 'var/lib/pktfwd'))) {
        try {
          saveRecord();
          saved = true;
        } catch {
          // the original failure is what matters
        }
      }
      const msg = (err as Error).message.split('\n').filter(Boolean).join(' / ');
      const after = done === 0 ? 'nothing was changed'
        : `${done} step${done > 1 ? 's' : ''} before it done${saved ? `; pktfwd uninstall${root === '/' ? '' : ` --root ${root}`} reverses them` : ''}`;
      throw new InstallError(`install failed at "${s.what}": ${msg} (${after})`);
    }
    done++;
    out(`  ✓ ${s.what}`);
  }
  if (!o.dryRun) {
    const radio = installBoards()[o.board];
    if (radio === 'sx1301') out('Next: put the SX1301 firmware in place (pktfwd sx1301-firmware import), check the config with');
    else out('Next: check the config with');
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
