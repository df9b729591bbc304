/**
 * Configuration: Semtech-compatible global_conf.json + local_conf.json
 * (`gateway_conf`, `SX1301_conf`) plus our `sim_conf` and a raw `SX127x_conf`.
 */
export type { ConfigOverrides, ForwarderConfig, GatewayConf, LoadedConfig, RadioKind, SimConf } from './schema.js';
export { ConfigError } from './errors.js';
export { LOCAL_CONF_NAME, loadConfig, parseConfig } from './load.js';
export { GATEWAY_KEYS, SIM_KEYS } from './gateway.js';
export type { KeySpec, KeyTable } from './section.js';
