import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FIRMWARE_BYTES, FIRMWARE_IMAGES, importFirmware, loadFirmware } from '../hal/index.js';
import { parseVarArray } from '../hal/sx1301/firmware.js';
import { SX1301_KIT, kitMissing } from './helpers/shared-kit.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const SHARED_FW = join(SX1301_KIT, 'firmware');
const noImages = kitMissing('firmware/cal.bin');

const temp = () => mkdtempSync(join(tmpdir(), 'pktfwd-fw-'));

/** A .var file as lora_gateway ships them: one C array of `0x..` tokens, 8 per line. */
function varText(name: string, bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 8) lines.push(Array.from(bytes.subarray(i, i + 8), (b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`).join(', '));
  return `static uint8_t ${name}[8192] = {\n${lines.join(',\n')}\n};\n`;
}

/** A lora_gateway-like checkout made from the reference images. */
function fakeCheckout(): string {
  const root = temp();
  const src = join(root, 'libloragw', 'src');
  mkdirSync(src, { recursive: true });
  for (const img of FIRMWARE_IMAGES) writeFileSync(join(src, img.varFile), varText(`${img.key}_firmware`, readFileSync(join(SHARED_FW, img.bin))));
  return root;
}

describe('SX1301 firmware import', () => {
  test('parseVarArray reads the array tokens in order', () => {
    assert.deepEqual([...parseVarArray('static uint8_t x[4] = {\n0x00, 0xA5,\n0x1, 0xff\n};')], [0, 0xa5, 1, 0xff]);
    assert.throws(() => parseVarArray('nothing here'), { code: 'EFIRMWARE' });
  });

  test('from a lora_gateway checkout: the three images are checked and written; loadFirmware reads them back', { skip: noImages }, () => {
    const dest = join(temp(), 'fw');
    const written = importFirmware(fakeCheckout(), dest);
    assert.deepEqual(written.map((f) => f.slice(dest.length + 1)), ['cal.bin', 'agc.bin', 'arb.bin']);
    const fw = loadFirmware(dest);
    for (const img of FIRMWARE_IMAGES) {
      assert.equal(fw[img.key].length, FIRMWARE_BYTES);
      assert.deepEqual(fw[img.key], readFileSync(join(SHARED_FW, img.bin)));
    }
  });

  test('from .bin files, and through the CLI', { skip: noImages }, () => {
    const dest = join(temp(), 'fw');
    const r = spawnSync(process.execPath, [CLI, 'sx1301-firmware', 'import', SHARED_FW, '--dir', dest], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 3);
    assert.deepEqual(readdirSync(dest).sort(), ['agc.bin', 'arb.bin', 'cal.bin']);
  });

  test('an unknown image is refused naming the file and both hashes; nothing is written', () => {
    const src = temp();
    for (const img of FIRMWARE_IMAGES) writeFileSync(join(src, img.bin), Buffer.alloc(FIRMWARE_BYTES, img.version));
    const dest = join(temp(), 'fw');
    assert.throws(() => importFirmware(src, dest), (e: Error & { code?: string }) =>
      e.code === 'EFIRMWARE' && e.message.includes('cal.bin: SHA-256 ') && e.message.includes(FIRMWARE_IMAGES[0]!.sha256));
    assert.equal(existsSync(dest), false);
    writeFileSync(join(src, 'cal.bin'), Buffer.alloc(100));
    assert.throws(() => importFirmware(src, dest), /cal\.bin: 100 bytes, expected 8192/);
  });

  test('missing images: import and load say what is missing and how to import', () => {
    const empty = temp();
    assert.throws(() => importFirmware(empty, join(empty, 'fw')), /no cal_fw\.var \(in libloragw\/src\/ or at the top\) and no cal\.bin/);
    assert.throws(() => loadFirmware(empty), /cal\.bin is missing: run `pktfwd sx1301-firmware import <lora_gateway checkout>`/);
    const r = spawnSync(process.execPath, [CLI, 'sx1301-firmware', 'import', join(empty, 'nope'), '--dir', join(empty, 'fw')], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^pktfwd: .*nope does not exist/);
  });
});
