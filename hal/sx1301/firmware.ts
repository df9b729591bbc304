/**
 * The SX1301's three MCU firmware images: loaded from files, never compiled
 * in. `importFirmware` takes them from a local Lora-net/lora_gateway
 * checkout (`libloragw/src/{cal,agc,arb}_fw.var`, one C array of 8192
 * `0x..` tokens each) or from `.bin` files, checks each against its known
 * SHA-256 and writes `{cal,agc,arb}.bin` into the firmware directory;
 * `loadFirmware` reads them back for start-up and refuses anything else.
 *
 * Facts from ../shared/sx1301/firmware/README.md: lora_gateway v5.0.1
 * (a955619), unchanged since v2.0.0; the version byte each image reports
 * at MCU RAM 0x20 once running.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Size of each image, bytes (MCU_AGC_FW_BYTE / MCU_ARB_FW_BYTE). */
export const FIRMWARE_BYTES = 8192;

/** One image: its file names, its SHA-256 and the version it reports. */
export interface FirmwareImage {
  key: 'cal' | 'agc' | 'arb';
  bin: string;
  varFile: string;
  sha256: string;
  /** Version byte read back at MCU RAM 0x20 (cal 2, agc 4, arb 1). */
  version: number;
}

/** The three known images [../shared/sx1301/firmware/SHA256SUMS]. */
export const FIRMWARE_IMAGES: readonly FirmwareImage[] = [
  { key: 'cal', bin: 'cal.bin', varFile: 'cal_fw.var', sha256: '0b6a0693b2127f6c12d1663a6579631ae688b2aa820544591f030ac9c055041b', version: 2 },
  { key: 'agc', bin: 'agc.bin', varFile: 'agc_fw.var', sha256: '08263797ad3b3ecf42de2e30987d436eb6f45cac876cede6b4051bb4f7483929', version: 4 },
  { key: 'arb', bin: 'arb.bin', varFile: 'arb_fw.var', sha256: 'c93a5a6e9e666a63dd18cccc6bd82ee3df638676b74b5a8b27eca8725615e161', version: 1 },
];

/** Code of every firmware error. */
export const EFIRMWARE = 'EFIRMWARE';

function fwError(message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code: EFIRMWARE });
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The bytes of the one C array in a `.var` file (its `0x..` tokens between the braces, in order). */
export function parseVarArray(text: string, name = 'the .var file'): Buffer {
  const open = text.indexOf('{');
  const close = text.lastIndexOf('}');
  if (open < 0 || close < open) throw fwError(`${name}: no C array ({ ... }) found`);
  const tokens = text.slice(open + 1, close).match(/0x[0-9a-fA-F]{1,2}\b/g) ?? [];
  return Buffer.from(tokens.map((t) => parseInt(t, 16)));
}

/** Where an image was found in `source`, or null. */
function locate(source: string, img: FirmwareImage): { path: string; kind: 'var' | 'bin' } | null {
  const candidates: Array<[string, 'var' | 'bin']> = [
    [join(source, 'libloragw', 'src', img.varFile), 'var'],
    [join(source, img.varFile), 'var'],
    [join(source, img.bin), 'bin'],
  ];
  for (const [path, kind] of candidates) if (existsSync(path)) return { path, kind };
  return null;
}

/** Reads and checks one image from `path`. */
function readImage(path: string, kind: 'var' | 'bin', img: FirmwareImage): Buffer {
  const bytes = kind === 'var' ? parseVarArray(readFileSync(path, 'utf8'), path) : readFileSync(path);
  if (bytes.length !== FIRMWARE_BYTES) throw fwError(`${path}: ${bytes.length} bytes, expected ${FIRMWARE_BYTES} (the ${img.key} image)`);
  const h = sha256(bytes);
  if (h !== img.sha256) {
    throw fwError(`${path}: SHA-256 ${h} is not the known ${img.key} image (${img.sha256}, lora_gateway v2.0.0-v5.0.1)`);
  }
  return bytes;
}

/**
 * Imports the three images from a lora_gateway checkout, a directory of
 * `.var` files, or a directory of `.bin` files into `destDir`. Returns the
 * files written. Throws (code EFIRMWARE) naming the first missing or
 * unknown image; nothing is written unless all three check out.
 */
export function importFirmware(source: string, destDir: string): string[] {
  if (!existsSync(source)) throw fwError(`${source} does not exist`);
  const found = FIRMWARE_IMAGES.map((img) => {
    const at = locate(source, img);
    if (!at) throw fwError(`${source}: no ${img.varFile} (in libloragw/src/ or at the top) and no ${img.bin}`);
    return { img, bytes: readImage(at.path, at.kind, img) };
  });
  mkdirSync(destDir, { recursive: true });
  return found.map(({ img, bytes }) => {
    const out = join(destDir, img.bin);
    writeFileSync(out, bytes);
    return out;
  });
}

/** The three images from the firmware directory, checked; the error says how to import them. */
export function loadFirmware(dir: string): Record<FirmwareImage['key'], Buffer> {
  const out: Partial<Record<FirmwareImage['key'], Buffer>> = {};
  for (const img of FIRMWARE_IMAGES) {
    const path = join(dir, img.bin);
    if (!existsSync(path)) {
      throw fwError(`SX1301 firmware ${path} is missing: run \`pktfwd sx1301-firmware import <lora_gateway checkout>\` (it reads libloragw/src/*_fw.var)`);
    }
    try {
      out[img.key] = readImage(path, 'bin', img);
    } catch (err) {
      throw fwError(`${(err as Error).message}; re-import with \`pktfwd sx1301-firmware import <lora_gateway checkout>\``);
    }
  }
  return out as Record<FirmwareImage['key'], Buffer>;
}
