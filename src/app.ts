import type { StationCredentials } from './lns/station-files.js';
import type { Logger } from 'pino';
import { SimConcentrator, createSx1301Concentrator, createSx127xRadio, type Concentrator } from '../hal/index.js';
import { ConfigError, loadConfig, type ConfigOverrides, type ForwarderConfig, type LoadedConfig } from './config/index.js';
import { Forwarder } from './forwarder.js';
import { createLogger, setLogLevel, type LogFormat } from './log.js';
import type { LevelWithSilent } from 'pino';
import { startApiServer, type ApiServer } from './monitor/http-server.js';
import { startSystemdNotify } from './systemd-notify.js';
import { concentratorPps, GpsService, gpioPps, type PpsSource } from './gps.js';
import { SerialGpsSource } from '../hal/gps/serial-source.js';
import { SIMULATED } from './status-cli.js';
import { flushWarnLimiters } from '../hal/log-limit.js';

/** True for 127.0.0.0/8 and ::1 (the addresses only this machine can reach). */
function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address) || address === '::ffff:127.0.0.1';
}

/** Exit code for bad configuration (and for radios not built yet). */
export const EXIT_CONFIG = 2;

/** Options shared by `run` and `check-config`. */
export interface AppArgs {
  config: string;
  localConfig?: string;
  overrides: ConfigOverrides;
  logLevel?: string;
  logFormat?: LogFormat;
}

/** Thrown for conditions that end start-up with a one-line message and a code. */
export class StartupError extends Error {
  constructor(message: string, readonly exitCode: number, readonly code = 'ESTARTUP') {
    super(message);
  }
}

/** Loads the config or throws a StartupError carrying exit code 2 and one line. */
export function loadOrExit(args: AppArgs): LoadedConfig {
  try {
    return loadConfig({ globalPath: args.config, localPath: args.localConfig, overrides: args.overrides });
  } catch (err) {
    if (err instanceof ConfigError) throw new StartupError(err.message, EXIT_CONFIG, err.code);
    throw err;
  }
}

/** The only place that constructs radio hardware. */
export function makeConcentrator(config: ForwarderConfig, log: Logger): Concentrator {
  const kind = config.gateway.radio;
  if (kind === 'sim') {
    return new SimConcentrator({
      board: config.board,
      airAddress: config.sim.airAddress,
      airPort: config.sim.airPort,
      counterStartUs: config.sim.counterStartUs,
      log: log.child({ module: 'sim' }),
    });
  }
  if (kind === 'sx127x') {
    const sx = config.sx127x;
    // parseConfig requires SX127x_conf when radio is sx127x; this guards the type.
    if (!sx) throw new StartupError('SX127x_conf: expected an object when radio is "sx127x"', EXIT_CONFIG, 'ECONFIG');
    return createSx127xRadio({
      spiDevice: sx.spiDevice, spiSpeedHz: sx.spiSpeedHz, csPinBcm: sx.csPinBcm, resetPinBcm: sx.resetPinBcm, dio0PinBcm: sx.dio0PinBcm,
      rx: { freqHz: sx.freqHz, sf: sx.spreadingFactor, bwHz: sx.bandwidthHz, codeRate: sx.codeRate, syncWord: sx.syncWord },
      paOutput: sx.paOutput, txPowerMaxDbm: sx.txPowerMaxDbm, txFreqMinHz: sx.txFreqMinHz, txFreqMaxHz: sx.txFreqMaxHz,
      dio0LatencyUs: sx.dio0LatencyUs, pollIntervalMs: sx.pollIntervalMs,
      air: { address: config.sim.airAddress, port: config.sim.airPort }, counterStartUs: config.sim.counterStartUs,
      log: log.child({ module: 'sx127x' }),
    });
  }
  if (kind === 'sx1301') {
    const l = config.sx1301;
    return createSx1301Concentrator({
      board: config.board, spiDevice: l.spiDevice, spiSpeedHz: l.spiSpeedHz, resetPinBcm: l.resetPinBcm, firmwareDir: l.firmwareDir,
      log: log.child({ module: 'sx1301' }),
    });
  }
  throw new StartupError(`radio "${kind}": not built yet in this version (use --radio sim)`, EXIT_CONFIG, 'ENOTBUILT');
}

/** `pktfwd check-config`: prints the effective config (stdout) and warnings (stderr). */
export function checkConfig(args: AppArgs): number {
  const loaded = loadOrExit(args);
  for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(`${JSON.stringify(loaded.merged, null, 2)}\n`);
  const g = loaded.config.gateway;
  process.stderr.write(`gateway ID ${g.gatewayId.toUpperCase()} (${g.gatewayIdFrom})\n`);
  process.stderr.write(g.radio === 'sim' ? `warning: ${SIMULATED}\n` : `radio ${g.radio}\n`);
  for (const l of loaded.config.lns) {
    const describe = (c: StationCredentials, cat: 'tc' | 'cups') => {
      const auth = c.clientCert ? `client certificate ${cat}.crt/${cat}.key` : Object.keys(c.headers).length ? `token (${Object.keys(c.headers).join(', ')} header from ${cat}.key)` : 'no credentials';
      return `${auth}; server trust ${c.trust !== null ? `${cat}.trust` : 'the system CAs'}`;
    };
    if (l.cups) process.stderr.write(`CUPS ${l.cups.uri} (${l.stationDir}): ${describe(l.cups, 'cups')}; asked at start and every ${l.cupsIntervalS} s\n`);
    if (l.creds) process.stderr.write(`LNS ${l.creds.uri} (${l.stationDir}): ${describe(l.creds, 'tc')}\n`);
    else process.stderr.write(`LNS (${l.stationDir}): no tc.uri yet, CUPS will provide it\n`);
  }
  process.stderr.write(`config OK (${loaded.files.join(', ')})\n`);
  return 0;
}

/** For the benchmarks only: the CLI never passes these. */
export interface RunHooks {
  /** Builds the radio instead of {@link makeConcentrator} (bench/loadshape-main.ts plays the shared load shape). */
  makeConcentrator?: (config: ForwarderConfig, log: Logger) => Concentrator;
}

/**
 * `pktfwd run`: starts the forwarder and resolves with the exit code when it
 * stops (SIGINT/SIGTERM → 0, autoquit → 0, radio start failure → 1).
 */
export async function runForwarder(args: AppArgs, hooks: RunHooks = {}): Promise<number> {
  const loaded = loadOrExit(args);
  const level = (args.logLevel ?? loaded.config.gateway.logLevel) as LevelWithSilent;
  const log = createLogger({ level, format: args.logFormat });
  for (const w of loaded.warnings) log.warn({ warning: w }, 'config warning');
  log.info({ files: loaded.files }, 'config loaded');
  if (loaded.config.gateway.radio === 'sim') log.warn({ radio: 'sim' }, SIMULATED);
  const concentrator = (hooks.makeConcentrator ?? makeConcentrator)(loaded.config, log);
  const g = loaded.config.gateway;
  const gpsLog = log.child({ module: 'gps' });
  let ppsSource: PpsSource = concentratorPps(concentrator);
  const gps = g.gpsTtyPath ? new GpsService({ concentrator, pps: { last: () => ppsSource.last(), close: () => ppsSource.close?.() }, log: gpsLog }) : undefined;
  const fwd = new Forwarder({ config: loaded.config, concentrator, log, gps });
  let gpsSource: SerialGpsSource | null = null;
  try {
    await fwd.start();
    if (gps) {
      if (g.gpsPpsPin !== null) {
        try {
          ppsSource = await gpioPps(concentrator, g.gpsPpsPin, gpsLog);
        } catch (err) {
          gpsLog.error({ err: (err as Error).message, pin: g.gpsPpsPin }, 'PPS GPIO not available: time from the serial messages only (coarse)');
        }
      }
      gpsSource = new SerialGpsSource({ path: g.gpsTtyPath, baudRate: g.gpsBaudrate, ubx: g.gpsUbx, log: gpsLog }, gps);
      gps.source = gpsSource;
      gpsSource.start();
      gps.start();
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    log.fatal({ err: e.message, code: e.code }, 'radio failed to start');
    await fwd.stop().catch(() => undefined);
    log.flush();
    return 1;
  }
  const api = loaded.config.api;
  let server: ApiServer | null = null;
  if (api.enable) {
    try {
      server = await startApiServer({ forwarder: fwd, bindAddress: api.bindAddress, port: api.port, log: log.child({ module: 'api' }), allowedHosts: api.allowedHosts });
      log.info({ url: server.url }, 'status API listening');
      if (!isLoopback(api.bindAddress)) {
        log.warn({ address: api.bindAddress, port: server.port }, 'status API reachable from the network without authentication: anyone who reaches this port can read the gateway status (bind_address 127.0.0.1 and an SSH tunnel keep it private)');
      }
    } catch (err) {
      // Forwarding matters more than the status page: say why and carry on.
      log.error({ err: (err as Error).message, address: api.bindAddress, port: api.port }, 'status API not started');
    }
  }
  const watchdog = startSystemdNotify(log.child({ module: 'systemd' }));
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string, code: number) => {
      if (stopping) return;
      stopping = true;
      log.info({ why }, 'stopping');
      watchdog.stopping();
      gps?.stop();
      void Promise.all([fwd.stop(), server?.close(), gpsSource?.stop()])
        .catch((err: Error) => log.error({ err: err.message }, 'error while stopping'))
        .finally(() => {
          done();
          flushWarnLimiters();
          watchdog.close();
          log.info('stopped');
          log.flush();
          resolve(code);
        });
    };
    // kill -USR1 <pid>: report now (closes the current stat interval early).
    const onUsr1 = () => fwd.report();
    // kill -HUP <pid>: re-read the config files and apply their log level (--log-level, if given, still wins).
    const onHup = () => {
      try {
        const again = loadConfig({ globalPath: args.config, localPath: args.localConfig, overrides: args.overrides });
        const next = (args.logLevel ?? again.config.gateway.logLevel) as LevelWithSilent;
        const previous = log.level;
        // Said at warn, under whichever of the two levels shows it (going to error, before; coming from silent, after).
        // The field is not `level`: pino writes its own.
        const say = () => log.warn({ newLevel: next, previousLevel: previous }, `SIGHUP: log level now ${next}`);
        const shownNow = log.isLevelEnabled('warn');
        if (shownNow) say();
        setLogLevel(log, next);
        if (!shownNow) say();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'SIGHUP: config not reloaded, log level unchanged');
      }
    };
    process.on('SIGUSR1', onUsr1);
    process.on('SIGHUP', onHup);
    const done = () => {
      process.off('SIGUSR1', onUsr1);
      process.off('SIGHUP', onHup);
    };
    process.once('SIGINT', () => stop('SIGINT', 0));
    process.once('SIGTERM', () => stop('SIGTERM', 0));
    fwd.once('autoquit', () => stop('autoquit', 0));
  });
}
