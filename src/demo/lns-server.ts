/**
 * A LoRa Basics Station LNS stand-in (for `npm run demo -- --lns` and the
 * tests): an HTTPS server on loopback with the repository's test CA
 * (test/fixtures/lns-tls) and a `ws` WebSocketServer serving discovery
 * (`/router-info`) and the muxs (`/traffic/<router>`), checking a bearer
 * token or a client certificate, sending router_config after the gateway's
 * `version`, and recording every message it gets ('message' events).
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';

/** The test PKI (make.sh there regenerates it). */
export const TLS_DIR = fileURLToPath(new URL('../../../test/fixtures/lns-tls/', import.meta.url));
export const tlsFile = (name: string): string => readFileSync(`${TLS_DIR}${name}`, 'utf8');

/** EU868 DRs (LoRaWAN Regional Parameters: DR0 SF12BW125 … DR6 SF7BW250, DR7 FSK). */
export const EU868_DRS = [[12, 125, 0], [11, 125, 0], [10, 125, 0], [9, 125, 0], [8, 125, 0], [7, 125, 0], [7, 250, 0], [0, 0, 0], ...Array.from({ length: 8 }, () => [-1, 0, 0])];
/** router_config for EU868 with the channels of an SX1301_conf (the shipped file's, by default). */
export function eu868RouterConfig(sx1301: Record<string, unknown>): Record<string, unknown> {
  return {
    msgtype: 'router_config', NetID: [0x13], JoinEui: [], region: 'EU863', hwspec: 'sx1301/1', freq_range: [863000000, 870000000],
    DRs: EU868_DRS, sx1301_conf: [sx1301], nocca: true, nodc: true, nodwell: true, max_eirp: 16, MuxTime: Date.now() / 1000,
  };
}

/** Options of {@link LnsStandIn}. */
export interface LnsStandInOptions {
  /** Accepted `Authorization` header value; undefined: no token needed. */
  token?: string;
  /** Ask for and check client certificates against the test CA. */
  clientCerts?: boolean;
  /** Answer the muxs upgrade with this HTTP status instead (a muxs that moved or is down), while it returns one. */
  refuseMuxs?: () => number | null;
  /** What router_config to send after `version`. */
  routerConfig: () => Record<string, unknown>;
}

/** One received message, with when it came (ms, performance.now). */
export interface LnsReceived {
  path: string;
  atMs: number;
  text: string;
  msg: Record<string, unknown>;
}

export class LnsStandIn extends EventEmitter {
  readonly received: LnsReceived[] = [];
  /** Refused upgrades: path and why. */
  readonly refused: { path: string; why: string }[] = [];
  /** TLS handshakes that failed on the server side. */
  readonly tlsErrors: string[] = [];
  private server: https.Server | null = null;
  private wss: WebSocketServer | null = null;
  private muxs: WebSocket | null = null;
  port = 0;

  constructor(private readonly o: LnsStandInOptions) {
    super();
  }

  async start(): Promise<number> {
    const server = https.createServer({
      key: tlsFile('server.key'), cert: tlsFile('server.crt'),
      ...(this.o.clientCerts ? { requestCert: true, rejectUnauthorized: true, ca: tlsFile('ca.crt') } : {}),
    });
    server.on('tlsClientError', (err) => this.tlsErrors.push(err.message));
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      const path = req.url ?? '';
      const auth = req.headers.authorization;
      if (this.o.token !== undefined && auth !== this.o.token) {
        this.refused.push({ path, why: `Authorization ${auth ?? 'missing'}` });
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const refuse = path !== '/router-info' ? this.o.refuseMuxs?.() ?? null : null;
      if (refuse !== null) {
        this.refused.push({ path, why: `HTTP ${refuse}` });
        socket.end(`HTTP/1.1 ${refuse} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, path));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.server = server;
    this.wss = wss;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  private onConnection(ws: WebSocket, path: string): void {
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      const msg = JSON.parse(text.replace(/"(xtime)"\s*:\s*(\d+)/g, '"$1":"$2"')) as Record<string, unknown>;
      const rec = { path, atMs: performance.now(), text, msg };
      this.received.push(rec);
      this.emit('message', rec);
      if (path === '/router-info') {
        const router = String(msg.router);
        ws.send(JSON.stringify({ router, muxs: '::0', uri: `wss://localhost:${this.port}/traffic/${router.replace(/:/g, '-')}` }));
        return;
      }
      if (msg.msgtype === 'version') {
        this.muxs = ws;
        ws.send(JSON.stringify(this.o.routerConfig()));
      }
      if (msg.msgtype === 'timesync') ws.send(JSON.stringify({ msgtype: 'timesync', txtime: msg.txtime, gpstime: 1_400_000_000_000_000 }));
    });
  }

  /** From now on the upgrade must carry this Authorization value (a server that rotated the gateway's key). */
  acceptToken(token: string): void {
    this.o.token = token;
  }

  /** Messages of one msgtype from the muxs connection. */
  messages(msgtype: string): LnsReceived[] {
    return this.received.filter((r) => r.msg.msgtype === msgtype);
  }

  /** Sends a message to the connected gateway (text as given: xtime digits stay exact). */
  sendText(text: string): void {
    if (!this.muxs) throw new Error('no gateway connected');
    this.muxs.send(text);
  }

  /** Closes the gateway's muxs connection (a server restart, seen from the gateway). */
  dropGateway(): void {
    this.muxs?.terminate();
    this.muxs = null;
  }

  get connected(): boolean {
    return this.muxs !== null && this.muxs.readyState === 1;
  }

  async stop(): Promise<void> {
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.wss?.close();
    this.server?.closeAllConnections();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }
}
