/**
 * The command line, loaded by cli.ts once the Node version is known to be
 * new enough. Each command declares only the options it reads, so its
 * `--help` lists only those.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { importFirmware } from '../hal/index.js';
import { checkConfig, runForwarder, StartupError, type AppArgs } from './app.js';
import type { RadioKind } from './config/index.js';
import type { LogFormat } from './log.js';
import { apiUrl, packetsCommand, statusCommand } from './status-cli.js';
import { install, installBoards, InstallError, REGIONS, uninstall } from './install.js';
import { VERSION } from './version.js';

/** Where `sx1301-firmware import` writes by default (the service's state directory). */
const DEFAULT_FIRMWARE_DIR = '/var/lib/pktfwd/sx1301-firmware';

/** Usage errors exit like config errors: the command line is configuration. */
const EXIT_USAGE = 2;


/** --config and --local-config: every command that reads the configuration files. */
function configOptions<T>(y: Argv<T>) {
  return y
    .option('config', { alias: 'c', type: 'string', default: 'global_conf.json', describe: 'Semtech global_conf.json' })
    .option('local-config', { type: 'string', describe: 'local_conf.json overriding it (default: beside --config, if present)' });
}

/** The network server's address and ports (run, check-config, install). */
function serverOptions<T>(y: Argv<T>) {
  return y
    .option('server', { type: 'string', describe: 'network server host name or IP (overrides server_address)' })
    .option('port-up', { type: 'number', describe: 'server upstream UDP port (overrides serv_port_up)' })
    .option('port-down', { type: 'number', describe: 'server downstream UDP port (overrides serv_port_down)' });
}

/** What `check-config` and `run` read: the files and the command-line overrides of their keys. */
function overrideOptions<T>(y: Argv<T>) {
  return serverOptions(configOptions(y))
    .option('radio', { choices: ['sim', 'sx127x', 'sx1301'] as const, describe: 'radio to drive (overrides gateway_conf.radio)' })
    .option('gateway-id', { type: 'string', describe: 'gateway EUI, 16 hex digits (overrides gateway_ID)' });
}

/** `run`: the overrides and the log's level and format. */
function runOptions<T>(y: Argv<T>) {
  return overrideOptions(y)
    .option('log-level', { choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], describe: 'log level (default: gateway_conf.log_level, info); warn hides the per-packet lines' })
    .option('log-format', { choices: ['json', 'pretty'] as const, describe: 'default: pretty on a terminal, JSON lines otherwise' });
}

/** --url of the status API (and the config it is read from by default). */
function apiOptions<T>(y: Argv<T>) {
  return configOptions(y).option('url', { type: 'string', describe: 'status API URL (default: from api_conf of --config, http://127.0.0.1:1790)' });
}

/** Maps parsed CLI options onto the app's arguments. */
function toArgs(a: Record<string, unknown>): AppArgs {
  return {
    config: a.config as string,
    localConfig: a['local-config'] as string | undefined,
    logLevel: a['log-level'] as string | undefined,
    logFormat: a['log-format'] as LogFormat | undefined,
    overrides: {
      radio: a.radio as RadioKind | undefined,
      serverAddress: a.server as string | undefined,
      portUp: a['port-up'] as number | undefined,
      portDown: a['port-down'] as number | undefined,
      gatewayId: a['gateway-id'] as string | undefined,
    },
  };
}

/** Runs a command, turning StartupError into its one line and exit code. */
async function guarded(fn: () => number | Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(`pktfwd: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}

await yargs(hideBin(process.argv))
  .scriptName('pktfwd')
  .usage('$0 <command> [options]\n\nLoRa gateway packet forwarder (Semtech UDP protocol v2). `$0 <command> --help` lists the options of a command.')
  .command(['run', '$0'], 'run the forwarder (the default command)', runOptions, (a) => guarded(() => runForwarder(toArgs(a))))
  .command('check-config', 'print the effective merged config, or the first error (exit 2)', overrideOptions, (a) =>
    guarded(() => checkConfig(toArgs(a))),
  )
  .command(
    'status',
    'print the running forwarder\'s status (exit 1 when the server is not answering or the radio is down, 3 when unreachable)',
    (y) => apiOptions(y).option('json', { type: 'boolean', default: false }),
    async (a) => {
      process.exitCode = await statusCommand({ url: apiUrl({ url: a.url, config: a.config, localConfig: a['local-config'] }), json: a.json });
    },
  )
  .command(
    'packets',
    'print the last uplinks and downlinks; --follow keeps printing new ones',
    (y) =>
      apiOptions(y)
        .option('limit', { alias: 'n', type: 'number', default: 20, describe: 'how many of the last packets to print first (0: none)' })
        .option('follow', { alias: 'f', type: 'boolean', default: false })
        .option('json', { type: 'boolean', default: false, describe: 'one JSON object per line' }),
    async (a) => {
      process.exitCode = await packetsCommand({ url: apiUrl({ url: a.url, config: a.config, localConfig: a['local-config'] }), limit: Math.max(0, Math.floor(a.limit)), follow: a.follow, json: a.json });
    },
  )
  .command(
    'install',
    'set pktfwd up as a service on this Pi (run with sudo): user, /etc/pktfwd with a region preset, the systemd unit; --dry-run shows the plan',
    (y) =>
      serverOptions(y)
        .option('root', { type: 'string', default: '/', describe: 'install under this directory instead of / (tests, images)' })
        .option('region', { choices: Object.keys(REGIONS), describe: 'channel plan preset (default: eu868, or what is installed)' })
        .option('board', { choices: Object.keys(installBoards()), demandOption: true, describe: 'the radio board' })
        .option('enable-spi', { type: 'boolean', default: false, describe: 'turn SPI on in the Pi\'s config.txt' })
        .option('enable-serial', { type: 'boolean', default: false, describe: 'turn the UART on and the serial console off (GPS)' })
        .option('start', { type: 'boolean', default: true, describe: 'start the service now (--no-start: only enable it)' })
        .option('force', { type: 'boolean', default: false, describe: 'replace an installed configuration whose region, board or server differs (backups kept)' })
        .option('package-dir', { type: 'string', describe: 'pktfwd\'s directory as the target sees it (default: this checkout)' })
        .option('node', { type: 'string', describe: 'the node binary the service runs (default: this one)' })
        .option('dry-run', { type: 'boolean', default: false }),
    (a) =>
      guarded(() => {
        try {
          install({
            root: a.root, region: a.region, board: a.board, server: a.server, portUp: a['port-up'], portDown: a['port-down'],
            enableSpi: a['enable-spi'], enableSerial: a['enable-serial'], start: a.start, dryRun: a['dry-run'],
            force: a.force, packageDir: a['package-dir'], nodePath: a.node,
          });
          return 0;
        } catch (err) {
          if (err instanceof InstallError) throw new StartupError(err.message, 1, err.code);
          throw new StartupError(`install failed: ${(err as Error).message.split('\n')[0]}`, 1, 'EINSTALL');
        }
      }),
  )
  .command(
    'uninstall',
    'reverse pktfwd install (run with sudo); the configuration in /etc/pktfwd stays unless --purge',
    (y) =>
      y
        .option('root', { type: 'string', default: '/' })
        .option('purge', { type: 'boolean', default: false, describe: 'also remove the configuration files install wrote' })
        .option('dry-run', { type: 'boolean', default: false }),
    (a) =>
      guarded(() => {
        try {
          uninstall({ root: a.root, purge: a.purge, dryRun: a['dry-run'] });
          return 0;
        } catch (err) {
          if (err instanceof InstallError) throw new StartupError(err.message, 1, err.code);
          throw err;
        }
      }),
  )
  .command(
    'sx1301-firmware import <source>',
    'check and copy the SX1301 MCU images from a lora_gateway checkout (libloragw/src/*_fw.var) or .bin files',
    (y) =>
      y
        .positional('source', { type: 'string', demandOption: true, describe: 'lora_gateway checkout, or a directory of *_fw.var or {cal,agc,arb}.bin' })
        .option('dir', { type: 'string', default: DEFAULT_FIRMWARE_DIR, describe: 'firmware directory to write cal.bin, agc.bin, arb.bin into' }),
    (a) =>
      guarded(() => {
        try {
          for (const f of importFirmware(a.source, a.dir)) process.stdout.write(`imported ${f}\n`);
          return 0;
        } catch (err) {
          const e = err as Error & { code?: string };
          if (e.code !== 'EFIRMWARE') throw err;
          throw new StartupError(e.message, 1, e.code);
        }
      }),
  )
  .strict()
  .version(VERSION)
  .help()
  .fail((msg, err, y) => {
    if (err) throw err;
    process.stderr.write(`pktfwd: ${msg}\n`);
    y.showHelp('error');
    process.exit(EXIT_USAGE);
  })
  .parseAsync();
