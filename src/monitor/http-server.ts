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
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Forwarder } from '../forwarder.js';
import { PAGE_HTML } from './page.js';

/** Largest `limit` of /api/packets. */
export const PACKETS_LIMIT_MAX = 100_000;

/** A running endpoint. */
export interface ApiServer {
  /** http://host:port */
  url: string;
  port: number;
  requests: { total: number; errors: number };
  close(): Promise<void>;
}

function intParam(v: string | null, dflt: number, max: number): number | null {
  if (v === null) return dflt;
  if (!/^\d+$/.test(v)) return null;
  return Math.min(Number(v), max);
}

/** Starts the endpoint; rejects when the address cannot be bound. */
export async function startApiServer(o: { forwarder: Forwarder; bindAddress: string; port: number; log: Logger }): Promise<ApiServer> {
  const fwd = o.forwarder;
  const requests = { total: 0, errors: 0 };
  const json = (res: http.ServerResponse, code: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(text);
  };
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    switch (url.pathname) {
      case '/api/status':
        return json(res, 200, fwd.status());
      case '/api/packets': {
        const limit = intParam(url.searchParams.get('limit'), 200, PACKETS_LIMIT_MAX);
        const since = intParam(url.searchParams.get('since'), 0, Number.MAX_SAFE_INTEGER);
        const updated = url.searchParams.get('updatedSince');
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
