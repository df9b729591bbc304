#!/usr/bin/env node
/**
 * The `pktfwd` executable (package.json "bin", the systemd unit's
 * ExecStart). It checks the Node version first and only then loads the CLI
 * (cli-main.ts): ES modules evaluate their static imports before any of
 * their own code, so on an old Node the real CLI would die of a syntax or
 * import error before it could say why. This file and node-version.ts must
 * therefore parse on old Node: no static import but that one, no syntax
 * newer than ES2017, no top-level await.
 */
import { EXIT_NODE_TOO_OLD, nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== null) {
  process.stderr.write('pktfwd: ' + problem + '\n');
  process.exitCode = EXIT_NODE_TOO_OLD;
} else {
  void import('./cli-main.js');
}
