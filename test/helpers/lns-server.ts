/**
 * Test helpers around the LNS stand-in (src/demo/lns-server.ts): station
 * directories and a US915 router_config.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
export { EU868_DRS, eu868RouterConfig, LnsStandIn, tlsFile, TLS_DIR, type LnsStandInOptions, type LnsReceived } from '../../src/demo/lns-server.js';


/** A station directory holding `files` (tc.uri, tc.trust, tc.key, tc.crt). */
export function stationDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-station-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** US915 DRs (DR0-4 uplink, DR8-13 downlink only). */
export const US915_DRS = [[10, 125, 0], [9, 125, 0], [8, 125, 0], [7, 125, 0], [8, 500, 0], [-1, 0, 0], [-1, 0, 0], [-1, 0, 0], [12, 500, 1], [11, 500, 1], [10, 500, 1], [9, 500, 1], [8, 500, 1], [7, 500, 1], [-1, 0, 0], [-1, 0, 0]];

/** router_config for US915 sub-band 2 (902.3-903.7 MHz). */
export function us915RouterConfig(): Record<string, unknown> {
  const ch = (radio: number, ifHz: number) => ({ enable: true, radio, if: ifHz });
  return {
    msgtype: 'router_config', NetID: null, JoinEui: null, region: 'US902', hwspec: 'sx1301/1', freq_range: [902000000, 928000000], DRs: US915_DRS, max_eirp: 30,
    sx1301_conf: [{
      radio_0: { enable: true, freq: 902700000 }, radio_1: { enable: true, freq: 903400000 },
      chan_multiSF_0: ch(0, -400000), chan_multiSF_1: ch(0, -200000), chan_multiSF_2: ch(0, 0), chan_multiSF_3: ch(0, 200000),
      chan_multiSF_4: ch(1, -300000), chan_multiSF_5: ch(1, -100000), chan_multiSF_6: ch(1, 100000), chan_multiSF_7: ch(1, 300000),
      chan_Lora_std: { enable: true, radio: 0, if: 300000, bandwidth: 500000, spread_factor: 8 },
    }],
  };
}

