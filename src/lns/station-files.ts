/**
 * The Basics Station credential files, read from one directory so a user can
 * follow a network server's Basics Station instructions unchanged
 * [Basics Station docs "Credentials", "Glossary"; src/sys.c file naming]:
 * - `tc.uri`: the LNS address, `wss://host:port` (or `ws://` without TLS);
 * - `tc.trust`: the CA certificate(s) the server's certificate must chain to;
 *   absent: the system's CAs;
 * - `tc.crt` + `tc.key`: a client certificate and its private key (AWS IoT
 *   Core for LoRaWAN);
 * - `tc.key` alone, when it is not a private key: HTTP header lines sent with
 *   the WebSocket upgrade, e.g. `Authorization: Bearer NNSXS...` (The Things
 *   Stack's API key, one header per line, CRLF or LF).
 * The same four files with `cups` instead of `tc` name the CUPS server
 * (`https://`), and `-bak` / `-boot` sets (`cups-bak.uri`, `cups-boot.key`,
 * …) are the backup made before a CUPS update and the factory set.
 * Certificates and keys are PEM, or DER as Basics Station writes what CUPS
 * sends; an empty file counts as absent (as in Basics Station).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** `tc` (the LNS) or `cups`. */
export type CredCategory = 'tc' | 'cups';
/** The regular set, the backup made before a CUPS update, the factory (bootstrap) set. */
export type CredSet = '' | '-bak' | '-boot';
/** The file kinds, in the order their bytes make the credentials CRC. */
export const CRED_FILES = ['trust', 'crt', 'key'] as const;

/** `<dir>/<cat><set>.<ext>`, e.g. `cups-bak.key`. */
export function credentialPath(dir: string, cat: CredCategory, set: CredSet | '-temp', ext: 'uri' | (typeof CRED_FILES)[number]): string {
  return join(dir, `${cat}${set}.${ext}`);
}

/** What the files say. */
export interface StationCredentials {
  dir: string;
  /** From tc.uri, trimmed. */
  uri: string;
  /** PEM text of tc.trust, or null (system CAs). */
  trust: string | null;
  /** Client certificate and key (PEM), or null. */
  clientCert: { cert: string; key: string } | null;
  /** Header name → value from a token tc.key, or {}. */
  headers: Record<string, string>;
}

/** A credential file that is missing or unusable; `file` names it. */
export class StationFileError extends Error {
  readonly code = 'ESTATIONFILE';
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

export function readOptionalBytes(path: string): Buffer | null {
  try {
    const b = readFileSync(path);
    return b.length === 0 ? null : b;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StationFileError(path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

const PEM_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;
const PEM_CERT = /-----BEGIN CERTIFICATE-----/;
/** An HTTP header line (RFC 9110 token name, visible value). */
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\x20-\x7e\t]*?)[ \t]*$/;
/** DER: an ASN.1 SEQUENCE. */
const isDer = (b: Buffer): boolean => b[0] === 0x30;

/** A certificate file (PEM, or one DER certificate) as PEM text. */
function certificatePem(b: Buffer, path: string): string {
  if (isDer(b)) {
    try {
      return new X509Certificate(b).toString();
    } catch (err) {
      throw new StationFileError(path, `holds no usable DER certificate (${(err as Error).message})`);
    }
  }
  const text = b.toString('utf8');
  if (!PEM_CERT.test(text)) throw new StationFileError(path, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----) and is not DER');
  return text;
}

/** A DER private key (PKCS#8, SEC1 or PKCS#1, as CUPS may send) as PKCS#8 PEM. */
function derKeyPem(b: Buffer, path: string): string {
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      return createPrivateKey({ key: b, format: 'der', type }).export({ format: 'pem', type: 'pkcs8' }).toString();
    } catch {
      // the next encoding
    }
  }
  throw new StationFileError(path, 'holds no usable DER private key (PKCS#8, SEC1 or PKCS#1)');
}

/** True when `<cat><set>.uri` exists and is not empty. */
export function hasCredentialSet(dir: string, cat: CredCategory, set: CredSet = ''): boolean {
  return readOptionalBytes(credentialPath(dir, cat, set, 'uri')) !== null;
}

/**
 * The CRC Basics Station reports to CUPS for a set (`tcCredCrc`,
 * `cupsCredCrc`): CRC-32 over the bytes of its trust, crt and key files in
 * that order, four zero bytes standing for an absent or empty one
 * [Basics Station src/sys.c sys_crcCred].
 */
export function credentialCrc(dir: string, cat: CredCategory, set: CredSet = ''): number {
  let crc = 0;
  for (const ext of CRED_FILES) crc = crc32(readOptionalBytes(credentialPath(dir, cat, set, ext)) ?? Buffer.alloc(4), crc);
  return crc >>> 0;
}

/** Reads `dir`'s tc.* files; throws StationFileError naming the first bad one. */
export function readStationFiles(dir: string): StationCredentials {
  return readCredentialSet(dir, 'tc', '');
}

/** Reads a file's bytes, null when absent or empty. */
export type FileReader = (path: string) => Buffer | null;

/**
 * Reads one set of credential files (`tc`, `cups-bak`, …); throws
 * StationFileError naming the first bad one. `read` replaces the file
 * system (a CUPS update is checked before it is installed).
 */
export function readCredentialSet(dir: string, cat: CredCategory, set: CredSet, read: FileReader = readOptionalBytes): StationCredentials {
  const uriPath = credentialPath(dir, cat, set, 'uri');
  const uriBytes = read(uriPath);
  const example = cat === 'tc' ? 'the LNS address, e.g. wss://eu1.cloud.thethings.network:8887' : 'the CUPS address, e.g. https://eu1.cloud.thethings.network:443';
  if (uriBytes === null) throw new StationFileError(uriPath, `missing (${example})`);
  const uri = uriBytes.toString('utf8').trim();
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new StationFileError(uriPath, `"${uri}" is not a URI (${example})`);
  }
  const secure = cat === 'tc' ? 'wss:' : 'https:';
  const plain = cat === 'tc' ? 'ws:' : 'http:';
  if (parsed.protocol !== secure && parsed.protocol !== plain) throw new StationFileError(uriPath, `"${uri}": expected a ${secure}// (or ${plain}//) URI`);
  const trustPath = credentialPath(dir, cat, set, 'trust');
  const trustBytes = read(trustPath);
  const trust = trustBytes === null ? null : certificatePem(trustBytes, trustPath);
  const keyPath = credentialPath(dir, cat, set, 'key');
  const crtPath = credentialPath(dir, cat, set, 'crt');
  const key = read(keyPath);
  const crt = read(crtPath);
  const name = (p: string) => p.slice(dir.length).replace(/^\/+/, '');
  let clientCert: StationCredentials['clientCert'] = null;
  let headers: Record<string, string> = {};
  if (key !== null && (PEM_KEY.test(key.toString('latin1')) || (crt !== null && isDer(key)))) {
    if (crt === null) throw new StationFileError(crtPath, `missing: ${name(keyPath)} is a private key, which needs its certificate in ${name(crtPath)}`);
    clientCert = { cert: certificatePem(crt, crtPath), key: isDer(key) ? derKeyPem(key, keyPath) : key.toString('utf8') };
  } else if (key !== null) {
    headers = parseTokenHeaders(key.toString('utf8'), keyPath);
  } else if (crt !== null) {
    throw new StationFileError(keyPath, `missing: ${name(crtPath)} is there, its private key must be in ${name(keyPath)}`);
  }
  if (parsed.protocol === plain && (clientCert || Object.keys(headers).length > 0)) {
    throw new StationFileError(uriPath, `"${uri}" is plain ${plain}// but ${name(keyPath)} holds credentials: they would travel unencrypted (use ${secure}//)`);
  }
  return { dir, uri, trust, clientCert, headers };
}

/** A token tc.key: one HTTP header per line; a bare token becomes `Authorization: Bearer <token>`. */
function parseTokenHeaders(text: string, path: string): Record<string, string> {
  const lines = text.split(/\r\n|\n|\r/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length === 0) throw new StationFileError(path, 'is empty (expected a private key, or a header line such as "Authorization: Bearer <API key>")');
  const out: Record<string, string> = {};
  for (const line of lines) {
    const m = HEADER_LINE.exec(line);
    if (m) {
      out[m[1]!] = m[2]!;
      continue;
    }
    if (lines.length === 1 && /^[\x21-\x7e]+$/.test(line)) {
      out['Authorization'] = `Bearer ${line}`;
      continue;
    }
    throw new StationFileError(path, 'is neither a PEM private key nor HTTP header lines ("Name: value")');
  }
  return out;
}
