/**
 * The local status endpoint: JSON for programs and `pktfwd status`,
 * Prometheus text for scrapers, and one self-contained page for people.
 * Loopback only unless api_conf.bind_address says otherwise. A failing
 * request is answered 500 and logged; it never takes the forwarder down.
 *
 *   GET /api/status             ForwarderStatus
 *   GET /api/packets?limit&since the packet log (oldest first), lastId, lastRev;
 *       &updatedSince=REV       instead of since: the records new or changed (a downlink's outcome) after revision REV
 *   GET /api/channels           uplinks/downlinks per minute per channel, last hour
 *   GET /metrics                Prometheus exposition (prom-client)
 *   GET /                       the page (page.ts)
 *
 * DNS rebinding: a web page on a name its owner controls can re-point that
 * name at 127.0.0.1 and read this API from a browser on the gateway's network
 * (or through an SSH tunnel). Requests are therefore answered only when the
 * Host header (and Origin, when a browser sends one) names localhost, an IP
 * address, this machine's own name (`name`, `name.local`) or one of
 * `api_conf.allowed_hosts`; anything else is 403 with the reason. The API has
 * no authentication: on a non-loopback `bind_address` anyone who reaches the
 * port can read it (a warning at start says so).
 */
import http from 'node:http';
import { hostname } from 'node:os';
import { isIP, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { WarnLimiter } from '../../hal/log-limit.js';
import type { Forwarder } from '../forwarder.js';
import { PAGE_HTML } from './page.js';

/** Largest `limit` of /api/packets. */
export const PACKETS_LIMIT_MAX = 100_000;

/** A running endpoint. */
export interface ApiServer {
  /** http://host:port */
  url: string;
  port: number;
  /** errors: answered 500; refused: 403 for a Host or Origin not allowed. */
  requests: { total: number; errors: number; refused: number };
  close(): Promise<void>;
}

function intParam(v: string | null, dflt: number, max: number): number | null {
  if (v === null) return dflt;
  if (!/^\d+$/.test(v)) return null;
  return Math.min(Number(v), max);
}

/** The host name of a Host header value (`name`, `name:port`, `[v6]:port`), lower-cased, or null if malformed. */
export function hostOfHeader(v: string): string | null {
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0 || !/^(:\d{1,5})?$/.test(v.slice(end + 1))) return null;
    return v.slice(1, end).toLowerCase();
  }
  const m = /^([^:]*)(:\d{1,5})?$/.exec(v);
  return m && m[1] ? m[1].toLowerCase().replace(/\.$/, '') : null;
}

/**
 * The Host/Origin rule (see the header): returns a predicate over host
 * names. IP literals cannot be re-pointed, so they are always allowed.
 */
export function hostAllowList(extra: readonly string[], machineName = hostname()): (host: string) => boolean {
  const me = machineName.toLowerCase();
  const names = new Set(['localhost', me, `${me}.local`, ...extra.map((h) => h.toLowerCase())]);
  return (host) => isIP(host) !== 0 || names.has(host) || host.endsWith('.localhost');
}

/** Why a request's Host or Origin is refused, or null when it may be answered. */
function refusal(req: http.IncomingMessage, allowed: (host: string) => boolean): string | null {
  const h = req.headers.host;
  if (h !== undefined) {
    const host = hostOfHeader(h);
    if (host === null || !allowed(host)) return `Host ${JSON.stringify(h.slice(0, 100))} is not allowed (DNS-rebinding protection): add the name to api_conf.allowed_hosts`;
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let host: string | null = null;
    try {
      const u = new URL(origin);
      if (u.protocol === 'http:' || u.protocol === 'https:') host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    } catch {
      host = null;
    }
    if (host === null || !allowed(host)) return `Origin ${JSON.stringify(origin.slice(0, 100))} is not allowed: the API answers only its own page and local programs`;
  }
  return null;
}

/**
 * Path and query of a request target: origin-form (`/path?query`, taken
 * as written, so `//` is a path like any other) or absolute-form
 * (`http://host/path`, RFC 9112 §3.2.2, whose host then passes the same
 * check as Host); null for anything else (`*`, authority-form).
 */
function target(raw: string, allowed: (host: string) => boolean): { pathname: string; query: URLSearchParams } | { refused: string } | null {
  if (raw.startsWith('/')) {
    const q = raw.indexOf('?');
    return { pathname: q < 0 ? raw : raw.slice(0, q), query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
  }
  if (!/^https?:\/\//i.test(raw)) return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!allowed(host)) return { refused: `host ${JSON.stringify(host.slice(0, 100))} of the request target is not allowed (DNS-rebinding protection)` };
  return { pathname: u.pathname, query: u.searchParams };
}

/** Starts the endpoint; rejects when the address cannot be bound. */
export async function startApiServer(o: { forwarder: Forwarder; bindAddress: string; port: number; log: Logger; allowedHosts?: readonly string[] }): Promise<ApiServer> {
  const fwd = o.forwarder;
  const requests = { total: 0, errors: 0, refused: 0 };
  const allowed = hostAllowList(o.allowedHosts ?? []);
  const warnLimit = new WarnLimiter(o.log);
  const json = (res: http.ServerResponse, code: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(text);
  };
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = target(req.url ?? '/', allowed);
    const why = url !== null && 'refused' in url ? url.refused : refusal(req, allowed);
    if (why !== null) {
      requests.refused++;
      warnLimit.warn({ host: (req.headers.host ?? '').slice(0, 100), origin: (req.headers.origin ?? '').slice(0, 100), remote: req.socket.remoteAddress }, 'status API request refused: Host or Origin not allowed');
      return json(res, 403, { error: why });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    if (url === null || 'refused' in url) return json(res, 400, { error: 'request target must be a path starting with / (or an http:// URL)' });
    switch (url.pathname) {
      case '/api/status':
        return json(res, 200, fwd.status());
      case '/api/packets': {
        const limit = intParam(url.query.get('limit'), 200, PACKETS_LIMIT_MAX);
        const since = intParam(url.query.get('since'), 0, Number.MAX_SAFE_INTEGER);
        const updated = url.query.get('updatedSince');
        const updatedSince = updated === null ? undefined : intParam(updated, 0, Number.MAX_SAFE_INTEGER);
        if (limit === null || since === null || updatedSince === null) return json(res, 400, { error: 'limit, since and updatedSince must be non-negative integers' });
        const lastId = fwd.monitor.lastId;
        const lastRev = fwd.monitor.lastRev;
        const packets = fwd.monitor.packets(limit, since, updatedSince);
        return json(res, 200, { packets, lastId, lastRev });
      }
      case '/api/channels':
        return json(res, 200, fwd.monitor.channels());
      case '/metrics': {
        const text = await fwd.monitor.registry.metrics();
        res.writeHead(200, { 'content-type': fwd.monitor.registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
        return;
      }
      case '/':
      case '/index.html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'" });
        res.end(PAGE_HTML);
        return;
      default:
        return json(res, 404, { error: `no such path: ${url.pathname}`, paths: ['/', '/api/status', '/api/packets', '/api/channels', '/metrics'] });
    }
  };
  const server = http.createServer((req, res) => {
    requests.total++;
    handle(req, res).catch((err: Error) => {
      requests.errors++;
      o.log.error({ err: err.message, path: req.url }, 'status API request failed');
      if (!res.headersSent) json(res, 500, { error: err.message });
      else res.end();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => o.log.error({ err: err.message }, 'status API server error'));
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
