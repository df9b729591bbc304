import dgram from 'node:dgram';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NetworkServerStandIn, type PushEvent } from '../src/demo/network-server.js';
import { SHIPPED_CONF, waitFor } from './helpers/harness.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
/** The shipped file with the radio an owner would choose (the file itself names none). */
const shipped = (radio = 'sim') => {
  const d = JSON.parse(readFileSync(SHIPPED_CONF, 'utf8')) as Record<string, Record<string, unknown>>;
  d.gateway_conf!.radio = radio;
  return d;
};

function writeConf(doc: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'pktfwd-cli-'));
  const file = join(dir, 'global_conf.json');
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

/** The run ended with exit 1 and exactly one 'radio failed to start' log line matching `re`. */
function assertStartFailed(r: ReturnType<typeof spawnSync>, re: RegExp): void {
  assert.equal(r.status, 1);
  const fatal = String(r.stdout).split('\n').filter((l) => l.includes('"radio failed to start"'));
  assert.equal(fatal.length, 1, String(r.stdout) + String(r.stderr));
  assert.match(fatal[0]!, re);
}

function run(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 15_000 });
}

describe('pktfwd CLI', () => {
  test('--version prints the package version', () => {
    const r = run(['--version']);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), '0.1.0');
  });

  test('--help lists the commands and the default command\'s (run) options', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0);
    for (const s of ['check-config', 'status', 'packets', 'install', '--radio', '--server', '--gateway-id', '--log-format']) assert.ok(r.stdout.includes(s), s);
  });

  /** The long options a `--help` output lists. */
  const optionsOf = (help: string) => new Set([...help.matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]));
  const own: [string[], string[], string[]][] = [
    [['run'], ['--config', '--local-config', '--radio', '--server', '--port-up', '--port-down', '--gateway-id', '--log-level', '--log-format'], ['--url', '--root']],
    [['check-config'], ['--config', '--local-config', '--radio', '--server', '--port-up', '--port-down', '--gateway-id'], ['--log-level', '--url', '--root']],
    [['status'], ['--url', '--json', '--config', '--local-config'], ['--radio', '--server', '--port-up', '--gateway-id', '--log-level', '--log-format', '--root']],
    [['packets'], ['--url', '--limit', '--follow', '--json', '--config'], ['--radio', '--server', '--log-level', '--root']],
    [['install'], ['--board', '--region', '--server', '--port-up', '--port-down', '--root', '--dry-run', '--enable-spi'], ['--radio', '--config', '--log-level', '--url']],
    [['uninstall'], ['--root', '--purge', '--dry-run'], ['--radio', '--server', '--config', '--board']],
    [['sx1301-firmware', 'import'], ['--dir'], ['--radio', '--server', '--config', '--root']],
  ];
  for (const [cmd, has, hasNot] of own) {
    test(`${cmd.join(' ')} --help lists its own options only`, () => {
      const r = run([...cmd, '--help']);
      assert.equal(r.status, 0, r.stderr);
      const listed = optionsOf(r.stdout);
      for (const o of has) assert.ok(listed.has(o), `${o} missing from:\n${r.stdout}`);
      for (const o of hasNot) assert.ok(!listed.has(o), `${o} listed in:\n${r.stdout}`);
    });
  }

  test('an option of another command is refused (exit 2)', () => {
    const r = run(['status', '--radio', 'sim', '--url', 'http://127.0.0.1:9']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^pktfwd: Unknown argument: radio$/m);
  });

  test('the shipped file names no radio: run and check-config exit 2 with one line naming gateway_conf.radio and the choices', () => {
    for (const cmd of ['run', 'check-config']) {
      const r = run([cmd, '--config', fileURLToPath(SHIPPED_CONF)]);
      assert.equal(r.status, 2, cmd);
      assert.equal(r.stdout, '', cmd);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^pktfwd: \S+global_conf\.json: gateway_conf\.radio is not set: choose "sx127x" .*"sx1301" .*"sim" .*--radio$/);
    }
  });

  test('a stock Semtech global_conf.json with a local_conf.json beside it (no radio anywhere) exits 2 naming gateway_conf.radio', () => {
    const file = writeConf(readFileSync(new URL('../../test/fixtures/config/semtech-style-commented.json', import.meta.url), 'utf8'));
    writeFileSync(join(dirname(file), 'local_conf.json'), JSON.stringify({ gateway_conf: { gateway_ID: 'B827EBFFFE123456', server_address: '127.0.0.1' } }));
    const r = run(['run', '--config', file]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^pktfwd: \S+: gateway_conf\.radio is not set/);
  });

  test('an SX1302 (sx1302_hal) or Basics Station file: exit 2 and one line saying what it is', () => {
    const sx1302 = writeConf({ SX130x_conf: { com_type: 'SPI', com_path: '/dev/spidev0.0' }, gateway_conf: { gateway_ID: '0016C001FF10A235' } });
    let r = run(['run', '--config', sx1302]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `pktfwd: ${sx1302}: SX130x_conf: an SX1302/SX1303 concentrator configuration (Semtech sx1302_hal); this version of pktfwd drives SX1301 concentrators and SX127x radios only\n`);
    const station = join(dirname(writeConf({})), 'station.conf');
    writeFileSync(station, JSON.stringify({ radio_conf: { lorawan_public: true, clksrc: 0 }, station_conf: { routerid: '1' } }));
    r = run(['check-config', '--config', station]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^pktfwd: \S+station\.conf: station_conf: a LoRa Basics Station configuration \(station\.conf\); this version of pktfwd drives SX1301 concentrators and SX127x radios only/);
  });

  test('check-config prints the merged config; a real radio gets no warning, the simulator does', () => {
    let r = run(['check-config', '--config', fileURLToPath(SHIPPED_CONF), '--radio', 'sx1301']);
    assert.equal(r.status, 0, r.stderr);
    const merged = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
    assert.equal(merged.gateway_conf?.gateway_ID, 'auto');
    assert.equal(merged.gateway_conf?.radio, 'sx1301');
    assert.doesNotMatch(r.stderr, /warning/);
    assert.match(r.stderr, /^radio sx1301$/m);
    r = run(['check-config', '--config', fileURLToPath(SHIPPED_CONF), '--radio', 'sim']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^warning: SIMULATED radio \(gateway_conf\.radio "sim"\): nothing is heard or sent on the air$/m);
  });

  test('run on the simulator says so at warn level at start', async () => {
    const child = spawn(process.execPath, [CLI, 'run', '--config', writeConf(shipped('sim')), '--server', '127.0.0.1', '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const line = await waitFor(() => out.split('\n').find((l) => l.includes('SIMULATED radio')), 10_000, 'the SIMULATED warning');
      const entry = JSON.parse(line) as { level: number; msg: string };
      assert.equal(entry.level, 40, 'warn');
      assert.equal(entry.msg, 'SIMULATED radio (gateway_conf.radio "sim"): nothing is heard or sent on the air');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  test('check-config applies overrides', () => {
    const r = run(['check-config', '--config', fileURLToPath(SHIPPED_CONF), '--radio', 'sx127x', '--server', 'eu1.cloud.thethings.network', '--port-up', '1700']);
    assert.equal(r.status, 0, r.stderr);
    const merged = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
    assert.equal(merged.gateway_conf?.server_address, 'eu1.cloud.thethings.network');
  });

  const bad: [string, unknown, RegExp][] = [
    ['unparsable JSON', '{"gateway_conf": {', /global_conf\.json/],
    ['gateway_ID not 16 hex digits', { ...shipped(), gateway_conf: { ...shipped().gateway_conf, gateway_ID: 'xyz' } }, /gateway_conf\.gateway_ID/],
    ['port out of range', { ...shipped(), gateway_conf: { ...shipped().gateway_conf, serv_port_up: 70000 } }, /gateway_conf\.serv_port_up/],
  ];
  for (const [name, doc, re] of bad) {
    test(`bad config (${name}) exits 2 with one line naming the key`, () => {
      for (const cmd of ['check-config', 'run']) {
        const r = run([cmd, '--config', writeConf(doc)]);
        assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
        assert.match(lines[0]!, re);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      }
    });
  }

  test('a missing config file exits 2 naming it', () => {
    const r = run(['run', '--config', '/nonexistent/global_conf.json']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /\/nonexistent\/global_conf\.json/);
  });

  test('--gateway-id override is validated like the key', () => {
    const r = run(['check-config', '--config', fileURLToPath(SHIPPED_CONF), '--radio', 'sim', '--gateway-id', '12']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /gateway-id/);
  });

  test('--radio sx1301 without its firmware: start fails with exit 1 and one line saying how to import it', () => {
    const doc = shipped();
    doc.SX1301_conf = { ...doc.SX1301_conf, firmware_dir: '/nonexistent/fw' };
    const r = run(['run', '--config', writeConf(doc), '--radio', 'sx1301', '--log-format', 'json']);
    assertStartFailed(r, /\/nonexistent\/fw\/cal\.bin is missing: run `pktfwd sx1301-firmware import/);
  });

  test('--radio sx127x without an SX127x_conf section exits 2 naming it', () => {
    const doc = shipped();
    delete doc.SX127x_conf;
    const r = run(['run', '--config', writeConf(doc), '--radio', 'sx127x']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /SX127x_conf: expected an object/);
  });

  test('--radio sx127x on a machine without the SPI device: start fails with exit 1 and one line saying how to enable SPI', () => {
    const doc = shipped();
    doc.SX127x_conf = { board: 'custom', spi_device: '/dev/spidev9.9' };
    const r = run(['run', '--config', writeConf(doc), '--radio', 'sx127x', '--log-format', 'json']);
    assertStartFailed(r, /\/dev\/spidev9\.9 does not exist: enable SPI/);
  });

  test('run --radio sx127x with spi_device "emulator": an uplink on the virtual air reaches the server; its RX1 downlink is emitted at tmst + 1 s', async () => {
    const ns = new NetworkServerStandIn();
    const port = await ns.start();
    const pushes: PushEvent[] = [];
    ns.on('push', (e: PushEvent) => pushes.push(e));
    const doc = shipped();
    doc.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
    doc.SX127x_conf = { ...doc.SX127x_conf, spi_device: 'emulator' };
    const child = spawn(process.execPath, [CLI, 'run', '--config', writeConf(doc), '--radio', 'sx127x', '--server', '127.0.0.1', '--port-up', String(port), '--port-down', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const air = dgram.createSocket('udp4');
    const heard: Record<string, unknown>[] = [];
    air.on('message', (m) => heard.push(JSON.parse(m.toString()) as Record<string, unknown>));
    try {
      const airAt = await waitFor(() => /"msg":"emulated SX1276 on the virtual air"/.test(out) && /"air":"127\.0\.0\.1:(\d+)"/.exec(out), 8000, 'air address');
      const airPort = Number(airAt[1]);
      await waitFor(() => ns.counts.pull > 0, 8000, 'PULL_DATA from the child');
      await new Promise<void>((r) => air.bind(0, '127.0.0.1', r));
      air.send('{"op":"listen"}', airPort, '127.0.0.1');
      await waitFor(() => heard.some((h) => h.op === 'listening'), 3000, 'listening');
      const data = Buffer.from('emulated uplink').toString('base64');
      // Another channel: not heard by the single-channel radio.
      air.send(JSON.stringify({ op: 'uplink', freq: 868.3, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', rssi: -80, lsnr: 7, crc: 'ok', data }), airPort, '127.0.0.1');
      air.send(JSON.stringify({ op: 'uplink', freq: 868.1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', rssi: -80, lsnr: 7, crc: 'ok', data }), airPort, '127.0.0.1');
      const rx = await waitFor(() => pushes.flatMap((p) => p.rxpk).find((r) => r.data === data), 5000, 'rxpk at the server');
      assert.deepEqual([rx.freq, rx.datr, rx.chan, rx.rfch], [868.1, 'SF7BW125', 0, 0]);
      const target = (rx.tmst + 1_000_000) >>> 0;
      ns.sendPullResp({ imme: false, tmst: target, freq: 868.1, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', ipol: true, size: 3, data: 'AQID' });
      const dl = await waitFor(() => heard.find((h) => h.op === 'downlink'), 5000, 'downlink on the air');
      assert.equal(dl.target_us, target);
      const err = ((dl.count_us as number) - target) | 0;
      assert.ok(err >= 0 && err < 200_000, `emitted ${err} µs from its target`);
      assert.deepEqual([dl.ipol, dl.powe, dl.datr], [true, 14, 'SF7BW125']);
      assert.equal(pushes.flatMap((p) => p.rxpk).length, 1, 'the 868.3 MHz uplink was not heard');
      const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      assert.equal(await exit, 0);
      assert.match(out, /SX127x radio stopped/);
    } finally {
      child.kill('SIGKILL');
      air.close();
      ns.stop();
    }
  });

  test('run: connects to the server, logs JSON lines, and exits 0 on SIGTERM', async () => {
    const ns = new NetworkServerStandIn();
    const port = await ns.start();
    const pushes: PushEvent[] = [];
    ns.on('push', (e: PushEvent) => pushes.push(e));
    const doc = shipped();
    doc.sim_conf = { air_address: '127.0.0.1', air_port: 0 };
    const child = spawn(process.execPath, [CLI, 'run', '--config', writeConf(doc), '--server', '127.0.0.1', '--port-up', String(port), '--port-down', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => ns.counts.pull > 0, 8000, 'PULL_DATA from the child');
      await waitFor(() => out.includes('"msg":"forwarder started"'), 3000, 'started line');
      const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.ok(lines.some((l) => l.msg === 'forwarder started'), 'JSON log lines when not on a terminal');
      const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      assert.equal(await exit, 0);
      assert.match(out, /forwarder stopped/);
    } finally {
      child.kill('SIGKILL');
      ns.stop();
    }
  });
});
