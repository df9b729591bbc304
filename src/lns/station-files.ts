/**
 * The Basics Station credential files, read from one directory so a user can
 * follow a network server's Basics Station instructions unchanged
 * [Basics Station docs "Credentials", "Glossary": tc.uri, tc.trust, tc.crt, tc.key]:
 * - `tc.uri`: the LNS address, `wss://host:port` (or `ws://` without TLS);
 * - `tc.trust`: the CA certificate(s) the server's certificate must chain to
 *   (PEM); absent: the system's CAs;
 * - `tc.crt` + `tc.key`: a client certificate and its private key (AWS IoT
 *   Core for LoRaWAN);
 * - `tc.key` alone, when it is not a private key: HTTP header lines sent with
 *   the WebSocket upgrade, e.g. `Authorization: Bearer NNSXS...` (The Things
 *   Stack's API key, one header per line, CRLF or LF).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

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

function readOptional(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StationFileError(path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

const PEM_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;
const PEM_CERT = /-----BEGIN CERTIFICATE-----/;
/** An HTTP header line (RFC 9110 token name, visible value). */
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\x20-\x7e\t]*?)[ \t]*$/;

/** Reads `dir`'s tc.* files; throws StationFileError naming the first bad one. */
export function readStationFiles(dir: string): StationCredentials {
  const uriPath = join(dir, 'tc.uri');
  const uriText = readOptional(uriPath);
  if (uriText === null) throw new StationFileError(uriPath, 'missing (the LNS address, e.g. wss://eu1.cloud.thethings.network:8887)');
  const uri = uriText.trim();
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new StationFileError(uriPath, `"${uri}" is not a URI (expected wss://host:port)`);
  }
  if (parsed.protocol !== 'wss:' && parsed.protocol !== 'ws:') throw new StationFileError(uriPath, `"${uri}": expected a wss:// (or ws://) URI`);
  const trustPath = join(dir, 'tc.trust');
  const trust = readOptional(trustPath);
  if (trust !== null && !PEM_CERT.test(trust)) throw new StationFileError(trustPath, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  const keyPath = join(dir, 'tc.key');
  const crtPath = join(dir, 'tc.crt');
  const key = readOptional(keyPath);
  const crt = readOptional(crtPath);
  let clientCert: StationCredentials['clientCert'] = null;
  let headers: Record<string, string> = {};
  if (key !== null && PEM_KEY.test(key)) {
    if (crt === null) throw new StationFileError(crtPath, 'missing: tc.key is a private key, which needs its certificate in tc.crt');
    if (!PEM_CERT.test(crt)) throw new StationFileError(crtPath, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
    clientCert = { cert: crt, key };
  } else if (key !== null) {
    headers = parseTokenHeaders(key, keyPath);
  } else if (crt !== null) {
    throw new StationFileError(keyPath, 'missing: tc.crt is there, its private key must be in tc.key');
  }
  if (parsed.protocol === 'ws:' && (clientCert || Object.keys(headers).length > 0)) {
    throw new StationFileError(uriPath, `"${uri}" is plain ws:// but tc.key holds credentials: they would travel unencrypted (use wss://)`);
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
