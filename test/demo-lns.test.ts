/**
 * `npm run demo -- --lns` (issue 17): the whole Basics Station path with
 * nothing but the repository: the demo's LNS stand-in over TLS, the
 * forwarder on the simulated concentrator, simulated devices. Run as the
 * real demo process: uplinks reach the LNS as updf, its dnmsg go out and
 * are heard by the devices, and dntxed comes back.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const DEMO = fileURLToPath(new URL('../src/demo/main.js', import.meta.url));

test('demo --lns: updf to the LNS, dnmsg heard by the devices, dntxed back', async () => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [DEMO, '--lns', '--duration', '7', '--interval', '2'], { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)));
  });
  assert.match(out, /LNS: gateway connected \(pktfwd /);
  assert.match(out, /↑ LNS updf [0-9A-F]{8} fcnt 2 /);
  assert.match(out, /LNS: dntxed for diid 1 /);
  const heard = /devices heard (\d+) downlinks/.exec(out);
  assert.ok(heard && Number(heard[1]) >= 1, out);
  const seen = /Server saw (\d+) uplinks/.exec(out);
  assert.ok(seen && Number(seen[1]) >= 4, out);
});

test('demo --lns --cups: the station directory holds only cups.*; CUPS hands out the LNS files and the same traffic flows', async () => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [DEMO, '--lns', '--cups', '--duration', '6', '--interval', '2'], { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)));
  });
  assert.match(out, /CUPS stand-in on https:\/\/localhost:\d+/);
  assert.match(out, /LNS: gateway connected \(pktfwd /);
  assert.match(out, /LNS: dntxed for diid 1 /);
});
