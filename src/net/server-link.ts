import dgram from 'node:dgram';
import { WarnLimiter } from '../../hal/log-limit.js';
import { promises as dns } from 'node:dns';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { guard } from '../../hal/index.js';

/** Resolves a host name to one address; injectable so tests can simulate DNS at boot. */
export type LookupFn = (host: string) => Promise<{ address: string; family: 4 | 6 }>;

/** Default resolver: the system resolver (getaddrinfo), first answer in its order. */
export const systemLookup: LookupFn = async (host) => {
  const r = await dns.lookup(host, { verbatim: true });
  return { address: r.address, family: r.family === 6 ? 6 : 4 };
};

/** Options of {@link ServerLink}. */
export interface ServerLinkOptions {
  host: string;
  portUp: number;
  portDown: number;
  log: Logger;
  lookup?: LookupFn;
  /** First retry delay after a failed resolution, ms (doubles up to retryMaxMs). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Re-resolve a resolved name this often, ms, so a moved server is followed; 0 = never. */
  reresolveMs?: number;
  /** Kernel receive buffer for both sockets, bytes. */
  recvBufferBytes?: number;
  /** Told of each exception caught by a last-resort guard of a socket or timer callback (counted by the owner). */
  onInternalError?: (handler: string) => void;
}

/** Counters of the link, cumulative since start. */
export interface ServerLinkCounters {
  resolveFailures: number;
  /** Datagrams that arrived from an address/port other than the server's. */
  foreignDatagrams: number;
  /** Datagrams not sent because the server address is not resolved yet. */
  sendWhileUnresolved: number;
  sendErrors: number;
}

/**
 * The two UDP sockets to one network server (upstream port, downstream port).
 *
 * The server name is resolved in the background and re-tried forever: a
 * gateway that boots before DNS is ready keeps running and connects when the
 * name resolves (the reference forwarder exits instead: Lora-net/packet_forwarder#20, #129).
 * Sockets are not `connect()`ed, so datagrams from anywhere else reach us and
 * are counted and dropped here rather than silently by the kernel.
 *
 * Events: 'up-datagram' (buf) and 'down-datagram' (buf) from the server only;
 * 'resolved' ({address, family}).
 */
export class ServerLink extends EventEmitter {
  readonly counters: ServerLinkCounters = {
    resolveFailures: 0,
    foreignDatagrams: 0,
    sendWhileUnresolved: 0,
    sendErrors: 0,
  };
  private address: string | null = null;
  private family: 4 | 6 | null = null;
  private up: dgram.Socket | null = null;
  private down: dgram.Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastRefreshMs = -Infinity;
  private retryMs: number;
  private readonly log: Logger;
  /** Warnings any sender can cause (foreign datagrams, socket errors), rate-limited per message. */
  private readonly warnLimit: WarnLimiter;
  private readonly lookup: LookupFn;
  private readonly countFault: (handler: string) => void;
  private readonly resolveGuarded: () => void;

  constructor(private readonly opts: ServerLinkOptions) {
    super();
    this.log = opts.log;
    this.warnLimit = new WarnLimiter(this.log);
    this.lookup = opts.lookup ?? systemLookup;
    this.retryMs = opts.retryMinMs ?? 1000;
    this.countFault = opts.onInternalError ?? (() => undefined);
    this.resolveGuarded = guard(this.log, this.countFault, 'link resolve timer', () => this.resolveOnce());
  }

  /** The resolved server address, or null while unresolved. */
  get serverAddress(): string | null {
    return this.address;
  }

  /** Starts resolving; resolves once the first attempt finished (successful or not). */
  async start(): Promise<void> {
    await this.resolveOnce();
  }

  /** Sends a datagram to the upstream port; false (and counted) while unresolved. */
  sendUp(buf: Buffer): boolean {
    return this.send(this.up, this.opts.portUp, buf);
  }

  /** Sends a datagram to the downstream port; false (and counted) while unresolved. */
  sendDown(buf: Buffer): boolean {
    return this.send(this.down, this.opts.portDown, buf);
  }

  /** Local port of the downstream socket (what the server answers to), or null. */
  get downLocalPort(): number | null {
    return this.down ? this.down.address().port : null;
  }

  /**
   * Resolves the name again now (a server that stopped answering may have
   * moved); at most once per 10 s, and never for an IP literal.
   */
  refresh(): void {
    if (this.stopped || isIP(this.opts.host) || performance.now() - this.lastRefreshMs < 10_000) return;
    this.lastRefreshMs = performance.now();
    this.schedule(0);
  }

  /** Closes both sockets and stops re-resolution. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closeSockets();
  }

  private send(sock: dgram.Socket | null, port: number, buf: Buffer): boolean {
    if (!sock || !this.address) {
      this.counters.sendWhileUnresolved++;
      return false;
    }
    sock.send(buf, port, this.address, (err) => {
      if (err) {
        this.counters.sendErrors++;
        this.log.warn({ err: err.message, code: (err as NodeJS.ErrnoException).code, port }, 'UDP send failed');
      }
    });
    return true;
  }

  private async resolveOnce(): Promise<void> {
    const host = this.opts.host;
    try {
      const literal = isIP(host);
      const r = literal ? { address: host, family: literal as 4 | 6 } : await this.lookup(host);
      if (this.stopped) return;
      if (r.address !== this.address) {
        this.log.info({ host, address: r.address, family: r.family }, 'server address resolved');
      }
      this.address = r.address;
      if (r.family !== this.family) this.openSockets(r.family);
      this.retryMs = this.opts.retryMinMs ?? 1000;
      this.emit('resolved', { address: r.address, family: r.family });
      const every = this.opts.reresolveMs ?? 300_000;
      if (!literal && every > 0) this.schedule(every);
    } catch (err) {
      if (this.stopped) return;
      this.counters.resolveFailures++;
      const code = (err as NodeJS.ErrnoException).code;
      // A known address is kept on a failed re-resolution: DNS outages must not cut a working link.
      this.log.warn(
        { host, code, retryInMs: this.retryMs, keeping: this.address },
        'server address resolution failed, will retry',
      );
      this.schedule(this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs ?? 30_000);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(this.resolveGuarded, ms);
    this.timer.unref();
  }

  private openSockets(family: 4 | 6): void {
    this.closeSockets();
    this.family = family;
    this.up = this.makeSocket(family, this.opts.portUp, 'up-datagram');
    this.down = this.makeSocket(family, this.opts.portDown, 'down-datagram');
  }

  private makeSocket(family: 4 | 6, port: number, event: string): dgram.Socket {
    const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    // Listeners run inside this callback: whatever one of them throws is caught here, counted and logged.
    sock.on('message', guard(this.log, this.countFault, `${event} socket`, (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      if (rinfo.address !== this.address || rinfo.port !== port) {
        this.counters.foreignDatagrams++;
        this.warnLimit.warn(
          { from: `${rinfo.address}:${rinfo.port}`, bytes: msg.length, expected: `${this.address}:${port}` },
          'datagram from foreign address ignored',
        );
        return;
      }
      this.emit(event, msg);
    }));
    sock.on('error', (err) => {
      this.counters.sendErrors++;
      this.warnLimit.warn({ err: err.message }, 'UDP socket error');
    });
    sock.bind(0, () => {
      const bytes = this.opts.recvBufferBytes ?? 1 << 20;
      try {
        sock.setRecvBufferSize(bytes);
      } catch {
        // The kernel caps it at net.core.rmem_max; the default still works.
      }
    });
    return sock;
  }

  private closeSockets(): void {
    for (const s of [this.up, this.down]) {
      try {
        s?.close();
      } catch {
        // already closed
      }
    }
    this.up = this.down = null;
    this.family = null;
  }
}
