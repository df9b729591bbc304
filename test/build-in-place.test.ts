/**
 * `npm run build` (scripts/build.mjs) never deletes the output directory: a
 * service installed from this checkout keeps its files while `npm test` or
 * `npm run demo` rebuilds. The real script runs on a small project of its own,
 * as a separate process, while a reader keeps importing the output.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD = join(ROOT, 'scripts', 'build.mjs');

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-build-'));
  mkdirSync(join(dir, 'src'));
  // The script resolves TypeScript from its own location; the project only needs sources.
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'dist', rootDir: '.', sourceMap: true, types: [] }, include: ['src/**/*.ts'] }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function build(dir: string) {
  const r = spawnSync(process.execPath, [BUILD, '--project', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}

test('build replaces files in place: dist/ is never removed, a running reader always finds complete files, sources gone are pruned', async () => {
  const dir = project();
  try {
    writeFileSync(join(dir, 'src', 'main.ts'), 'export const version: number = 1;\n');
    writeFileSync(join(dir, 'src', 'old.ts'), 'export const old = true;\n');
    build(dir);
    const dist = join(dir, 'dist');
    const inode = statSync(dist).ino;
    assert.ok(existsSync(join(dist, 'src', 'old.js')));

    // A reader (the "service"): imports dist/src/main.js fresh over and over during the rebuild.
    const reader = spawn(process.execPath, ['--input-type=module', '-e', `
      import { existsSync } from 'node:fs';
      let n = 0, missing = 0, bad = 0;
      const end = Date.now() + 60000;
      const tick = async () => {
        if (existsSync(${JSON.stringify(join(dir, 'stop'))}) || Date.now() > end) { process.stdout.write(JSON.stringify({ n, missing, bad })); return; }
        try { const m = await import(${JSON.stringify(join(dist, 'src', 'main.js'))} + '?' + n++); if (m.version !== 1 && m.version !== 2) bad++; }
        catch (e) { if (e.code === 'ERR_MODULE_NOT_FOUND') missing++; else bad++; }
        setImmediate(tick);
      };
      tick();
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    reader.stdout.on('data', (d: Buffer) => (out += d.toString()));

    writeFileSync(join(dir, 'src', 'main.ts'), 'export const version: number = 2;\n');
    rmSync(join(dir, 'src', 'old.ts'));
    writeFileSync(join(dir, 'src', 'added.ts'), 'export const added = 1;\n');
    build(dir);
    writeFileSync(join(dir, 'stop'), '');
    await new Promise((r) => reader.once('exit', r));
    const seen = JSON.parse(out) as { n: number; missing: number; bad: number };

    assert.equal(statSync(dist).ino, inode, 'dist/ is the same directory, never deleted and re-made');
    assert.ok(seen.n > 10, `the reader ran during the build (${seen.n} imports)`);
    assert.deepEqual([seen.missing, seen.bad], [0, 0], 'every import found a complete file');
    assert.match(readFileSync(join(dist, 'src', 'main.js'), 'utf8'), /version = 2/);
    assert.ok(existsSync(join(dist, 'src', 'added.js')));
    assert.ok(!existsSync(join(dist, 'src', 'old.js')), 'output of a deleted source is pruned');
    assert.ok(!existsSync(join(dist, 'src', 'old.js.map')));
    assert.ok(!existsSync(`${dist}.next`), 'the staging directory is cleaned up');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a compile error leaves the previous build untouched and fails the script', () => {
  const dir = project();
  try {
    writeFileSync(join(dir, 'src', 'main.ts'), 'export const version: number = 1;\n');
    build(dir);
    writeFileSync(join(dir, 'src', 'main.ts'), 'export const version: number = "two";\n');
    const r = spawnSync(process.execPath, [BUILD, '--project', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 120_000 });
    assert.notEqual(r.status, 0);
    assert.match(readFileSync(join(dir, 'dist', 'src', 'main.js'), 'utf8'), /version = 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
