/**
 * A LoRa Basics Station LNS stand-in for tests: an HTTPS server on loopback
 * (test CA in test/fixtures/lns-tls) with a `ws` WebSocketServer serving
 * discovery (`/router-info`) and the muxs (`/traffic/<router>`), checking a
 * bearer token or a client certificate, sending router_config after the
 * gateway's `version`, and recording every message it gets.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';

export const TLS_DIR = fileURLToPath(new URL('../../../test/fixtures/lns-tls/', import.meta.url));
export const tlsFile = (name: string): string => readFileSync(`${TLS_DIR}${name}`, 'utf8');

/** A station directory holding `files` (tc.uri, tc.trust, tc.key, tc.crt). */
export function stationDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-station-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** EU868 DRs (LoRaWAN Regional Parameters: DR0 SF12BW125 … DR6 SF7BW250, DR7 FSK). */
export const EU868_DRS = [[12, 125, 0], [11, 125, 0], [10, 125, 0], [9, 125, 0], [8, 125, 0], [7, 125, 0], [7, 250, 0], [0, 0, 0], ...Array.from({ length: 8 }, () => [-1, 0, 0])];
/** US915 DRs (DR0-4 uplink, DR8-13 downlink only). */
export const US915_DRS = [[10, 125, 0], [9, 125, 0], [8, 125, 0], [7, 125, 0], [8, 500, 0], [-1, 0, 0], [-1, 0, 0], [-1, 0, 0], [12, 500, 1], [11, 500, 1], [10, 500, 1], [9, 500, 1], [8, 500, 1], [7, 500, 1], [-1, 0, 0], [-1, 0, 0]];

/** router_config for EU868 with the channels of an SX1301_conf (the shipped file's, by default). */
export function eu868RouterConfig(sx1301: Record<string, unknown>): Record<string, unknown> {
  return {
    msgtype: 'router_config', NetID: [0x13], JoinEui: [], region: 'EU863', hwspec: 'sx1301/1', freq_range: [863000000, 870000000],
    DRs: EU868_DRS, sx1301_conf: [sx1301], nocca: true, nodc: true, nodwell: true, max_eirp: 16, MuxTime: Date.now() / 1000,
  };
}

/** router_config for US915 sub-band 2 (902.3-903.7 MHz). */
export function us915RouterConfig(): Record<string, unknown> {
  const ch = (radio: number, ifHz: number) => ({ enable: true, radio, if: ifHz });
  return {
    msgtype: 'router_config', NetID: null, JoinEui: null, region: 'US902', hwspec: 'sx1301/1', freq_range: [902000000, 928000000], DRs: US915_DRS, max_eirp: 30,
    sx1301_conf: [{
      radio_0: { enable: true, freq: 902700000 }, radio_1: { enable: true, freq: 903400000 },
      chan_multiSF_0: ch(0, -400000), chan_multiSF_1: ch(0, -200000), chan_multiSF_2: ch(0, 0), chan_multiSF_3: ch(0, 200000),
      chan_multiSF_4: ch(1, -300000), chan_multiSF_5: ch(1, -100000), chan_multiSF_6: ch(1, 100000), chan_multiSF_7: ch(1, 300000),
      chan_Lora_std: { enable: true, radio: 0, if: 300000, bandwidth: 500000, spread_factor: 8 },
    }],
  };
}

/** Options of {@link LnsStandIn}. */
export interface LnsStandInOptions {
  /** Accepted `Authorization` header value; undefined: no token needed. */
  token?: string;
  /** Ask for and check client certificates against the test CA. */
  clientCerts?: boolean;
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

export class LnsStandIn {
  readonly received: LnsReceived[] = [];
  /** Refused upgrades: path and why. */
  readonly refused: { path: string; why: string }[] = [];
  /** TLS handshakes that failed on the server side. */
  readonly tlsErrors: string[] = [];
  private server: https.Server | null = null;
  private wss: WebSocketServer | null = null;
  private muxs: WebSocket | null = null;
  port = 0;

  constructor(private readonly o: LnsStandInOptions) {}

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
      this.received.push({ path, atMs: performance.now(), text, msg });
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
