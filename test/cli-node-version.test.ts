/**
 * The Node version check of the `pktfwd` entry (src/cli.ts): the comparison
 * in-process, the real entry as a process on a Node whose reported version a
 * preload module changes (no hook in the product code), the entry's syntax
 * (nothing newer than ES2017, nothing imported but the check), and, when
 * PKTFWD_OLD_NODE names an old node binary, the entry on that real Node.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { EXIT_NODE_TOO_OLD, NODE_MIN, nodeVersionProblem } from '../src/node-version.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const SRC = (name: string) => fileURLToPath(new URL(`../../src/${name}`, import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string }; bin: Record<string, string> };

/** Runs the real entry on this Node, with process.versions.node reading `version` (set by a preload, before the entry loads). */
function runAs(version: string, args: string[]) {
  const preload = `data:text/javascript,Object.defineProperty(process.versions,"node",{value:${JSON.stringify(version)},enumerable:true})`;
  return spawnSync(process.execPath, ['--import', preload, CLI, ...args], { encoding: 'utf8', timeout: 15_000 });
}

describe('Node version check', () => {
  test('the comparison: older than NODE_MIN is refused with one line, NODE_MIN and later pass', () => {
    const tooOld = ['18.19.0', '18.20.4', '20.0.0', '20.18.3', '12.22.12', 'v16.20.2'];
    for (const v of tooOld) {
      assert.equal(nodeVersionProblem(v), `Node ${v} is too old; pktfwd needs Node >= 20.19 (see README "Node on a Pi")`, v);
    }
    for (const v of ['20.19.0', '20.19.5', '20.20.2', '21.0.0', '22.11.0', '24.1.0', 'v22.0.0']) assert.equal(nodeVersionProblem(v), null, v);
    // A patch-level minimum is shown whole; an unreadable version is given the benefit of the doubt.
    assert.match(nodeVersionProblem('20.19.0', '20.19.2')!, /needs Node >= 20\.19\.2 /);
    assert.equal(nodeVersionProblem('not a version'), null);
  });

  test('NODE_MIN is package.json engines.node, and bin points at the checking entry', () => {
    assert.equal(PKG.engines.node, `>=${NODE_MIN.replace(/\.0$/, '')}`);
    assert.equal(PKG.bin.pktfwd, 'dist/src/cli.js');
  });

  test('the real entry on a Node reporting 18.19.0: one line on stderr, nothing on stdout, exit 2', () => {
    for (const args of [['run', '--radio', 'sim'], ['--version'], ['status', '--help']]) {
      const r = runAs('18.19.0', args);
      assert.equal(r.status, EXIT_NODE_TOO_OLD, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, 'pktfwd: Node 18.19.0 is too old; pktfwd needs Node >= 20.19 (see README "Node on a Pi")\n');
    }
  });

  test('the real entry on a Node reporting exactly 20.19.0 loads the CLI', () => {
    const r = runAs('20.19.0', ['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0.1.0');
  });

  test('the entry and the check use no syntax newer than ES2017 and import nothing else', () => {
    for (const name of ['cli.ts', 'node-version.ts']) {
      const source = readFileSync(SRC(name), 'utf8');
      // TypeScript rewrites any syntax newer than its target: if emitting for ES2017 changes nothing
      // compared with emitting for the newest target, the file has none (top-level await would be an error).
      const emit = (target: ts.ScriptTarget) => {
        const out = ts.transpileModule(source, { compilerOptions: { target, module: ts.ModuleKind.ESNext, sourceMap: false }, reportDiagnostics: true });
        assert.deepEqual(out.diagnostics?.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')), [], name);
        return out.outputText;
      };
      assert.equal(emit(ts.ScriptTarget.ES2017), emit(ts.ScriptTarget.ESNext), `${name} has syntax newer than ES2017`);
      const imports = [...source.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
      assert.deepEqual(imports, name === 'cli.ts' ? ['./node-version.js'] : [], `${name}: static imports`);
    }
  });

  const oldNode = process.env.PKTFWD_OLD_NODE;
  test('on a real old Node (PKTFWD_OLD_NODE): the one line and exit 2', { skip: oldNode ? undefined : 'set PKTFWD_OLD_NODE to an old node binary (e.g. Node 18) to run this' }, () => {
    const version = spawnSync(oldNode!, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    assert.notEqual(nodeVersionProblem(version), null, `${oldNode} is Node ${version}, not older than ${NODE_MIN}`);
    const r = spawnSync(oldNode!, [CLI, 'run', '--radio', 'sim'], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(r.status, EXIT_NODE_TOO_OLD, r.stderr);
    assert.equal(r.stderr, `pktfwd: Node ${version} is too old; pktfwd needs Node >= 20.19 (see README "Node on a Pi")\n`);
  });
});
