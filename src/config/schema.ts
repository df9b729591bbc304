import type { Sx1301Link } from './sx1301.js';
import type { Sx127xConf } from './sx127x.js';
import type { LnsConf } from './lns.js';
/**
 * Shapes of the loaded configuration. JSON keys are Semtech's (snake case,
 * `SX1301_conf`); these are the typed values the rest of src/ uses.
 */
import type { BoardConfig } from '../../hal/index.js';

/** Which radio the forwarder drives (our `gateway_conf.radio` extension). */
export type RadioKind = 'sim' | 'sx127x' | 'sx1301';

/** One network server. */
export interface ServerConf {
  address: string;
  portUp: number;
  portDown: number;
  /** Uplinks (PUSH_DATA) go to it. */
  upEnabled: boolean;
  /** It may send downlinks (PULL_DATA keepalives). */
  downEnabled: boolean;
}

/** `gateway_conf`: identity, server link, intervals, GPS and beacon settings. */
export interface GatewayConf {
  /** 16 lowercase hex digits. */
  gatewayId: string;
  /** Where the ID came from: "configured", or "auto: eth0 b8:27:eb:12:34:56". */
  gatewayIdFrom: string;
  /** The EUI as 8 bytes, most significant first (the wire order of the UDP header). */
  gatewayEui: Buffer;
  serverAddress: string;
  servPortUp: number;
  servPortDown: number;
  /** Every enabled server (the `servers` array, else the single server_address form); the first is the primary. */
  servers: ServerConf[];
  keepaliveIntervalS: number;
  statIntervalS: number;
  pushTimeoutMs: number;
  forwardCrcValid: boolean;
  forwardCrcError: boolean;
  forwardCrcDisabled: boolean;
  refLatitude: number;
  refLongitude: number;
  refAltitudeM: number;
  fakeGps: boolean;
  /** Serial device of the GPS; "" means GPS off. */
  gpsTtyPath: string;
  /** Serial speed of the GPS, baud. */
  gpsBaudrate: number;
  /** u-blox: send CFG-MSG for NAV-TIMEGPS and read UBX frames. */
  gpsUbx: boolean;
  /** BCM GPIO carrying PPS (boards without a concentrator PPS input, e.g. SX127x HATs); null = the concentrator's. */
  gpsPpsPin: number | null;
  /** Consecutive unacknowledged PULL_DATA before a clean exit; 0 = never. */
  autoquitThreshold: number;
  /** Class B beacon period; 0 = beacons off. */
  beaconPeriodS: number;
  beaconFreqHz: number;
  beaconFreqNb: number;
  beaconFreqStepHz: number;
  /** Beacon spreading factor. */
  beaconDatarate: number;
  beaconBwHz: number;
  beaconPowerDbm: number;
  beaconInfodesc: number;
  radio: RadioKind;
  /** Regulatory region: EIRP limits and (EU868) duty cycles; resolved from the TX range when "auto". */
  region: 'auto' | 'EU868' | 'US915' | 'AU915' | 'AS923' | 'IN865' | 'none';
  /** Log level (our extension; `--log-level` overrides it; SIGHUP re-reads it). */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** `sim_conf`: the simulated concentrator's virtual air. */
export interface SimConf {
  airAddress: string;
  /** UDP port of the virtual air; 0 lets the OS choose (tests). */
  airPort: number;
  /** Initial counter value, u32 µs; null = random. */
  counterStartUs: number | null;
}

/** `api_conf`: the local status endpoint (HTTP). */
export interface ApiConf {
  enable: boolean;
  /** Address it listens on; loopback unless configured otherwise. */
  bindAddress: string;
  port: number;
  /** Uplinks and downlinks kept for /api/packets. */
  packetLogSize: number;
  /**
   * Host names (besides localhost, IP literals and this machine's own name)
   * a request's Host header may carry: the DNS-rebinding check.
   */
  allowedHosts: string[];
}

/** `buffer_conf`: store and forward while the server does not acknowledge. */
export interface BufferConf {
  enable: boolean;
  maxUplinks: number;
  maxBytes: number;
  maxAgeS: number;
  /** File the buffer is saved to ("" = memory only). */
  file: string;
  pushRetries: number;
  outageAfterUnacked: number;
  probeIntervalMs: number;
}

/** Everything the forwarder needs from its config files. */
export interface ForwarderConfig {
  buffer: BufferConf;
  api: ApiConf;
  gateway: GatewayConf;
  board: BoardConfig;
  sim: SimConf;
  /** Raw `SX127x_conf` section, validated by the SX127x driver's own loader; null when absent. */
  sx127x: Sx127xConf | null;
  /** The SX1301 board's links (SX1301_conf extension keys). */
  sx1301: Sx1301Link;
  /** LoRa Basics Station LNS servers (`lns_conf`); [] without. */
  lns: LnsConf[];
}

/** Command-line values that replace config keys (validated like the keys). */
export interface ConfigOverrides {
  /** Replaces gateway_conf.radio (`--radio`). */
  radio?: RadioKind;
  /** Replaces gateway_conf.server_address (`--server`). */
  serverAddress?: string;
  /** Replaces gateway_conf.serv_port_up (`--port-up`). */
  portUp?: number;
  /** Replaces gateway_conf.serv_port_down (`--port-down`). */
  portDown?: number;
  /** Replaces gateway_conf.gateway_ID (`--gateway-id`). */
  gatewayId?: string;
}

/** Result of loading: the typed config plus what produced it. */
export interface LoadedConfig {
  config: ForwarderConfig;
  /** Effective merged JSON (files merged, overrides applied; defaults are not filled in). */
  merged: Record<string, unknown>;
  /** Files actually read, in order. */
  files: string[];
  /** One line per non-fatal finding (unknown keys), each naming file and key. */
  warnings: string[];
}
