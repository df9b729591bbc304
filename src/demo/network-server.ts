import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP, type AddressInfo } from 'node:net';
import {
  decodePacket,
  decodeTxAckBody,
  encodePacket,
  encodeTxpk,
  parsePushDataBody,
  type Rxpk,
  type Stat,
  type Txpk,
} from '../protocol/index.js';
import type { TxAckError } from '../protocol/tx-ack-error.js';

/** A PUSH_DATA as the stand-in received it. */
export interface PushEvent {
  token: number;
  gatewayEui: Buffer;
  rxpk: Rxpk[];
  stat?: Stat;
  /** The JSON body as text, for byte-exact assertions. */
  body: string;
  bytes: number;
  /** performance.now() at arrival. */
  atMs: number;
}

/** A TX_ACK as the stand-in received it. */
export interface TxAckEvent {
  token: number;
  error: TxAckError | null;
  /** Raw body (empty for the bare-header success form). */
  body: Buffer;
  /** A success with a warning (`"error":"NONE","warn":"TX_POWER","value":dBm`). */
  warn?: string;
  value?: number;
}

/** Options of {@link NetworkServerStandIn}. */
export interface NetworkServerOptions {
  address?: string;
  port?: number;
  /** Answer PUSH_DATA with PUSH_ACK (default true). */
  ackPush?: boolean;
  /** Answer PULL_DATA with PULL_ACK (default true). */
  ackPull?: boolean;
  /**
   * A server-side rule: a PUSH_DATA with an rxpk for which this returns a
   * reason is dropped unacknowledged, as a server does with what it cannot
   * decode (poison tests).
   */
  refuseRxpk?: (rxpk: Rxpk) => string | null;
  /** Delay of each PUSH_ACK, ms (a server far away). */
  ackDelayMs?: number;
}

/**
 * A minimal Semtech-UDP network server on one port (uplink and downlink, as
 * ChirpStack's bridge listens): acks PUSH_DATA and PULL_DATA, decodes what it
 * receives strictly, remembers where the gateway's PULL_DATA came from, and
 * sends PULL_RESPs there. Used by the demo, the integration tests and the
 * benchmark; it is a test peer, not a network server.
 *
 * Events: 'push' (PushEvent), 'pull' ({token}), 'txack' (TxAckEvent),
 * 'invalid' ({reason}) for datagrams a strict server would drop.
 */
export class NetworkServerStandIn extends EventEmitter {
  private sock: dgram.Socket | null = null;
  private gateway: { address: string; port: number } | null = null;
  private nextToken = 1;
  /** Counters since start. */
  readonly counts = { push: 0, pull: 0, txack: 0, invalid: 0, rxpk: 0, unheard: 0 };
  /** An unreachable server: datagrams are dropped unread, nothing is answered (outage tests). */
  silent = false;

  constructor(private readonly opts: NetworkServerOptions = {}) {
    super();
  }

  /** Binds the socket; resolves with the bound port. */
  async start(): Promise<number> {
    const sock = dgram.createSocket(isIP(this.opts.address ?? '') === 6 ? 'udp6' : 'udp4');
    this.sock = sock;
    sock.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    await new Promise<void>((resolve) => sock.bind(this.opts.port ?? 0, this.opts.address ?? '127.0.0.1', resolve));
    try {
      sock.setRecvBufferSize(8 << 20);
    } catch {
      // capped by the kernel; fine for tests
    }
    return (sock.address() as AddressInfo).port;
  }

  /** The bound port. */
  get port(): number {
    return (this.sock!.address() as AddressInfo).port;
  }

  /** Where the gateway's downstream socket is (learned from PULL_DATA), or null. */
  get gatewayDownlinkAddress(): { address: string; port: number } | null {
    return this.gateway;
  }

  /** Sends a PULL_RESP carrying `txpk` to the gateway; returns its token. */
  sendPullResp(txpk: Txpk | string, token?: number): number {
    const t = token ?? this.nextToken++ & 0xffff;
    const body = typeof txpk === 'string' ? txpk : `{"txpk":${encodeTxpk(txpk)}}`;
    this.sendRaw(encodePacket({ type: 'PULL_RESP', token: t, body: Buffer.from(body) }));
    return t;
  }

  /** Sends raw bytes to the gateway's downstream socket (or to `to`). */
  sendRaw(buf: Buffer, to?: { address: string; port: number }): void {
    const dst = to ?? this.gateway;
    if (!dst || !this.sock) throw Object.assign(new Error('no PULL_DATA seen yet'), { code: 'ENOGATEWAY' });
    this.sock.send(buf, dst.port, dst.address);
  }

  /** Closes the socket. */
  stop(): void {
    this.sock?.close();
    this.sock = null;
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.silent) {
      this.counts.unheard++;
      return;
    }
    const r = decodePacket(msg);
    if (!r.ok) return this.invalid(r.reason);
    const p = r.packet;
    const reply = (type: 'PUSH_ACK' | 'PULL_ACK') =>
      this.sock?.send(encodePacket({ type, token: p.token }), rinfo.port, rinfo.address);
    if (p.type === 'PUSH_DATA') {
      // Like ChirpStack and TTS, parse the whole JSON before acking; a bad body gets no ack.
      const body = parsePushDataBody(p.body);
      if (!body.ok) return this.invalid(body.reason);
      const refused = this.opts.refuseRxpk ? body.rxpk.map(this.opts.refuseRxpk).find((x) => x !== null) : undefined;
      if (refused) return this.invalid(refused);
      if (this.opts.ackPush ?? true) {
        if (this.opts.ackDelayMs) setTimeout(() => reply('PUSH_ACK'), this.opts.ackDelayMs);
        else reply('PUSH_ACK');
      }
      this.counts.push++;
      this.counts.rxpk += body.rxpk.length;
      const ev: PushEvent = {
        token: p.token, gatewayEui: p.gatewayEui, rxpk: body.rxpk, body: p.body.toString(), bytes: msg.length, atMs: performance.now(),
      };
      if (body.stat) ev.stat = body.stat;
      this.emit('push', ev);
    } else if (p.type === 'PULL_DATA') {
      this.gateway = { address: rinfo.address, port: rinfo.port };
      this.counts.pull++;
      if (this.opts.ackPull ?? true) reply('PULL_ACK');
      this.emit('pull', { token: p.token });
    } else if (p.type === 'TX_ACK') {
      const a = decodeTxAckBody(p.body);
      if (!a.ok) return this.invalid(a.reason);
      this.counts.txack++;
      this.emit('txack', { token: p.token, error: a.error, body: p.body, ...(a.warn !== undefined ? { warn: a.warn } : {}), ...(a.value !== undefined ? { value: a.value } : {}) } satisfies TxAckEvent);
    } else {
      this.invalid(`unexpected ${p.type} from gateway`);
    }
  }

  private invalid(reason: string): void {
    this.counts.invalid++;
    this.emit('invalid', { reason });
  }
}
