/**
 * `lns_conf`: LoRa Basics Station LNS servers, beside (or instead of) the
 * Semtech UDP `servers`. An array; each entry names a directory holding the
 * Basics Station credential files (tc.uri, tc.trust, tc.key, tc.crt), so a
 * network server's Basics Station instructions apply unchanged.
 */
import { isAbsolute, resolve, dirname } from 'node:path';
import { ConfigError } from './errors.js';
import { bool, str, type Section } from './section.js';
import { readStationFiles, StationFileError, type StationCredentials } from '../lns/station-files.js';

/** One LNS server. */
export interface LnsConf {
  /** Where its tc.* files are (absolute; a relative path is taken from the config file's directory). */
  stationDir: string;
  creds: StationCredentials;
}

/** Reads `lns_conf` (absent: none); the files are read now, so a bad one stops start-up with exit 2 naming it. */
export function readLnsConf(root: Section): LnsConf[] {
  if (!root.has('lns_conf')) return [];
  const out: LnsConf[] = [];
  const entries = root.items('lns_conf');
  for (const [i, s] of entries.entries()) {
    if (!s.get('enable', bool, true)) {
      s.warnUnknown();
      continue;
    }
    const raw = s.require('station_dir', str('a directory path holding tc.uri (and tc.trust, tc.key, tc.crt)', (v) => (v.length > 0 ? v : undefined)));
    s.warnUnknown();
    const origin = root.originOf('lns_conf');
    const stationDir = isAbsolute(raw) ? raw : resolve(dirname(origin), raw);
    try {
      out.push({ stationDir, creds: readStationFiles(stationDir) });
    } catch (err) {
      if (err instanceof StationFileError) {
        throw new ConfigError(origin, `lns_conf[${i}].station_dir`, 'a directory with usable Basics Station files', stationDir, `${origin}: lns_conf[${i}].station_dir: ${err.message}`);
      }
      throw err;
    }
  }
  if (out.length > 8) root.fail('lns_conf', 'at most 8 enabled LNS servers', out.length);
  return out;
}
