/**
 * `lns_conf`: LoRa Basics Station LNS servers, beside (or instead of) the
 * Semtech UDP `servers`. An array; each entry names a directory holding the
 * Basics Station credential files (tc.uri, tc.trust, tc.key, tc.crt, and
 * cups.* for a CUPS server), so a network server's Basics Station
 * instructions apply unchanged.
 */
import { isAbsolute, resolve, dirname } from 'node:path';
import { ConfigError } from './errors.js';
import { bool, int, str, type Section } from './section.js';
import { rollForward } from '../lns/cups-protocol.js';
import { CUPS_OK_INTERVAL_S } from '../lns/cups-client.js';
import { hasCredentialSet, readCredentialSet, StationFileError, type StationCredentials } from '../lns/station-files.js';

/** One LNS server. */
export interface LnsConf {
  /** Where its tc.* files are (absolute; a relative path is taken from the config file's directory). */
  stationDir: string;
  /** From tc.*; null until CUPS provides them (a directory with cups.* only). */
  creds: StationCredentials | null;
  /** The directory has cups.uri (or a -bak/-boot one): CUPS is asked at start and every `cupsIntervalS`. */
  cups: StationCredentials | null;
  cupsIntervalS: number;
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
    const raw = s.require('station_dir', str('a directory path holding tc.uri (and tc.trust, tc.key, tc.crt) or cups.uri (and cups.trust, cups.key, cups.crt)', (v) => (v.length > 0 ? v : undefined)));
    const cupsIntervalS = s.get('cups_interval_s', int(1, 30 * 86_400), CUPS_OK_INTERVAL_S);
    s.warnUnknown();
    const origin = root.originOf('lns_conf');
    const stationDir = isAbsolute(raw) ? raw : resolve(dirname(origin), raw);
    try {
      // A CUPS update cut short by a crash or power loss is finished before the files are judged.
      for (const cat of ['cups', 'tc'] as const) {
        try {
          rollForward(stationDir, cat);
        } catch (err) {
          throw new StationFileError(`${stationDir}/${cat}-temp.upd`, `an interrupted CUPS update could not be completed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
      }
      const cupsSet = (['', '-bak', '-boot'] as const).find((set) => hasCredentialSet(stationDir, 'cups', set));
      const cups = cupsSet === undefined ? null : readCredentialSet(stationDir, 'cups', cupsSet);
      // Without CUPS the LNS files must be there; with it they may come from CUPS.
      const creds = cups === null || hasCredentialSet(stationDir, 'tc') ? readCredentialSet(stationDir, 'tc', '') : null;
      out.push({ stationDir, creds, cups, cupsIntervalS });
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
