/**
 * The CUPS protocol's messages (Configuration and Update Server of LoRa
 * Basics Station) and the station files it updates. Pure except for the
 * file functions at the end.
 *
 * Facts [Basics Station src/cups.c, src/sys.c, pysys/tcutils.py Cups]:
 * - request: `POST <cups.uri>/update-info`, JSON `{router, cupsUri, tcUri,
 *   cupsCredCrc, tcCredCrc, station, model, package, keys}`, authenticated
 *   like the LNS connection (cups.trust, cups.key token or cups.crt/key);
 * - answer (200): binary segments, little-endian lengths: cupsUri (u8 len),
 *   tcUri (u8), cupsCred (u16), tcCred (u16), signature (u32: key CRC u32
 *   then the signature), update (u32); a zero length means "unchanged";
 * - a credentials blob is the trust certificate (DER), the client
 *   certificate (DER, or four zero bytes for none), then the private key
 *   (DER) or a token (the rest: the key file's text, e.g. an Authorization
 *   header line), or a zero byte for none.
 */
import { existsSync, copyFileSync, renameSync, rmSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { credentialPath, CRED_FILES, readCredentialSet, readOptionalBytes, type CredCategory, type StationCredentials } from './station-files.js';

/** The most of an answer kept before its update segment (URIs and credentials are a few kB); the update itself is counted, not kept. */
export const CUPS_MAX_HEAD_BYTES = 1024 * 1024;

/** A parsed `/update-info` answer. */
export interface UpdateInfo {
  cupsUri: string | null;
  tcUri: string | null;
  cupsCred: Buffer | null;
  tcCred: Buffer | null;
  /** Bytes of the signature segment (key CRC included) and of the firmware update. */
  signatureBytes: number;
  updateBytes: number;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Where the update segment's data starts in the first bytes of an answer
 * (after every other segment and the update's length), or null when those
 * bytes do not reach it yet: what follows is the firmware, counted and not kept.
 */
export function updateDataStart(head: Buffer): number | null {
  let at = 0;
  for (const n of [1, 1, 2, 2, 4] as const) {
    if (at + n > head.length) return null;
    at += n + (n === 1 ? head[at]! : n === 2 ? head.readUInt16LE(at) : head.readUInt32LE(at));
  }
  return at + 4 <= head.length ? at + 4 : null;
}

/**
 * Parses an answer body; any length that runs past the end is refused with
 * which segment. `skipped`: bytes of the update segment received but not
 * kept (they follow `body`).
 */
export function parseUpdateInfo(body: Buffer, skipped = 0): ParseResult<UpdateInfo> {
  let at = 0;
  const lens: number[] = [];
  const take = (name: string, lenBytes: 1 | 2 | 4): Buffer | null | string => {
    if (at + lenBytes > body.length) return `${name}: length missing (answer ends at byte ${body.length})`;
    const len = lenBytes === 1 ? body[at]! : lenBytes === 2 ? body.readUInt16LE(at) : body.readUInt32LE(at);
    at += lenBytes;
    lens.push(len);
    const left = body.length - at + (name === 'update' ? skipped : 0);
    if (len > left) return `${name}: ${len} bytes announced, ${left} left`;
    const seg = len === 0 ? null : body.subarray(at, Math.min(body.length, at + len));
    at += len;
    return seg;
  };
  const segs: (Buffer | null)[] = [];
  for (const [name, n] of [['cupsUri', 1], ['tcUri', 1], ['cupsCred', 2], ['tcCred', 2], ['signature', 4], ['update', 4]] as const) {
    const r = take(name, n);
    if (typeof r === 'string') return { ok: false, reason: r };
    segs.push(r);
  }
  if (at !== body.length + skipped) return { ok: false, reason: `${body.length + skipped - at} bytes after the last segment` };
  const [cupsUri, tcUri, cupsCred, tcCred, sig] = segs;
  const updateBytes = lens[5]!;
  const uri = (b: Buffer | null | undefined) => (b ? b.toString('utf8') : null);
  if (sig && sig.length < 8) return { ok: false, reason: `signature: ${sig.length} bytes, at least 8 (key CRC and signature)` };
  return { ok: true, value: { cupsUri: uri(cupsUri), tcUri: uri(tcUri), cupsCred: cupsCred ?? null, tcCred: tcCred ?? null, signatureBytes: sig?.length ?? 0, updateBytes } };
}

/** Length of the DER element at `at` (tag, length and contents), or null if it does not fit. */
function derLength(b: Buffer, at: number): number | null {
  if (at + 2 > b.length) return null;
  const first = b[at + 1]!;
  let len: number;
  let head = 2;
  if (first < 0x80) len = first;
  else {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || at + 2 + n > b.length) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[at + 2 + i]!;
    head += n;
  }
  return at + head + len <= b.length ? head + len : null;
}

/** The three files a credentials blob holds (null: none). */
export interface CredentialFiles {
  trust: Buffer;
  crt: Buffer | null;
  key: Buffer | null;
}

/** Splits a credentials blob into trust, certificate and key/token [sys.c sys_credComplete]. */
export function splitCredentials(blob: Buffer): ParseResult<CredentialFiles> {
  if (blob[0] !== 0x30) return { ok: false, reason: `trust: an ASN.1 SEQUENCE (DER certificate) expected, byte 0x${(blob[0] ?? 0).toString(16)}` };
  const tl = derLength(blob, 0);
  if (tl === null) return { ok: false, reason: 'trust: its DER length runs past the blob' };
  let at = tl;
  let crt: Buffer | null = null;
  if (blob[at] === 0x00) {
    if (at + 4 > blob.length || blob.readUInt32BE(at) !== 0) return { ok: false, reason: 'certificate: four zero bytes expected for "none"' };
    at += 4;
  } else if (blob[at] === 0x30) {
    const cl = derLength(blob, at);
    if (cl === null) return { ok: false, reason: 'certificate: its DER length runs past the blob' };
    crt = blob.subarray(at, at + cl);
    at += cl;
  } else return { ok: false, reason: `certificate: DER or four zero bytes expected, byte 0x${(blob[at] ?? 0).toString(16)}` };
  let key: Buffer | null = null;
  if (at >= blob.length || blob[at] === 0x00) key = null;
  else if (blob[at] === 0x30 && crt !== null) {
    const kl = derLength(blob, at);
    if (kl === null) return { ok: false, reason: 'key: its DER length runs past the blob' };
    key = blob.subarray(at, at + kl);
  } else key = blob.subarray(at); // a token: the key file's text
  return { ok: true, value: { trust: blob.subarray(0, tl), crt, key } };
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeSynced(path: string, data: Buffer | string): void {
  writeFileSync(path, data);
  syncFile(path);
}

/** The marker written once a category's temp set is complete: its presence at start means "finish the renames". */
const updMarker = (dir: string, cat: CredCategory) => `${dir}/${cat}-temp.upd`;
/** The marker present while the regular set is being copied to -bak: its presence at start means "copy again". */
const cpyMarker = (dir: string, cat: CredCategory) => `${dir}/${cat}-temp.cpy`;
const EXTS = ['uri', ...CRED_FILES] as const;

/**
 * The credentials a category would have with `update` installed (files it
 * does not replace stay as they are); throws StationFileError naming what is
 * unusable, so nothing unusable is ever installed.
 */
export function checkUpdate(dir: string, cat: CredCategory, update: { uri: string | null; files: CredentialFiles | null }): StationCredentials {
  const next = new Map<string, Buffer | null>();
  if (update.uri !== null) next.set(credentialPath(dir, cat, '', 'uri'), Buffer.from(update.uri));
  if (update.files) for (const ext of CRED_FILES) next.set(credentialPath(dir, cat, '', ext), update.files[ext] ?? null);
  return readCredentialSet(dir, cat, '', (path) => (next.has(path) ? next.get(path)! : readOptionalBytes(path)));
}

/**
 * Copies a category's regular set to `-bak` (the set known to work: called
 * when CUPS answered, or the LNS connected, with it [Basics Station src/sys.c
 * backupConfigFiles]), crash-safe: a marker while copying, redone at the next
 * start if the copy was cut short.
 */
export function backupCredentials(dir: string, cat: CredCategory): void {
  writeSynced(cpyMarker(dir, cat), '');
  for (const ext of EXTS) {
    const reg = credentialPath(dir, cat, '', ext);
    const bak = credentialPath(dir, cat, '-bak', ext);
    rmSync(bak, { force: true });
    if (existsSync(reg)) {
      copyFileSync(reg, bak);
      syncFile(bak);
    }
  }
  rmSync(cpyMarker(dir, cat), { force: true });
}

/**
 * Replaces a category's files with what CUPS sent, crash-safe as Basics
 * Station does it: leftovers of an earlier attempt are removed, the new files
 * are written as `-temp`, then a marker, then renamed over the regular ones;
 * {@link rollForward} finishes an interrupted rename at the next start.
 * Unset files are written empty (absent, for the reader and the CRC).
 */
export function installCredentials(dir: string, cat: CredCategory, update: { uri: string | null; files: CredentialFiles | null }): void {
  rmSync(updMarker(dir, cat), { force: true });
  for (const ext of EXTS) rmSync(credentialPath(dir, cat, '-temp', ext), { force: true });
  if (update.uri !== null) writeSynced(credentialPath(dir, cat, '-temp', 'uri'), `${update.uri}\n`);
  if (update.files) for (const ext of CRED_FILES) writeSynced(credentialPath(dir, cat, '-temp', ext), update.files[ext] ?? Buffer.alloc(0));
  writeSynced(updMarker(dir, cat), '');
  rollForward(dir, cat);
}

/**
 * At start (and at the end of an install): a backup cut short is done again;
 * a complete temp set (its marker written) is renamed over the regular one, a
 * temp set without its marker is discarded. True when a temp set was installed.
 */
export function rollForward(dir: string, cat: CredCategory): boolean {
  if (existsSync(cpyMarker(dir, cat))) backupCredentials(dir, cat);
  const marker = updMarker(dir, cat);
  const complete = existsSync(marker);
  for (const ext of EXTS) {
    const temp = credentialPath(dir, cat, '-temp', ext);
    if (!existsSync(temp)) continue;
    if (complete) renameSync(temp, credentialPath(dir, cat, '', ext));
    else rmSync(temp, { force: true });
  }
  rmSync(marker, { force: true });
  return complete;
}
