/**
 * `gateway_conf` and `sim_conf`: the tunables tables (key, unit, default,
 * one-line doc) and their readers. Defaults are PF4's code defaults
 * [PF4 lora_pkt_fwd.c, constants.md §2], not the values of its shipped file.
 */
import { ConfigError } from './errors.js';
import { isIP } from 'node:net';
import { autoGatewayId, systemMacSource, type MacSource } from './gateway-id.js';
import type { ApiConf, BufferConf, GatewayConf, RadioKind, ServerConf, SimConf } from './schema.js';
import { bool, INVALID, int, nullable, num, oneOf, str, type KeyTable, type Rule, type Section } from './section.js';

const U32_MAX = 0xffffffff;

/** One DNS label (RFC 1123; `_` tolerated as resolvers do). */
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`);

/** Host name or IP literal, 1..255 chars; a bracketed IPv6 literal `[::1]` is unbracketed. */
export const hostRule = str('a host name or IP address (1..255 characters)', (s) => {
  const bare = /^\[.*\]$/.test(s) ? s.slice(1, -1) : s;
  if (bare.length === 0 || bare.length > 255) return undefined;
  if (isIP(bare) !== 0) return bare;
  return HOST_NAME.test(bare) ? bare : undefined;
});

const port = int(1, 65535);
/** Node timers overflow above 2^31-1 ms and then fire at once: the ceiling for any interval we arm. */
const TIMER_MAX_MS = 2 ** 31 - 1;
const TIMER_MAX_S = Math.floor(TIMER_MAX_MS / 1000);
const positiveInt = (max: number, what: string) => int(1, max, `an integer 1..${max} (${what})`);

/** gateway_ID: exactly 16 hex digits (PF4's `%llx` would silently stop at the first non-hex character). */
export const gatewayIdRule = str('16 hex digits', (s) => (/^[0-9A-Fa-f]{16}$/.test(s) ? s.toLowerCase() : undefined));

/** PF4 accepts 1..5 s and then refuses to start ("must be >= 6s"); say so up front. */
const beaconPeriod: Rule<number> = {
  expected: 'an integer 0 (off) or >= 6 (seconds)',
  parse: (v) => (typeof v === 'number' && Number.isInteger(v) && (v === 0 || (v >= 6 && v <= U32_MAX)) ? v : INVALID),
};

/** PF4 casts ref_altitude to `short`: truncate toward zero, keep the int16 range [PF4 lora_pkt_fwd.c]. */
const altitude: Rule<number> = {
  expected: 'a number -32768..32767 (metres)',
  parse: (v) => (typeof v === 'number' && v > -32769 && v < 32768 ? Math.trunc(v) || 0 : INVALID), // `|| 0` turns -0 into 0
};

/** Every `gateway_conf` key but gateway_ID (which has no default). */
export const GATEWAY_KEYS: KeyTable<Omit<GatewayConf, 'gatewayId' | 'gatewayEui' | 'gatewayIdFrom' | 'servers'>> = {
  serverAddress: { key: 'server_address', rule: hostRule, default: '127.0.0.1', doc: 'network server host or IP [PF4 DEFAULT_SERVER]' },
  servPortUp: { key: 'serv_port_up', rule: port, default: 1780, doc: 'server UDP port for PUSH_DATA [PF4 DEFAULT_PORT_UP]' },
  servPortDown: { key: 'serv_port_down', rule: port, default: 1782, doc: 'server UDP port for PULL_DATA [PF4 DEFAULT_PORT_DW]' },
  keepaliveIntervalS: {
    key: 'keepalive_interval',
    rule: positiveInt(TIMER_MAX_S, 'seconds; PF4 loops hot on <= 0'),
    default: 5,
    doc: 'seconds between PULL_DATA [PF4 DEFAULT_KEEPALIVE]',
  },
  statIntervalS: { key: 'stat_interval', rule: positiveInt(TIMER_MAX_S, 'seconds'), default: 30, doc: 'seconds between stat reports [PF4 DEFAULT_STAT]' },
  pushTimeoutMs: { key: 'push_timeout_ms', rule: positiveInt(TIMER_MAX_MS, 'milliseconds'), default: 100, doc: 'PUSH_ACK wait budget, ms [PF4 PUSH_TIMEOUT_MS]' },
  forwardCrcValid: { key: 'forward_crc_valid', rule: bool, default: true, doc: 'forward frames with a good CRC' },
  forwardCrcError: { key: 'forward_crc_error', rule: bool, default: false, doc: 'forward frames with a bad CRC' },
  forwardCrcDisabled: { key: 'forward_crc_disabled', rule: bool, default: false, doc: 'forward frames without CRC' },
  refLatitude: { key: 'ref_latitude', rule: num(-90, 90), default: 0, doc: 'reference latitude, degrees (beacon, fake_gps)' },
  refLongitude: { key: 'ref_longitude', rule: num(-180, 180), default: 0, doc: 'reference longitude, degrees (beacon, fake_gps)' },
  refAltitudeM: {
    key: 'ref_altitude',
    rule: altitude,
    default: 0,
    doc: 'reference altitude, metres, truncated to an integer',
  },
  fakeGps: { key: 'fake_gps', rule: bool, default: false, doc: 'report ref_* coordinates in stat as if from a GPS' },
  gpsTtyPath: { key: 'gps_tty_path', rule: str('a device path string'), default: '', doc: 'GPS serial device; "" = GPS off' },
  gpsBaudrate: { key: 'gps_baudrate', rule: oneOf([4800, 9600, 19200, 38400, 57600, 115200]), default: 9600, doc: 'GPS serial speed (the reference: 9600)' },
  gpsUbx: { key: 'gps_ubx', rule: bool, default: false, doc: 'u-blox receiver: enable and read UBX NAV-TIMEGPS' },
  gpsPpsPin: { key: 'gps_pps_pin', rule: nullable(int(0, 27, 'a BCM GPIO number 0..27')), default: null, doc: 'PPS on a GPIO (SX127x boards); null = the concentrator\'s PPS input' },
  autoquitThreshold: {
    key: 'autoquit_threshold',
    rule: int(0, U32_MAX, 'an integer >= 0 (0 = off)'),
    default: 0,
    doc: 'unacknowledged PULL_DATA in a row before a clean exit; 0 = never',
  },
  beaconPeriodS: { key: 'beacon_period', rule: beaconPeriod, default: 0, doc: 'Class B beacon period, s; 0 = off (LoRaWAN: 128)' },
  beaconFreqHz: { key: 'beacon_freq_hz', rule: int(1, U32_MAX, 'a positive integer (Hz)'), default: 869525000, doc: 'first beacon channel, Hz' },
  beaconFreqNb: { key: 'beacon_freq_nb', rule: int(1, 255), default: 1, doc: 'number of beacon channels (PF4 uint8)' },
  beaconFreqStepHz: { key: 'beacon_freq_step', rule: int(0, U32_MAX, 'an integer >= 0 (Hz)'), default: 0, doc: 'spacing of beacon channels, Hz' },
  beaconDatarate: { key: 'beacon_datarate', rule: oneOf([8, 9, 10, 12] as const), default: 9, doc: 'beacon SF; PF4 knows only 8, 9, 10, 12' },
  beaconBwHz: { key: 'beacon_bw_hz', rule: oneOf([125000, 500000] as const), default: 125000, doc: 'beacon bandwidth, Hz' },
  beaconPowerDbm: { key: 'beacon_power', rule: int(-128, 127), default: 14, doc: 'beacon TX power, dBm (PF4 int8)' },
  beaconInfodesc: { key: 'beacon_infodesc', rule: int(0, 255), default: 0, doc: 'beacon gateway-specific info descriptor byte' },
  radio: {
    key: 'radio',
    rule: oneOf<RadioKind>(['sim', 'sx127x', 'sx1301'], 'one of "sim", "sx127x", "sx1301"'),
    default: 'sim',
    doc: 'radio driven by the forwarder (our extension); required: a gateway never simulates unless told to (--radio overrides it)',
  },
  region: {
    key: 'region',
    rule: oneOf(['auto', 'EU868', 'US915', 'AU915', 'AS923', 'IN865', 'none'] as const),
    default: 'auto',
    doc: 'regulatory rules (EIRP, EU868 duty cycle); auto: EU868 when radio_0 transmits within 863-870 MHz, else none',
  },
  logLevel: {
    key: 'log_level',
    rule: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    default: 'info',
    doc: 'log level; --log-level overrides it; SIGHUP re-reads it',
  },
};

/**
 * Gateway IDs found in example files and on unconfigured boards, each shared
 * by many gateways (lower case, as normalised).
 */
export const PLACEHOLDER_GATEWAY_IDS: Readonly<Record<string, string>> = {
  // Lora-net/packet_forwarder lora_pkt_fwd/global_conf.json and Lora-net/sx1302_hal packet_forwarder/global_conf.json.*
  aa555a0000000000: "Semtech's example ID",
  // Not an EUI at all (all zero / all one bits): what an empty or erased field becomes.
  '0000000000000000': 'all zeros',
  ffffffffffffffff: 'all ones',
  // The counting pattern of documentation examples.
  '0102030405060708': 'an example ID',
  '0011223344556677': 'an example ID',
};

/** Reads `gateway_conf`; gateway_ID is required even though PF4 defaults it to 0. */
export function readGatewayConf(sec: Section, macs: MacSource = systemMacSource): GatewayConf {
  const configured = sec.get('gateway_ID', str('16 hex digits or "auto"', (v) => (v === 'auto' ? v : /^[0-9A-Fa-f]{16}$/.test(v) ? v.toLowerCase() : undefined)), 'auto');
  let gatewayId = configured;
  let gatewayIdFrom = 'configured';
  if (configured === 'auto') {
    const auto = autoGatewayId(macs);
    if (!auto) sec.fail('gateway_ID', '16 hex digits, since "auto" found no network interface with a MAC address', 'auto');
    gatewayId = auto.id;
    gatewayIdFrom = `auto: ${auto.iface} ${auto.mac}`;
  }
  // The radio is never a default: a stock Semtech file would otherwise start the simulator,
  // and the gateway would show online at the server while hearing nothing.
  if (!sec.has('radio')) {
    const file = sec.originOf('radio');
    throw new ConfigError(file, sec.pathOf('radio'), GATEWAY_KEYS.radio.rule.expected, 'nothing',
      `${file}: gateway_conf.radio is not set: choose "sx127x" (single-channel SX127x board), "sx1301" (SX1301 concentrator) or "sim" (simulated, hears nothing), in the file or with --radio`);
  }
  const placeholder = PLACEHOLDER_GATEWAY_IDS[gatewayId];
  if (placeholder !== undefined) {
    sec.warn('gateway_ID', `${gatewayId.toUpperCase()} is ${placeholder}: two gateways with it collide at the network server; set "auto" (from the MAC address) or the EUI on the board's label`);
  }
  const rest = sec.table(GATEWAY_KEYS);
  // Several servers (the form of Kersing's and ChirpStack's forwarders, constants.md §12), else the single one.
  let servers: ServerConf[] = [{ address: rest.serverAddress, portUp: rest.servPortUp, portDown: rest.servPortDown, upEnabled: true, downEnabled: true }];
  if (sec.has('servers')) {
    const list = sec.items('servers').map((s) => {
      const enabled = s.get('serv_enabled', bool, true);
      const conf: ServerConf = {
        address: s.require('server_address', hostRule),
        portUp: s.get('serv_port_up', port, rest.servPortUp),
        portDown: s.get('serv_port_down', port, rest.servPortDown),
        upEnabled: s.get('serv_up_enabled', bool, true),
        downEnabled: s.get('serv_down_enabled', bool, true),
      };
      s.known('serv_type', 'serv_gw_id', 'serv_gw_key', 'serv_max_stall', 'critical');
      s.warnUnknown();
      return enabled ? conf : null;
    });
    servers = list.filter((x): x is ServerConf => x !== null);
    if (servers.length > 8) sec.fail('servers', 'at most 8 enabled servers', servers.length);
  }
  sec.warnUnknown();
  return { gatewayId, gatewayIdFrom, gatewayEui: Buffer.from(gatewayId, 'hex'), ...rest, servers };
}

/** `sim_conf` keys. */
export const SIM_KEYS: KeyTable<SimConf> = {
  airAddress: { key: 'air_address', rule: hostRule, default: '127.0.0.1', doc: 'address the virtual air listens on' },
  airPort: { key: 'air_port', rule: int(0, 65535, 'an integer 0..65535 (0 = any free port)'), default: 1760, doc: 'UDP port of the virtual air' },
  counterStartUs: {
    key: 'counter_start',
    rule: nullable(int(0, U32_MAX)),
    default: null,
    doc: 'initial counter value, µs; null or absent = random',
  },
};


/** A list of DNS host names (lower-cased; at most 32). */
const hostNames: Rule<string[]> = {
  expected: 'an array of host names, e.g. ["gateway.example.lan"]',
  parse: (v) => {
    if (!Array.isArray(v) || v.length > 32) return INVALID;
    const out: string[] = [];
    for (const h of v) {
      if (typeof h !== 'string' || !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/.test(h)) return INVALID;
      out.push(h.toLowerCase().replace(/\.$/, ''));
    }
    return out;
  },
};

/** `api_conf` keys. */
export const API_KEYS: KeyTable<ApiConf> = {
  enable: { key: 'enable', rule: bool, default: true, doc: 'serve the local status API, metrics and page' },
  bindAddress: {
    key: 'bind_address',
    rule: str('an IP address', (s) => (isIP(s) !== 0 ? s : undefined)),
    default: '127.0.0.1',
    doc: 'address to listen on (loopback by default; 0.0.0.0 exposes it to the network)',
  },
  port: { key: 'port', rule: int(0, 65535, 'an integer 0..65535 (0 = any free port)'), default: 1790, doc: 'TCP port of the status API' },
  packetLogSize: { key: 'packet_log_size', rule: int(1, 100_000), default: 200, doc: 'uplinks and downlinks kept for /api/packets' },
  allowedHosts: {
    key: 'allowed_hosts',
    rule: hostNames,
    default: [],
    doc: 'extra host names the page may be reached by (Host header); localhost, IP addresses and this machine\'s name always are',
  },
};


/** `buffer_conf` keys. */
export const BUFFER_KEYS: KeyTable<BufferConf> = {
  enable: { key: 'enable', rule: bool, default: true, doc: 'keep uplinks while the server does not acknowledge, and resend them in order' },
  maxUplinks: { key: 'max_uplinks', rule: int(1, 10_000_000), default: 10_000, doc: 'uplinks kept at most (the oldest are dropped first)' },
  maxBytes: { key: 'max_bytes', rule: int(1024, 1 << 30), default: 8 << 20, doc: 'bytes of rxpk JSON kept at most' },
  maxAgeS: { key: 'max_age_s', rule: int(1, 7 * 86_400), default: 3600, doc: 'uplinks older than this are dropped, s' },
  file: { key: 'file', rule: str('a file path, or "" for memory only'), default: '', doc: 'where the buffer is saved across restarts ("" = not saved)' },
  pushRetries: { key: 'push_retries', rule: int(0, 10), default: 1, doc: 'resends of a PUSH_DATA left unacknowledged after push_timeout_ms' },
  outageAfterUnacked: { key: 'outage_after_unacked', rule: int(1, 1000), default: 3, doc: 'unacknowledged PUSH_DATA in a row that start buffering' },
  probeIntervalMs: { key: 'probe_interval_ms', rule: int(100, 600_000), default: 2000, doc: 'while buffering: how often the oldest uplinks are offered again, ms' },
};

