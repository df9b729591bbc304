/**
 * A CUPS stand-in (Basics Station's Configuration and Update Server) for the
 * tests and the demo: HTTPS on loopback with the repository's test CA,
 * `POST /update-info` checked for a bearer token or a client certificate,
 * answered with the segments of whatever differs between what the gateway
 * reports (URIs, credential CRCs) and what this server hands out, the way
 * Basics Station's own test CUPS does (pysys/tcutils.py: a segment is sent
 * only when its URI or CRC differs; CRC-32 of the credentials blob).
 */
import { crc32 } from 'node:zlib';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tlsFile } from './lns-server.js';

/** A credentials set as a server keeps it: trust, client certificate, key (DER) or token (text). */
export interface CupsCredentials {
  trust: Buffer;
  crt?: Buffer;
  /** DER private key, or a token file's bytes (e.g. "Authorization: Bearer …\r\n"). */
  key?: Buffer;
}

/** What this CUPS hands out; unset: nothing of that kind. */
export interface CupsTarget {
  tcUri?: string;
  tcCred?: CupsCredentials;
  cupsUri?: string;
  cupsCred?: CupsCredentials;
  /** A firmware update offered (its bytes), with a signature segment. */
  update?: Buffer;
}

export interface CupsStandInOptions {
  /** Accepted Authorization header; undefined: none needed. */
  token?: string;
  clientCerts?: boolean;
  target: CupsTarget;
  /** Replaces the answer body (malformed answers). */
  rawAnswer?: () => Buffer | null;
  /** Waits this long before answering (a slow server), ms. */
  holdMs?: number;
}

/** The blob the protocol carries: trust, certificate or four zero bytes, key/token or four zero bytes. */
export function credentialsBlob(c: CupsCredentials): Buffer {
  return Buffer.concat([c.trust, c.crt ?? Buffer.alloc(4), c.key ?? Buffer.alloc(4)]);
}

export class CupsStandIn {
  /** Each request's JSON body, in order, and when it came (performance.now ms). */
  readonly requests: Record<string, unknown>[] = [];
  readonly requestTimes: number[] = [];
  /** Refused requests and why. */
  readonly refused: string[] = [];
  /** Segments sent in each 200 answer. */
  readonly answers: { segments: string[] }[] = [];
  port = 0;
  private server: https.Server | null = null;

  constructor(readonly o: CupsStandInOptions) {}

  async start(): Promise<number> {
    const server = https.createServer({
      key: tlsFile('server.key'), cert: tlsFile('server.crt'),
      ...(this.o.clientCerts ? { requestCert: true, rejectUnauthorized: true, ca: tlsFile('ca.crt') } : {}),
    }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/update-info') {
          res.writeHead(404).end();
          return;
        }
        if (this.o.token !== undefined && req.headers.authorization !== this.o.token) {
          this.refused.push(`Authorization ${req.headers.authorization ?? 'missing'}`);
          res.writeHead(401).end();
          return;
        }
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          res.writeHead(400).end();
          return;
        }
        this.requests.push(body);
        this.requestTimes.push(performance.now());
        const send = () => {
          const raw = this.o.rawAnswer?.();
          res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(raw ?? this.answer(body));
        };
        if (this.o.holdMs) setTimeout(send, this.o.holdMs);
        else send();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  private answer(req: Record<string, unknown>): Buffer {
    const t = this.o.target;
    const segments: string[] = [];
    const uri = (name: 'cupsUri' | 'tcUri') => {
      const want = t[name];
      if (want === undefined || req[name] === want) return Buffer.from([0]);
      segments.push(name);
      const b = Buffer.from(want, 'ascii');
      return Buffer.concat([Buffer.from([b.length]), b]);
    };
    const cred = (name: 'cupsCred' | 'tcCred') => {
      const c = t[name];
      if (!c) return Buffer.alloc(2);
      const blob = credentialsBlob(c);
      if (req[`${name}Crc`] === crc32(blob)) return Buffer.alloc(2);
      segments.push(name);
      const len = Buffer.alloc(2);
      len.writeUInt16LE(blob.length);
      return Buffer.concat([len, blob]);
    };
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    const parts: Buffer[] = [uri('cupsUri'), uri('tcUri'), cred('cupsCred'), cred('tcCred')];
    if (t.update) {
      segments.push('signature', 'update');
      const sig = Buffer.concat([u32(0x12345678), Buffer.alloc(64, 0x5a)]);
      parts.push(u32(sig.length), sig, u32(t.update.length), t.update);
    } else parts.push(u32(0), u32(0));
    this.answers.push({ segments });
    return Buffer.concat(parts);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }
}
