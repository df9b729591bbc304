/**
 * The Node version check of the `pktfwd` entry (cli.ts). cli.ts loads this
 * before anything else, on whatever Node the user has, so this file uses no
 * syntax newer than ES2017 (no `?.`, `??`, class fields or numeric
 * separators) and imports nothing: on Node 12 to 18 it must parse and run to
 * say the one line, where the real CLI would fail with a syntax or import
 * error.
 */

/** The oldest Node that runs pktfwd: package.json `engines.node` (a test keeps the two equal). */
export const NODE_MIN = '20.19.0';

/** Exit code when Node is too old: as for bad configuration, so systemd does not restart it in a loop. */
export const EXIT_NODE_TOO_OLD = 2;

function parts(version: string): number[] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
}

/**
 * The one line to print when `version` (as in `process.versions.node`) is
 * older than `min`, or null when it is new enough. A version string that
 * cannot be read passes: better to try than to refuse on a doubt.
 */
export function nodeVersionProblem(version: string, min: string = NODE_MIN): string | null {
  const have = parts(version);
  const need = parts(min);
  if (have.length === 0 || need.length === 0) return null;
  for (let i = 0; i < 3; i++) {
    if (have[i]! > need[i]!) return null;
    if (have[i]! < need[i]!) {
      const shown = need[2] === 0 ? need[0] + '.' + need[1] : min;
      return 'Node ' + version + ' is too old; pktfwd needs Node >= ' + shown + ' (see README "Node on a Pi")';
    }
  }
  return null;
}
