/**
 * Issue 18 item 7, against the real CLI process with its status API: odd
 * request targets are answered (never 500), the Host/Origin check refuses a
 * re-pointed name (DNS rebinding) and allows what a user types (localhost
 * through an SSH tunnel on any port, IP addresses, this machine's name,
 * `api_conf.allowed_hosts`), and a non-loopback bind says at start that the
 * API has no authentication.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { hostAllowList, hostOfHeader } from '../src/monitor/http-server.js';
import { waitFor } from './helpers/harness.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../global_conf.json', import.meta.url));

/** One GET with the headers exactly as given (fetch cannot set Host). */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, setHost: !('host' in headers) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A request written byte for byte (targets http.request would refuse or rewrite). */
function rawGet(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(text));
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

function startCli(api: Record<string, unknown>): { child: ChildProcess; entries: () => Record<string, unknown>[] } {
  const conf = JSON.parse(readFileSync(SHIPPED, 'utf8')) as Record<string, Record<string, unknown>>;
  conf.gateway_conf = { ...conf.gateway_conf, stat_interval: 3600 };
  conf.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
  conf.api_conf = { enable: true, port: 0, ...api };
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-api-'));
  writeFileSync(join(dir, 'global_conf.json'), JSON.stringify(conf));
  // A server that never answers is enough: the API does not depend on it.
  const child = spawn(process.execPath, [CLI, 'run', '--config', join(dir, 'global_conf.json'), '--radio', 'sim', '--server', '127.0.0.1', '--port-up', '9', '--port-down', '9', '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, entries: () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function stopCli(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

describe('Host header parsing and the allow list', () => {
  test('name, name:port, [v6]:port, malformed', () => {
    assert.equal(hostOfHeader('localhost:8080'), 'localhost');
    assert.equal(hostOfHeader('Gateway.Example.LAN.'), 'gateway.example.lan');
    assert.equal(hostOfHeader('[::1]:1790'), '::1');
    assert.equal(hostOfHeader('127.0.0.1'), '127.0.0.1');
    assert.equal(hostOfHeader('[::1'), null);
    assert.equal(hostOfHeader('a:b:c'), null);
    assert.equal(hostOfHeader(':80'), null);
  });
  test('IP literals, localhost, the machine name and extras pass; other names do not', () => {
    const ok = hostAllowList(['gw.lan'], 'PiGateway');
    for (const h of ['127.0.0.1', '192.168.1.20', '::1', 'localhost', 'app.localhost', 'pigateway', 'pigateway.local', 'gw.lan']) assert.equal(ok(h), true, h);
    for (const h of ['evil.example', 'localhost.evil.example', 'pigateway.evil', '127.0.0.1.nip.io']) assert.equal(ok(h), false, h);
  });
});

describe('the real forwarder\'s status API (loopback)', () => {
  let cli: ReturnType<typeof startCli>;
  let port = 0;

  before(async () => {
    cli = startCli({ allowed_hosts: ['gateway.example.lan'] });
    const listening = await waitFor(() => cli.entries().find((e) => e.msg === 'status API listening'), 10_000, 'status API listening');
    port = Number(/:(\d+)$/.exec(String(listening.url))![1]);
  });
  after(() => stopCli(cli.child));

  test('GET // and other odd targets: 404 or 400, never 500, nothing logged at error', async () => {
    const slash = await get(port, '//');
    assert.equal(slash.status, 404);
    assert.match(slash.body, /no such path: \/\//);
    assert.equal((await get(port, '//api/status')).status, 404);
    assert.equal((await get(port, '/api/status?x=%zz')).status, 200, 'a malformed query escape is not an error');
    assert.match(await rawGet(port, 'GET * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(await rawGet(port, 'GET http://localhost/api/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200/, 'absolute-form');
    assert.match(await rawGet(port, 'GET http://rebind.evil.example/api/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 403/, 'absolute-form naming a foreign host');
    // SIGUSR1's stats report is logged after anything those requests logged: a fence for the log buffer.
    const reports = cli.entries().filter((e) => e.msg === 'stats report').length;
    cli.child.kill('SIGUSR1');
    await waitFor(() => cli.entries().filter((e) => e.msg === 'stats report').length > reports, 5000, 'the stats report');
    assert.equal(cli.entries().filter((e) => (e.level as number) >= 50).length, 0, 'no error lines');
  });

  test('a re-pointed name is refused 403 with the reason; what a user types is answered', async () => {
    const evil = await get(port, '/api/status', { host: `rebind.evil.example:${port}` });
    assert.equal(evil.status, 403);
    assert.match(evil.body, /Host \\"rebind\.evil\.example:\d+\\" is not allowed \(DNS-rebinding protection\): add the name to api_conf.allowed_hosts/);
    assert.equal((await get(port, '/', { host: 'rebind.evil.example' })).status, 403, 'the page too');
    const o = await get(port, '/api/status', { host: `127.0.0.1:${port}`, origin: 'http://rebind.evil.example' });
    assert.equal(o.status, 403, 'a foreign Origin');
    assert.equal((await get(port, '/api/status', { host: 'localhost:9999' })).status, 200, 'an SSH tunnel on another local port');
    assert.equal((await get(port, '/api/status', { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` })).status, 200, 'its own page');
    assert.equal((await get(port, '/metrics', { host: `${hostname()}.local` })).status, 200, 'the machine name');
    assert.equal((await get(port, '/api/status', { host: 'GATEWAY.example.lan:80' })).status, 200, 'allowed_hosts');
    const lines = await waitFor(() => {
      const l = cli.entries().filter((e) => e.msg === 'status API request refused: Host or Origin not allowed');
      return l.length >= 3 ? l : null;
    }, 3000, 'refusal lines');
    assert.equal(lines[0]!.level, 40);
  });
});

describe('a status API bound beyond loopback', () => {
  test('says at start that it has no authentication', async () => {
    const cli = startCli({ bind_address: '0.0.0.0' });
    try {
      const w = await waitFor(() => cli.entries().find((e) => typeof e.msg === 'string' && e.msg.startsWith('status API reachable from the network without authentication')), 10_000, 'the warning');
      assert.equal(w.level, 40);
      assert.equal(w.address, '0.0.0.0');
    } finally {
      await stopCli(cli.child);
    }
  });

  test('allowed_hosts that is not a list of host names exits 2 naming the key', async () => {
    const cli = startCli({ allowed_hosts: ['ok.lan', 'http://bad/'] });
    let err = '';
    cli.child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => cli.child.once('exit', (c) => r(c)));
    assert.equal(code, 2);
    assert.match(err, /api_conf\.allowed_hosts/);
  });
});
