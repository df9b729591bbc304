#!/usr/bin/env node
/**
 * `npm run build`: compiles into a fresh directory beside the output, then
 * moves each file over its old copy with rename(2) and removes the files no
 * source produces any more. The output directory itself is never deleted, so
 * a service started from this checkout (`pktfwd install` points its unit at
 * dist/src/cli.js here) keeps running while `npm test` or `npm run demo`
 * rebuilds: every file it may still import is at all times either the old or
 * the new complete version, never missing or half-written.
 *
 * Usage: node scripts/build.mjs [--project tsconfig.json] [--out dist]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const project = resolve(opt('--project', 'tsconfig.json'));
const out = resolve(dirname(project), opt('--out', 'dist'));
// Same depth as `out`, so the relative source paths in the .js.map files stay right.
const next = `${out}.next`;

rmSync(next, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', project, '--outDir', next], { stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(next, { recursive: true, force: true });
  process.exit(r.status ?? 1);
}

/** Every file under `dir`, as paths relative to it. */
function files(dir, base = dir, acc = []) {
  if (!existsSync(dir)) return acc;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files(p, base, acc);
    else acc.push(relative(base, p));
  }
  return acc;
}

const built = files(next);
mkdirSync(out, { recursive: true });
for (const f of built) {
  const to = join(out, f);
  mkdirSync(dirname(to), { recursive: true });
  renameSync(join(next, f), to);
}
const keep = new Set(built);
for (const f of files(out)) if (!keep.has(f)) rmSync(join(out, f), { force: true });
/** Removes directories left empty by the pruning (deepest first). */
function pruneDirs(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) pruneDirs(join(dir, e.name));
  if (dir !== out && readdirSync(dir).length === 0 && statSync(dir).isDirectory()) rmdirSync(dir);
}
pruneDirs(out);
rmSync(next, { recursive: true, force: true });
