/**
 * The status page in headless Chromium against a running forwarder (the
 * simulated concentrator): the DOM after the page's scripts ran must show
 * the packet table filled and the three plots drawn from the live data
 * (each canvas says how many points it drew), and a screenshot is kept.
 * Skipped, with the reason, where no Chromium is installed (.ci/run installs
 * Debian's `chromium`).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startApiServer } from '../src/monitor/http-server.js';
import { loraUplink, memoryLogger, startHarness, waitFor } from './helpers/harness.js';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome'];
const browser = CANDIDATES.find((c) => spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0);
const skip = browser ? false : `no Chromium (${CANDIDATES.join(', ')}) on this machine: apt-get install chromium`;

/** Where the screenshot goes: $PKTFWD_ARTIFACTS, else the system temp directory. */
export const SCREENSHOT = join(process.env.PKTFWD_ARTIFACTS ?? tmpdir(), 'pktfwd-status-page.png');

/** Runs Chromium without blocking the event loop (the server under test lives in this process). */
function chromium(args: string[]): Promise<{ stdout: string; stderr: string; status: number | null }> {
  const profile = mkdtempSync(join(tmpdir(), 'pktfwd-chromium-'));
  return new Promise((resolve) => {
    execFile(browser!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${profile}`, '--hide-scrollbars', ...args], {
      encoding: 'utf8', timeout: 60_000, maxBuffer: 16 * 1024 * 1024,
    }, (err, stdout, stderr) => resolve({ stdout, stderr, status: err ? (typeof err.code === 'number' ? err.code : -1) : 0 }));
  });
}

test('the status page renders in headless Chromium: table filled, plots drawn from live data, screenshot kept', { skip, timeout: 120_000 }, async () => {
  const h = await startHarness({ gateway: { keepalive_interval: 1 } });
  const api = await startApiServer({ forwarder: h.fwd, bindAddress: '127.0.0.1', port: 0, log: memoryLogger().log });
  try {
    await h.air.listen();
    const freqs = [868.1, 868.3, 868.5];
    for (let i = 0; i < 12; i++) {
      const frame = Buffer.from([0x40, 0x01, 0x02, 0x03, 0x26, 0x00, i, 0, 0x01, 0xaa, 1, 2, 3, 4]);
      h.air.send(loraUplink({ freq: freqs[i % 3], data: frame.toString('base64'), rssi: -60 - 5 * i, lsnr: 10 - 1.5 * i }));
    }
    await waitFor(() => h.ns.counts.rxpk >= 12, 5000, 'uplinks forwarded');
    await waitFor(() => h.ns.counts.pull > 0, 5000, 'PULL_DATA');
    for (let k = 0; k < 3; k++) {
      h.ns.sendPullResp({ tmst: ((await h.sim.counterUs()) + 200_000) >>> 0, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', ipol: true, size: 2, data: 'YAE=' });
      await waitFor(() => h.air.downlinks().length > k, 5000, `downlink ${k}`);
    }
    await waitFor(() => h.fwd.monitor.packets(100).filter((p) => p.dir === 'down' && p.timingErrorUs !== null).length === 3, 3000, 'timing errors');

    const dom = await chromium(['--virtual-time-budget=10000', '--run-all-compositor-stages-before-draw', '--window-size=1280,1800', '--dump-dom', `${api.url}/`]);
    assert.equal(dom.status, 0, dom.stderr.slice(-2000));
    const html = dom.stdout;
    assert.match(html, /data-updated="\d+"/, 'the page fetched and rendered at least once');
    const rows = html.match(/<tr class="(up|down)">/g) ?? [];
    assert.equal(rows.filter((r) => r.includes('up')).length, 12, 'every uplink in the table');
    assert.equal(rows.filter((r) => r.includes('down')).length, 3, 'every downlink in the table');
    assert.match(html, /<td>26030201<\/td>/, 'DevAddr decoded in the table');
    const points = (id: string) => Number(new RegExp(`<canvas id="${id}" data-points="(\\d+)"`).exec(html)?.[1] ?? -1);
    assert.equal(points('scatter'), 12, 'RSSI/SNR scatter: one point per uplink');
    assert.equal(points('timing'), 3, 'timing histogram: one entry per emitted downlink');
    assert.ok(points('perMinute') >= 1, 'packets per minute: at least one non-zero minute');
    assert.equal(/data-channels="(\d+)"/.exec(html)?.[1], '3', 'one line per channel heard');
    assert.match(html, /id="server" class="pill ok"/, 'server shown as answering');
    assert.match(html, /id="gw">AA555A0000000000</);
    assert.match(html, /<div id="simulated" class="banner">Simulated radio/, 'the simulated radio is said in a banner (not hidden)');

    const shot = await chromium(['--virtual-time-budget=10000', '--window-size=1280,1800', `--screenshot=${SCREENSHOT}`, `${api.url}/`]);
    assert.equal(shot.status, 0, shot.stderr.slice(-2000));
    const png = readFileSync(SCREENSHOT);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
    assert.ok(statSync(SCREENSHOT).size > 20_000, 'a page with content, not a blank image');
    process.stdout.write(`# status page screenshot: ${SCREENSHOT}\n`);
  } finally {
    await api.close();
    await h.stop();
  }
});
