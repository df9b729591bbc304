/**
 * CUPS (issue 17's stretch): the answer and credentials formats, the CRC of
 * the station files, crash-safe installation, and the client inside the
 * forwarder (sim radio) against the CUPS and LNS stand-ins over TLS:
 * AWS-style client certificates handed out as DER, an LNS refusal that asks
 * CUPS early, a refused CUPS key that falls back to the cups-boot set, an
 * untrusted CUPS server, malformed answers and an offered firmware update.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, test } from 'node:test';
import { SimConcentrator } from '../hal/index.js';
import { parseConfig } from '../src/config/index.js';
import { CupsStandIn, credentialsBlob, type CupsTarget } from '../src/demo/cups-server.js';
import { Forwarder } from '../src/forwarder.js';
import { backupCredentials, checkUpdate, installCredentials, parseUpdateInfo, rollForward, splitCredentials } from '../src/lns/cups-protocol.js';
import { credentialCrc, readCredentialSet } from '../src/lns/station-files.js';
import { memoryLogger, testConfig, waitFor } from './helpers/harness.js';
import { CLI, shippedConf } from './helpers/cli-process.js';
import { spawnSync } from 'node:child_process';
import { eu868RouterConfig, LnsStandIn, stationDir, tlsFile } from './helpers/lns-server.js';

const der = (pem: string) => new X509Certificate(pem).raw;
const keyDer = (pem: string) => createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
const caDer = der(tlsFile('ca.crt'));

describe('CUPS formats', () => {
  test('answers: all unchanged (14 zero bytes), URIs and credentials, and each malformed length named', () => {
    const none = parseUpdateInfo(Buffer.alloc(14));
    assert.deepEqual(none, { ok: true, value: { cupsUri: null, tcUri: null, cupsCred: null, tcCred: null, signatureBytes: 0, updateBytes: 0 } });
    const uri = Buffer.from('wss://lns:8887');
    const cred = credentialsBlob({ trust: caDer, key: Buffer.from('Authorization: Bearer X\r\n') });
    const len2 = Buffer.alloc(2);
    len2.writeUInt16LE(cred.length);
    const full = Buffer.concat([Buffer.from([0, uri.length]), uri, Buffer.alloc(2), len2, cred, Buffer.alloc(8)]);
    const r = parseUpdateInfo(full);
    assert.ok(r.ok);
    assert.equal(r.value.tcUri, 'wss://lns:8887');
    assert.deepEqual(r.value.tcCred, cred);
    assert.equal(r.value.cupsCred, null);
    assert.deepEqual(parseUpdateInfo(full.subarray(0, full.length - 3)), { ok: false, reason: 'update: length missing (answer ends at byte ' + (full.length - 3) + ')' });
    assert.match((parseUpdateInfo(Buffer.from([0, 200, 1, 2])) as { reason: string }).reason, /^tcUri: 200 bytes announced, 2 left/);
    assert.match((parseUpdateInfo(Buffer.concat([Buffer.alloc(14), Buffer.from([9])])) as { reason: string }).reason, /1 bytes after the last segment/);
    assert.equal(parseUpdateInfo(Buffer.alloc(0)).ok, false);
  });

  test('credentials blobs: trust + certificate + key (DER), trust + none + token; what is not DER is refused', () => {
    const withCert = splitCredentials(credentialsBlob({ trust: caDer, crt: der(tlsFile('gateway.crt')), key: keyDer(tlsFile('gateway.key')) }));
    assert.ok(withCert.ok);
    assert.deepEqual(withCert.value.trust, caDer);
    assert.deepEqual(withCert.value.crt, der(tlsFile('gateway.crt')));
    assert.deepEqual(withCert.value.key, keyDer(tlsFile('gateway.key')));
    const token = splitCredentials(credentialsBlob({ trust: caDer, key: Buffer.from('Authorization: Bearer NNSXS.X\r\n') }));
    assert.ok(token.ok);
    assert.equal(token.value.crt, null);
    assert.equal(token.value.key!.toString(), 'Authorization: Bearer NNSXS.X\r\n');
    const trustOnly = splitCredentials(credentialsBlob({ trust: caDer }));
    assert.ok(trustOnly.ok);
    assert.equal(trustOnly.value.key, null);
    assert.match((splitCredentials(Buffer.from('-----BEGIN CERTIFICATE-----')) as { reason: string }).reason, /^trust: an ASN\.1 SEQUENCE/);
    assert.match((splitCredentials(caDer.subarray(0, 100)) as { reason: string }).reason, /trust: its DER length runs past/);
    assert.match((splitCredentials(Buffer.concat([caDer, Buffer.from([0, 1, 0, 0])])) as { reason: string }).reason, /four zero bytes/);
  });

  test('installed files: read back as credentials, their CRC is the blob\'s CRC (what CUPS compares), the old set kept as -bak', () => {
    const dir = stationDir({ 'tc.uri': 'wss://old:1\n', 'tc.trust': tlsFile('ca.crt'), 'tc.key': 'Authorization: Bearer OLD\r\n' });
    const before = credentialCrc(dir, 'tc');
    assert.equal(before, crc32(Buffer.concat([Buffer.from(tlsFile('ca.crt')), Buffer.alloc(4), Buffer.from('Authorization: Bearer OLD\r\n')])));
    const blob = credentialsBlob({ trust: caDer, crt: der(tlsFile('gateway.crt')), key: keyDer(tlsFile('gateway.key')) });
    const files = splitCredentials(blob);
    assert.ok(files.ok);
    backupCredentials(dir, 'tc'); // the working set, as the LNS connection does it
    installCredentials(dir, 'tc', { uri: 'wss://new:2', files: files.value });
    assert.equal(credentialCrc(dir, 'tc'), crc32(blob));
    assert.equal(credentialCrc(dir, 'tc', '-bak'), before);
    const c = readCredentialSet(dir, 'tc', '');
    assert.equal(c.uri, 'wss://new:2');
    assert.ok(c.clientCert, 'DER certificate and key read as a client certificate');
    assert.match(c.clientCert.cert, /BEGIN CERTIFICATE/);
    assert.match(c.clientCert.key, /BEGIN PRIVATE KEY/);
    assert.match(c.trust!, /BEGIN CERTIFICATE/);
    assert.equal(readCredentialSet(dir, 'tc', '-bak').headers.Authorization, 'Bearer OLD');
  });

  test('a temp file left by an earlier failed install is not installed with the next update', () => {
    const dir = stationDir({ 'tc.uri': 'wss://old:1\n', 'tc.key': 'Authorization: Bearer GOOD\r\n', 'tc-temp.key': 'Authorization: Bearer STRAY\r\n' });
    installCredentials(dir, 'tc', { uri: 'wss://new:2', files: null });
    assert.equal(readFileSync(join(dir, 'tc.uri'), 'utf8'), 'wss://new:2\n');
    assert.equal(readFileSync(join(dir, 'tc.key'), 'utf8'), 'Authorization: Bearer GOOD\r\n');
    assert.equal(existsSync(join(dir, 'tc-temp.key')), false);
  });

  test('an update cut short: a complete temp set (marker written) is finished at the next start, an incomplete one discarded', () => {
    const dir = stationDir({ 'tc.uri': 'wss://old:1\n', 'tc-temp.uri': 'wss://new:2\n', 'tc-temp.upd': '' });
    assert.equal(rollForward(dir, 'tc'), true);
    assert.equal(readFileSync(join(dir, 'tc.uri'), 'utf8'), 'wss://new:2\n');
    assert.equal(existsSync(join(dir, 'tc-temp.upd')), false);
    writeFileSync(join(dir, 'tc-temp.uri'), 'wss://half:3\n');
    assert.equal(rollForward(dir, 'tc'), false);
    assert.equal(readFileSync(join(dir, 'tc.uri'), 'utf8'), 'wss://new:2\n');
    assert.equal(existsSync(join(dir, 'tc-temp.uri')), false);
    // The config load does the same (a crash between the marker and the renames).
    writeFileSync(join(dir, 'tc-temp.uri'), 'wss://lns.example:8887\n');
    writeFileSync(join(dir, 'tc-temp.upd'), '');
    const conf = shippedConf();
    conf.gateway_conf = { ...conf.gateway_conf, radio: 'sim', servers: [] };
    const cfg = parseConfig([{ name: 'g.json', json: JSON.stringify({ ...conf, lns_conf: [{ station_dir: dir }] }) }]).config;
    assert.equal(cfg.lns[0]!.creds!.uri, 'wss://lns.example:8887');
  });

  test('pktfwd check-config (real CLI) on a directory with cups.* only: one CUPS line, one LNS line saying CUPS will provide it', () => {
    const conf = shippedConf();
    conf.gateway_conf = { ...conf.gateway_conf, radio: 'sim', servers: [] };
    const d = stationDir({ 'cups.uri': 'https://cups.example:443', 'cups.trust': tlsFile('ca.crt'), 'cups.key': 'Authorization: Bearer C\r\n' });
    const confDir = stationDir({});
    writeFileSync(join(confDir, 'global_conf.json'), JSON.stringify({ ...conf, lns_conf: [{ station_dir: d, cups_interval_s: 3600 }] }));
    const r = spawnSync(process.execPath, [CLI, 'check-config', '--config', join(confDir, 'global_conf.json')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^CUPS https://cups.example:443 \\(${d}\\): token \\(Authorization header from cups.key\\); server trust cups.trust; asked at start and every 3600 s$`, 'm'));
    assert.match(r.stderr, new RegExp(`^LNS \\(${d}\\): no tc.uri yet, CUPS will provide it$`, 'm'));
  });

  test('config: a directory with cups.* only is valid (tc.* to come); a bad cups file exits naming it', () => {
    const conf = shippedConf();
    conf.gateway_conf = { ...conf.gateway_conf, radio: 'sim', servers: [] };
    const parse = (d: string, extra = {}) => parseConfig([{ name: 'g.json', json: JSON.stringify({ ...conf, lns_conf: [{ station_dir: d, ...extra }] }) }]).config;
    const cfg = parse(stationDir({ 'cups.uri': 'https://cups.example:443', 'cups.key': 'Authorization: Bearer C\r\n' }), { cups_interval_s: 3600 });
    assert.equal(cfg.lns[0]!.creds, null);
    assert.equal(cfg.lns[0]!.cups!.uri, 'https://cups.example:443');
    assert.equal(cfg.lns[0]!.cupsIntervalS, 3600);
    assert.throws(() => parse(stationDir({ 'cups.uri': 'wss://cups.example:443' })), /lns_conf\[0\]\.station_dir: .*cups\.uri: "wss:\/\/cups\.example:443": expected a https:\/\//);
    assert.throws(() => parse(stationDir({ 'cups.uri': 'https://c:1' }), { cups_interval_s: 0 }), /cups_interval_s/);
    assert.throws(() => parse(stationDir({})), /tc\.uri: missing/);
  });
});

describe('CUPS answers from a hostile server', () => {
  test('5 000 mutated and random answers: parsing and checking never throw, only say why (seeded)', () => {
    let seed = 0x5eed;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const uri = Buffer.from('wss://lns:8887');
    const blob = credentialsBlob({ trust: caDer, crt: der(tlsFile('gateway.crt')), key: keyDer(tlsFile('gateway.key')) });
    const len2 = Buffer.alloc(2);
    len2.writeUInt16LE(blob.length);
    const good = Buffer.concat([Buffer.from([0, uri.length]), uri, Buffer.alloc(2), len2, blob, Buffer.alloc(8)]);
    const dir = stationDir({ 'tc.uri': 'wss://old:1' });
    let refused = 0;
    for (let i = 0; i < 5_000; i++) {
      let b: Buffer;
      if (i % 4 === 0) b = Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
      else {
        b = Buffer.from(good);
        for (let k = 0, n = 1 + Math.floor(rnd() * 4); k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        if (rnd() < 0.2) b = b.subarray(0, Math.floor(rnd() * b.length));
      }
      const r = parseUpdateInfo(b);
      if (!r.ok) {
        assert.equal(typeof r.reason, 'string');
        refused++;
        continue;
      }
      if (!r.value.tcCred) continue;
      const c = splitCredentials(r.value.tcCred);
      if (!c.ok) {
        refused++;
        continue;
      }
      try {
        checkUpdate(dir, 'tc', { uri: r.value.tcUri, files: c.value });
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'ESTATIONFILE', (err as Error).stack);
        refused++;
      }
    }
    assert.ok(refused > 2_500, `${refused} refused`);
  });
});

/** A forwarder on the sim whose station directory has `files`; the stand-ins it talks to. */
async function rig(files: Record<string, string | Buffer>, o: { cups: ConstructorParameters<typeof CupsStandIn>[0]; lnsToken?: string; lnsClientCerts?: boolean; intervalS?: number }) {
  const lns = new LnsStandIn({ token: o.lnsToken, clientCerts: o.lnsClientCerts, routerConfig: () => eu868RouterConfig(shippedConf().SX1301_conf!) });
  const lnsPort = await lns.start();
  const cups = new CupsStandIn(o.cups);
  const cupsPort = await cups.start();
  cups.o.target.tcUri ??= `wss://localhost:${lnsPort}`;
  const dir = stationDir({});
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), typeof data === 'string' ? data.replace('$CUPS', `https://localhost:${cupsPort}`) : data);
  const config = testConfig({ servers: [] }, {}, { lns_conf: [{ station_dir: dir, cups_interval_s: o.intervalS ?? 3600 }] as never });
  const mem = memoryLogger('info');
  const sim = new SimConcentrator({ board: config.board, airAddress: '127.0.0.1', airPort: 0, counterStartUs: null, log: mem.log.child({ module: 'sim' }) });
  const fwd = new Forwarder({ config, concentrator: sim, log: mem.log, cupsRetryS: 0.3, lnsBackoffS: [0.1] });
  await fwd.start();
  return {
    lns, cups, dir, fwd, mem,
    async stop() {
      await fwd.stop();
      await lns.stop();
      await cups.stop();
    },
  };
}

describe('CUPS in the forwarder', () => {
  test('AWS IoT Core style: CUPS over a client certificate hands out an LNS client certificate (DER); the LNS accepts it', async () => {
    const target: CupsTarget = { tcCred: { trust: caDer, crt: der(tlsFile('gateway.crt')), key: keyDer(tlsFile('gateway.key')) } };
    const r = await rig({ 'cups.uri': '$CUPS', 'cups.trust': tlsFile('ca.crt'), 'cups.crt': tlsFile('gateway.crt'), 'cups.key': tlsFile('gateway.key') }, { cups: { clientCerts: true, target }, lnsClientCerts: true });
    try {
      await waitFor(() => r.fwd.lnsBackends[0]!.state === 'connected', 10_000, 'connected with the client certificate CUPS gave');
      assert.deepEqual(readFileSync(join(r.dir, 'tc.crt')), der(tlsFile('gateway.crt')));
      assert.deepEqual(readFileSync(join(r.dir, 'tc.key')), keyDer(tlsFile('gateway.key')));
      const st = r.fwd.status().lns[0] as { auth: string; cups: { state: string; counters: { updates: number }; lastUpdate: string } };
      assert.equal(st.auth, 'client certificate');
      assert.equal(st.cups.counters.updates, 1);
      assert.equal(st.cups.lastUpdate, 'tc.uri, tc credentials');
    } finally {
      await r.stop();
    }
  });

  test('an LNS that refuses the key asks CUPS early (not at the 1 h interval) and reconnects with the new one', async () => {
    const r = await rig({ 'cups.uri': '$CUPS', 'cups.trust': tlsFile('ca.crt'), 'cups.key': 'Authorization: Bearer C\r\n' }, {
      cups: { token: 'Bearer C', target: { tcCred: { trust: caDer, key: Buffer.from('Authorization: Bearer L1\r\n') } } }, lnsToken: 'Bearer L1',
    });
    try {
      await waitFor(() => r.fwd.lnsBackends[0]!.state === 'connected', 10_000, 'connected');
      assert.equal(r.cups.requests.length, 1);
      r.lns.acceptToken('Bearer L2');
      r.cups.o.target.tcCred = { trust: caDer, key: Buffer.from('Authorization: Bearer L2\r\n') };
      r.lns.dropGateway();
      await waitFor(() => r.mem.lines().find((l) => l.msg === 'CUPS: the LNS refused this gateway or kept failing; asking CUPS for new credentials'), 5000, 'CUPS asked');
      await waitFor(() => r.lns.connected && r.fwd.lnsBackends[0]!.state === 'connected', 10_000, 'reconnected with L2');
      assert.equal(r.cups.requests.length, 2, 'one early check, not one per refusal');
    } finally {
      await r.stop();
    }
  });

  test('CUPS refuses the regular key: error line, then the cups-boot set is tried and works', async () => {
    const r = await rig({
      'cups.uri': '$CUPS', 'cups.trust': tlsFile('ca.crt'), 'cups.key': 'Authorization: Bearer STALE\r\n',
      'cups-boot.uri': '$CUPS', 'cups-boot.trust': tlsFile('ca.crt'), 'cups-boot.key': 'Authorization: Bearer FACTORY\r\n',
    }, { cups: { token: 'Bearer FACTORY', target: { tcCred: { trust: caDer } } } });
    try {
      const failed = await waitFor(() => r.mem.lines().find((l) => l.msg === 'CUPS: asking failed'), 5000, 'refusal');
      assert.match(String(failed.reason), /HTTP 401 \(the credentials in cups\.key were refused\)/);
      assert.equal(failed.nextSet, 'boot');
      await waitFor(() => r.fwd.lnsBackends[0]!.state === 'connected', 10_000, 'connected after the boot set worked');
      assert.deepEqual(r.cups.refused, ['Authorization Bearer STALE']);
      assert.ok(r.mem.lines().some((l) => l.msg === 'CUPS: asking for updates' && l.set === 'boot'));
    } finally {
      await r.stop();
    }
  });

  test('an untrusted CUPS server, a malformed answer and an offered firmware update: said, nothing installed, never a crash', async () => {
    const untrusted = await rig({ 'cups.uri': '$CUPS', 'cups.trust': tlsFile('rogue-ca.crt') }, { cups: { target: { tcCred: { trust: caDer } } } });
    try {
      const f = await waitFor(() => untrusted.mem.lines().find((l) => l.msg === 'CUPS: asking failed'), 5000, 'untrusted');
      assert.match(String(f.reason), /server certificate not trusted .*cups\.trust does not hold the CA/);
      assert.equal(untrusted.cups.requests.length, 0);
      assert.equal(untrusted.fwd.lnsBackends[0]!.state, 'awaiting-cups');
    } finally {
      await untrusted.stop();
    }
    let raw: Buffer | null = Buffer.from([0, 0, 0x10, 0x00, 0x30]);
    // A 3 MB firmware: more than the 1 MiB kept of an answer, so it must be counted as it streams by.
    const bad = await rig({ 'cups.uri': '$CUPS', 'cups.trust': tlsFile('ca.crt') }, { cups: { target: { tcCred: { trust: caDer }, update: Buffer.alloc(3_000_000, 0xee) }, rawAnswer: () => raw } });
    try {
      const f = await waitFor(() => bad.mem.lines().find((l) => l.msg === 'CUPS: asking failed'), 5000, 'malformed');
      assert.match(String(f.reason), /^answer unusable: cupsCred: 16 bytes announced, 1 left/);
      assert.equal(existsSync(join(bad.dir, 'tc.uri')), false, 'nothing installed');
      raw = null; // the stand-in's real answer next: the LNS files and a firmware update
      await waitFor(() => bad.fwd.lnsBackends[0]!.state === 'connected', 10_000, 'connected after the retry');
      const fw = bad.mem.lines().find((l) => l.msg === 'CUPS offered a firmware update: not applied (pktfwd is updated with its package)');
      assert.ok(fw);
      assert.equal(fw.bytes, 3_000_000);
      assert.equal(bad.fwd.stats.counters.internalErrors, 0);
    } finally {
      await bad.stop();
    }
  });

  test('credentials that would not be usable (a trust that is no certificate) are not installed; the next good answer is', async () => {
    const r = await rig({ 'cups.uri': '$CUPS', 'cups.trust': tlsFile('ca.crt') }, { cups: { target: { tcCred: { trust: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]) } } } });
    try {
      const f = await waitFor(() => r.mem.lines().find((l) => l.msg === 'CUPS: asking failed'), 5000, 'refused update');
      assert.match(String(f.reason), /^answer unusable: what it would install is not usable: .*tc\.trust: holds no usable DER certificate/);
      assert.equal(existsSync(join(r.dir, 'tc.uri')), false, 'nothing installed');
      assert.equal(existsSync(join(r.dir, 'tc.trust')), false);
      r.cups.o.target.tcCred = { trust: caDer };
      await waitFor(() => r.fwd.lnsBackends[0]!.state === 'connected', 10_000, 'connected after the good answer');
    } finally {
      await r.stop();
    }
  });

  test('after an update the next check waits the retry delay (no request loop); stopped mid-request, nothing more is asked', async () => {
    const r = await rig({ 'cups.uri': '$CUPS', 'cups.trust': tlsFile('ca.crt') }, { cups: { target: { tcCred: { trust: caDer } } }, intervalS: 1 });
    try {
      await waitFor(() => r.cups.requests.length >= 2, 5000, 'second check');
      const gapMs = r.cups.requestTimes[1]! - r.cups.requestTimes[0]!;
      assert.ok(gapMs >= 250, `second check ${gapMs.toFixed(0)} ms after the update (retry 0.3 s)`);
      // A slow answer, and the forwarder stopped while it is pending.
      r.cups.o.holdMs = 800;
      const n = r.cups.requests.length;
      await waitFor(() => r.cups.requests.length > n, 5000, 'a pending request');
      await r.fwd.stop();
      await new Promise((res) => setTimeout(res, 1500));
      assert.equal(r.cups.requests.length, n + 1, 'no request after stop');
      assert.equal(r.fwd.cups[0]!.state, 'stopped');
    } finally {
      await r.lns.stop();
      await r.cups.stop();
    }
  });

  test('a set file that cannot be read (cups-boot.uri a directory) while rotating: an error line, no crash, retried', async () => {
    const r = await rig({ 'cups.uri': '$CUPS', 'cups.trust': tlsFile('ca.crt'), 'cups.key': 'Authorization: Bearer WRONG\r\n' }, { cups: { token: 'Bearer RIGHT', target: { tcCred: { trust: caDer } } } });
    mkdirSync(join(r.dir, 'cups-boot.uri'));
    try {
      await waitFor(() => r.mem.lines().filter((l) => l.msg === 'CUPS: asking failed').length >= 3, 5000, 'three failures');
      assert.equal(r.fwd.stats.counters.internalErrors, 0);
      assert.ok(r.cups.refused.length >= 3, 'kept asking with the set it can read');
    } finally {
      await r.stop();
    }
  });
});
