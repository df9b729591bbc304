/**
 * The team's shared SX1301 kit (fake chip, firmware images, golden traces)
 * for tests: where it is, why a test must skip without it, and the golden
 * trace in a comparable form.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared/sx1301 beside the checkout, or $PKTFWD_SHARED_DIR/sx1301 (tests run from dist/test/helpers). */
export const SX1301_KIT = process.env.PKTFWD_SHARED_DIR
  ? join(process.env.PKTFWD_SHARED_DIR, 'sx1301')
  : fileURLToPath(new URL('../../../../shared/sx1301/', import.meta.url));

/** The shared directory itself (../shared beside the checkout, or $PKTFWD_SHARED_DIR). */
export const SHARED_DIR = join(SX1301_KIT, '..');

/** The real receiver captures of shared/reference/nmea. */
export const NMEA_DIR = join(SHARED_DIR, 'reference', 'nmea');

/** Why tests needing `relPath` of the kit must skip, or undefined when it is there. */
export function kitMissing(relPath: string): string | undefined {
  const p = join(SX1301_KIT, relPath);
  return existsSync(p) ? undefined : `${p} is missing (../shared is not beside this checkout; set PKTFWD_SHARED_DIR)`;
}

/** One SPI transaction as compared with the golden trace: reads by address and length only (fillers carry nothing). */
export interface Comparable {
  cmd: number;
  len: number;
  data: string;
}

/** A transaction's whole frame (command byte first) in comparable form. */
export function comparable(frame: Buffer): Comparable {
  const write = (frame[0]! & 0x80) !== 0;
  return { cmd: frame[0]!, len: frame.length - 1, data: write ? frame.subarray(1).toString('hex') : '' };
}

/** Comparable transactions of a raw trace file (`TX <hex> RX <hex>` lines). */
export function rawTrace(path: string): Comparable[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.startsWith('TX ')).map((l) => comparable(Buffer.from(l.split(' ')[1]!, 'hex')));
}

/** Golden eu868 transactions `first`..`last` (1-based, inclusive). */
export function goldenTransactions(first: number, last: number): Comparable[] {
  return rawTrace(join(SX1301_KIT, 'golden', 'eu868', 'raw.txt')).slice(first - 1, last);
}

/** Why the fake-SX1301 tests must skip (the kit, the optional spi-device module, gcc), or undefined. */
export function fakeChipSkipReason(): string | undefined {
  const missing = kitMissing('fake-chip/fakespi.c');
  if (missing) return missing;
  try {
    createRequire(import.meta.url).resolve('spi-device');
  } catch {
    return 'the optional spi-device module is not installed';
  }
  if (spawnSync('gcc', ['--version']).status !== 0) return 'no C compiler (gcc) to build the fake chip';
  return undefined;
}

/** Builds the fake chip into a temporary directory; returns the .so path (throws with make's stderr on failure). */
export function buildFakeChip(): string {
  const so = join(mkdtempSync(join(tmpdir(), 'pktfwd-fakespi-')), 'libfakespi.so');
  const make = spawnSync('make', ['-s', '-C', join(SX1301_KIT, 'fake-chip'), `OUT=${so}`], { encoding: 'utf8' });
  if (make.status !== 0) throw new Error(`building the fake chip failed: ${make.stderr}`);
  return so;
}
