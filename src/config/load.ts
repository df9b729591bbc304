/**
 * Loading: read global_conf.json then local_conf.json, merge (see merge.ts),
 * apply command-line overrides, validate into a ForwarderConfig.
 *
 * Differences from PF4, on purpose:
 * - `debug_conf.json` is not looked for, and the global file is required
 *   (PF4 reads local_conf.json alone when it is the only file).
 * - gateway_conf/SX1301_conf are checked on the merged result, so a section
 *   may live in local_conf.json alone. SX1301_conf is required (PF4 exits
 *   without it); a missing gateway_conf fails on its required gateway_ID.
 * - wrong types are errors, not "seems wrong" + 0; unknown keys are warnings.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, describeValue } from './errors.js';
import { readSx1301Link } from './sx1301.js';
import { readSx127xConf, sx127xBoardConfig } from './sx127x.js';
import { API_KEYS, BUFFER_KEYS, readGatewayConf, SIM_KEYS } from './gateway.js';
import { readLnsConf } from './lns.js';
import type { MacSource } from './gateway-id.js';
import { parseJsonDocument } from './json-text.js';
import { isJsonObject, mergeInto, OriginMap, setPath, type JsonObject } from './merge.js';
import type { ConfigOverrides, LoadedConfig } from './schema.js';
import { Section, type ParseContext } from './section.js';
import { readBoardConf } from './validate-board.js';

/** Name of the optional file read after the global one [PF4 lora_pkt_fwd.c]. */
export const LOCAL_CONF_NAME = 'local_conf.json';

/** Each override: the key it replaces and the CLI option named in errors. */
const OVERRIDE_KEYS: { readonly [K in keyof Required<ConfigOverrides>]: { path: string; option: string } } = {
  radio: { path: 'gateway_conf.radio', option: '--radio' },
  serverAddress: { path: 'gateway_conf.server_address', option: '--server' },
  portUp: { path: 'gateway_conf.serv_port_up', option: '--port-up' },
  portDown: { path: 'gateway_conf.serv_port_down', option: '--port-down' },
  gatewayId: { path: 'gateway_conf.gateway_ID', option: '--gateway-id' },
};

/**
 * Pure core: parses documents given in merge order (global first), applies
 * overrides, validates. Throws ConfigError naming the document (or CLI
 * option) and dotted key of the first bad value.
 */
export function parseConfig(docs: { name: string; json: string }[], overrides: ConfigOverrides = {}, env: { macs?: MacSource } = {}): LoadedConfig {
  const first = docs[0];
  if (first === undefined) throw new ConfigError('(no file)', '(document)', 'at least one config document', 'none');
  const origins = new OriginMap(first.name);
  const merged: JsonObject = {};
  for (const doc of docs) {
    const value = parseJsonDocument(doc.name, doc.json);
    if (!isJsonObject(value)) throw new ConfigError(doc.name, '(top level)', 'a JSON object', describeValue(value));
    refuseForeign(doc.name, value);
    mergeInto(merged, value, doc.name, origins);
  }
  for (const prop of Object.keys(OVERRIDE_KEYS) as (keyof ConfigOverrides)[]) {
    const value = overrides[prop];
    if (value !== undefined) setPath(merged, OVERRIDE_KEYS[prop].path, value, OVERRIDE_KEYS[prop].option, origins);
  }

  const ctx: ParseContext = { origins, warnings: [] };
  const root = new Section(ctx, '', merged);
  const gateway = readGatewayConf(root.child('gateway_conf'), env.macs);
  if (!root.has('SX1301_conf')) root.fail('SX1301_conf', 'an object (the radios and channel plan)', undefined);
  const board = readBoardConf(root.child('SX1301_conf'));
  const sx1301 = readSx1301Link(root.child('SX1301_conf'));
  const sim = root.child('sim_conf').tableOnly(SIM_KEYS);
  const api = root.child('api_conf').tableOnly(API_KEYS);
  const buffer = root.child('buffer_conf').tableOnly(BUFFER_KEYS);
  const lns = readLnsConf(root);
  if (gateway.servers.length === 0 && lns.length === 0) {
    root.child('gateway_conf').fail('servers', 'at least one enabled server (or an lns_conf entry)', root.child('gateway_conf').raw('servers'));
  }
  if (gateway.radio === 'sx127x' && !root.has('SX127x_conf')) {
    root.fail('SX127x_conf', 'an object (the single-channel radio; e.g. {"board":"dragino-lora-gps-hat"}) when radio is "sx127x"', undefined);
  }
  if (overrides.serverAddress !== undefined || overrides.portUp !== undefined || overrides.portDown !== undefined) {
    // The command line names one server: it replaces a `servers` list.
    gateway.servers = [{ address: gateway.serverAddress, portUp: gateway.servPortUp, portDown: gateway.servPortDown, upEnabled: true, downEnabled: true }];
  }
  const r0 = board.radios[0];
  if (gateway.region === 'auto') {
    // Without a region named: the EU868 rules when radio 0 transmits inside 863-870 MHz (nothing else lives there).
    gateway.region = r0?.txEnable && r0.txFreqMinHz >= 863_000_000 && r0.txFreqMaxHz <= 870_000_000 ? 'EU868' : 'none';
  }
  const txDefault = r0?.txEnable ? { min: r0.txFreqMinHz, max: r0.txFreqMaxHz } : { min: 863_000_000, max: 870_000_000 };
  const sx127x = root.has('SX127x_conf') ? readSx127xConf(root.child('SX127x_conf'), txDefault) : null;
  root.warnUnknown();
  // With an SX127x the forwarder schedules against the single radio, not the SX1301 plan.
  const effectiveBoard = gateway.radio === 'sx127x' && sx127x ? sx127xBoardConfig(sx127x, board) : board;

  return {
    config: { gateway, board: effectiveBoard, sim, sx127x, sx1301, api, buffer, lns },
    merged,
    files: docs.map((d) => d.name),
    warnings: ctx.warnings,
  };
}

/** What this version drives, for the one line refusing another forwarder's configuration. */
const DRIVES = 'this version of pktfwd drives SX1301 concentrators and SX127x radios only';

/**
 * A configuration written for hardware or a protocol this version does not
 * drive gets one line saying what it is, rather than a missing-key error
 * that sends the owner looking for a typo:
 * - `SX130x_conf`: Semtech sx1302_hal's packet forwarder (SX1302/SX1303
 *   concentrators, e.g. RAK2287, SX1302 CoreCell; sx1302_hal
 *   packet_forwarder/global_conf.json.*); `SX1302_conf` for good measure.
 * - `station_conf` / `radio_conf`, or a file named station.conf: a LoRa Basics
 *   Station configuration (lorabasics/basicstation, doc "station.conf").
 */
function refuseForeign(file: string, doc: JsonObject): void {
  const base = file.split(/[\\/]/).pop() ?? file;
  for (const key of ['SX130x_conf', 'SX1302_conf']) {
    if (Object.hasOwn(doc, key)) {
      throw new ConfigError(file, key, '', '', `${file}: ${key}: an SX1302/SX1303 concentrator configuration (Semtech sx1302_hal); ${DRIVES}`);
    }
  }
  const stationKey = ['station_conf', 'radio_conf'].find((k) => Object.hasOwn(doc, k));
  if (stationKey !== undefined || base === 'station.conf') {
    const key = stationKey ?? '(file)';
    throw new ConfigError(file, key, '', '', `${file}: ${key}: a LoRa Basics Station configuration (station.conf); ${DRIVES}, with the Semtech UDP protocol (global_conf.json)`);
  }
}

/**
 * Reads and parses the config files. `localPath` defaults to local_conf.json
 * beside `globalPath`, read only if it exists; an explicit `localPath` must
 * exist. Files are named in errors as given (relative paths stay relative).
 */
export function loadConfig(opts: { globalPath: string; localPath?: string; overrides?: ConfigOverrides; macs?: MacSource }): LoadedConfig {
  const docs = [{ name: opts.globalPath, json: readConfigFile(opts.globalPath, true)! }];
  const localPath = opts.localPath ?? join(dirname(opts.globalPath), LOCAL_CONF_NAME);
  if (resolve(localPath) !== resolve(opts.globalPath)) {
    const json = readConfigFile(localPath, opts.localPath !== undefined);
    if (json !== undefined) docs.push({ name: localPath, json });
  }
  return parseConfig(docs, opts.overrides, { macs: opts.macs });
}

/** File text, or undefined for an absent optional file; other failures are ConfigErrors. */
function readConfigFile(path: string, required: boolean): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'an unreadable file';
    if (!required && code === 'ENOENT') return undefined;
    throw new ConfigError(path, '(file)', 'a readable JSON file', describeErrno(code));
  }
}

function describeErrno(code: string): string {
  switch (code) {
    case 'ENOENT':
      return 'ENOENT (no such file)';
    case 'EACCES':
      return 'EACCES (permission denied)';
    case 'EISDIR':
      return 'EISDIR (a directory)';
    default:
      return code;
  }
}
