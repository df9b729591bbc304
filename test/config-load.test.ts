import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, GATEWAY_KEYS, loadConfig, parseConfig, SIM_KEYS } from '../src/config/index.js';
import { autoGatewayId } from '../src/config/gateway-id.js';

/** Tests run from dist/test/, the sources two levels up. */
const SHIPPED = fileURLToPath(new URL('../../global_conf.json', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/config/', import.meta.url));

type Doc = Record<string, Record<string, unknown>>;
/** The shipped file as its owner completes it: with the radio chosen (the file itself names none). */
const shipped = (): Doc => {
  const d = JSON.parse(readFileSync(SHIPPED, 'utf8')) as Doc;
  d.gateway_conf!.radio = 'sim';
  return d;
};

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pktfwd-config-'));
}

function write(dir: string, name: string, doc: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
  return file;
}

/** Asserts `fn` throws a one-line ConfigError whose message matches `re`. */
function throwsConfig(fn: () => unknown, re: RegExp): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, 'ECONFIG');
  assert.doesNotMatch(caught.message, /\n/);
  assert.match(caught.message, re);
  return caught;
}

/** A Pi whose default route is on eth0 (wlan0 also up). */
const PI_MACS = {
  interfaces: () => ({ wlan0: 'b8:27:eb:aa:bb:cc', eth0: 'b8:27:eb:12:34:56', docker0: '02:42:00:00:00:01' }),
  routeTable: () => 'Iface\tDestination\tGateway\tFlags\neth0\t00000000\t0101A8C0\t0003\neth0\t0001A8C0\t00000000\t0001\n',
};

describe('gateway_ID "auto"', () => {
  test('the default-route interface, else eth0, else wlan0, else the first by name; loopback and zero MACs never', () => {
    const src = (ifs: Record<string, string>, route: string | null = null) => ({ interfaces: () => ifs, routeTable: () => route });
    assert.deepEqual(autoGatewayId(PI_MACS), { id: 'b827ebfffe123456', iface: 'eth0', mac: 'b8:27:eb:12:34:56' });
    const wifiRoute = 'Iface\tDestination\nwlan0\t00000000\n';
    assert.equal(autoGatewayId(src(PI_MACS.interfaces(), wifiRoute))!.iface, 'wlan0');
    assert.equal(autoGatewayId(src({ wlan0: 'DC:A6:32:01:02:03', usb0: '02:00:00:00:00:09' }))!.id, 'dca632fffe010203');
    assert.equal(autoGatewayId(src({ usb1: '02:00:00:00:00:0a', enx0: '02:00:00:00:00:0b' }))!.iface, 'enx0');
    assert.equal(autoGatewayId(src({ lo: '00:00:00:00:00:00', eth0: '00:00:00:00:00:00' })), null);
  });

  test('absent means auto; the ID and where it came from are in the config', () => {
    const d = shipped();
    delete d.gateway_conf!.gateway_ID;
    const g = parseConfig([{ name: 'g.json', json: JSON.stringify(d) }], {}, { macs: PI_MACS }).config.gateway;
    assert.deepEqual([g.gatewayId, g.gatewayIdFrom], ['b827ebfffe123456', 'auto: eth0 b8:27:eb:12:34:56']);
  });
});

describe('shipped global_conf.json', () => {
  test('names no radio: loading it alone is the one-line error naming gateway_conf.radio and the choices', () => {
    throwsConfig(() => loadConfig({ globalPath: SHIPPED, macs: PI_MACS }), /^\S+global_conf\.json: gateway_conf\.radio is not set: choose "sx127x" .*"sx1301" .*"sim" .*--radio$/);
    assert.equal(loadConfig({ globalPath: SHIPPED, macs: PI_MACS, overrides: { radio: 'sx1301' } }).config.gateway.radio, 'sx1301');
  });

  test('loads without warnings and maps to the EU868 BoardConfig', () => {
    const loaded = loadConfig({ globalPath: SHIPPED, macs: PI_MACS, overrides: { radio: 'sim' } });
    assert.deepEqual(loaded.warnings, []);
    assert.deepEqual(loaded.files, [SHIPPED]);
    const { board, gateway, sim, sx127x } = loaded.config;
    assert.deepEqual(board.radios, [
      { enable: true, type: 'SX1257', freqHz: 867500000, rssiOffsetDb: -166, txEnable: true, txFreqMinHz: 863000000, txFreqMaxHz: 870000000 },
      { enable: true, type: 'SX1257', freqHz: 868500000, rssiOffsetDb: -166, txEnable: false, txFreqMinHz: 0, txFreqMaxHz: 0 },
    ]);
    const centres = board.multiSfChannels.map((c) => board.radios[c.radio]!.freqHz + c.ifHz);
    assert.deepEqual(centres, [868100000, 868300000, 868500000, 867100000, 867300000, 867500000, 867700000, 867900000]);
    assert.ok(board.multiSfChannels.every((c) => c.enable));
    assert.deepEqual(board.loraStdChannel, { enable: true, radio: 1, ifHz: -200000, bandwidthHz: 250000, spreadingFactor: 7 });
    assert.deepEqual(board.fskChannel, { enable: true, radio: 1, ifHz: 300000, bandwidthHz: 125000, datarateBps: 50000, fdevHz: 0 });
    assert.deepEqual(
      board.txLut.map((e) => e.rfPowerDbm),
      [-6, -3, 0, 3, 6, 10, 11, 12, 13, 14, 16, 20, 23, 25, 26, 27],
    );
    assert.ok(board.txLut.every((e) => e.dacGain === 3 && e.mixGain >= 8 && e.mixGain <= 15 && e.paGain <= 3 && e.digGain <= 3));
    assert.deepEqual({ lorawanPublic: board.lorawanPublic, clockSource: board.clockSource, antennaGainDbi: board.antennaGainDbi }, {
      lorawanPublic: true,
      clockSource: 1,
      antennaGainDbi: 0,
    });
    assert.equal(gateway.gatewayId, 'b827ebfffe123456', 'gateway_ID "auto": the default-route interface\'s MAC with FFFE inserted');
    assert.equal(gateway.gatewayIdFrom, 'auto: eth0 b8:27:eb:12:34:56');
    assert.deepEqual([...gateway.gatewayEui], [0xb8, 0x27, 0xeb, 0xff, 0xfe, 0x12, 0x34, 0x56]);
    assert.deepEqual(
      [gateway.serverAddress, gateway.servPortUp, gateway.servPortDown, gateway.keepaliveIntervalS, gateway.statIntervalS, gateway.pushTimeoutMs],
      ['localhost', 1700, 1700, 10, 30, 100],
    );
    assert.deepEqual([gateway.forwardCrcValid, gateway.forwardCrcError, gateway.forwardCrcDisabled], [true, false, false]);
    assert.equal(gateway.radio, 'sim');
    assert.deepEqual(sim, { airAddress: '127.0.0.1', airPort: 1760, counterStartUs: null });
    // The Dragino HAT preset, used when run with --radio sx127x.
    assert.deepEqual(sx127x, {
      board: 'dragino-lora-gps-hat', spiDevice: '/dev/spidev0.0', spiSpeedHz: 8_000_000, csPinBcm: 25, resetPinBcm: 17, dio0PinBcm: 4,
      freqHz: 868_100_000, spreadingFactor: 7, bandwidthHz: 125000, codeRate: '4/5', syncWord: 0x34, txPowerMaxDbm: 14,
      paOutput: 'PA_BOOST', txFreqMinHz: 863_000_000, txFreqMaxHz: 870_000_000, dio0LatencyUs: 'auto', pollIntervalMs: 1,
    });
  });

  test('with --radio sx127x the forwarder schedules against the single radio: one RF chain, whole dBm up to tx_power_max', () => {
    const { board } = loadConfig({ globalPath: SHIPPED, overrides: { radio: 'sx127x' } }).config;
    assert.deepEqual(board.radios, [
      { enable: true, type: 'SX1276', freqHz: 868_100_000, rssiOffsetDb: 0, txEnable: true, txFreqMinHz: 863_000_000, txFreqMaxHz: 870_000_000 },
    ]);
    assert.deepEqual(board.txLut.map((e) => e.rfPowerDbm), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    assert.ok(board.multiSfChannels.every((c) => !c.enable));
  });

  test('merged JSON equals the file (no defaults added, nothing mutated)', () => {
    assert.deepEqual(loadConfig({ globalPath: SHIPPED, overrides: { radio: 'sim' } }).merged, shipped());
  });
});

describe('defaults', () => {
  const minimal = { gateway_conf: { gateway_ID: '0102030405060708', radio: 'sim' }, SX1301_conf: {} };

  test('absent gateway_conf keys take the PF4 code defaults', () => {
    const g = parseConfig([{ name: 'g.json', json: JSON.stringify(minimal) }]).config.gateway;
    assert.deepEqual(
      { ...g, gatewayEui: [...g.gatewayEui] },
      {
        gatewayId: '0102030405060708',
        gatewayIdFrom: 'configured',
        gatewayEui: [1, 2, 3, 4, 5, 6, 7, 8],
        serverAddress: '127.0.0.1',
        servPortUp: 1780,
        servPortDown: 1782,
        keepaliveIntervalS: 5,
        statIntervalS: 30,
        pushTimeoutMs: 100,
        forwardCrcValid: true,
        forwardCrcError: false,
        forwardCrcDisabled: false,
        refLatitude: 0,
        refLongitude: 0,
        refAltitudeM: 0,
        fakeGps: false,
        gpsTtyPath: '',
        gpsBaudrate: 9600,
        gpsUbx: false,
        gpsPpsPin: null,
        autoquitThreshold: 0,
        beaconPeriodS: 0,
        beaconFreqHz: 869525000,
        beaconFreqNb: 1,
        beaconFreqStepHz: 0,
        beaconDatarate: 9,
        beaconBwHz: 125000,
        beaconPowerDbm: 14,
        beaconInfodesc: 0,
        radio: 'sim',
        region: 'none',
        logLevel: 'info',
        servers: [{ address: '127.0.0.1', portUp: 1780, portDown: 1782, upEnabled: true, downEnabled: true }],
      },
    );
    for (const spec of Object.values(GATEWAY_KEYS)) assert.ok(spec.doc.length > 0, `${spec.key} has a doc line`);
  });

  test('absent SX1301_conf keys: everything disabled, 8 multi-SF entries, HAL channel defaults, empty LUT', () => {
    const { board, sim, sx127x } = parseConfig([{ name: 'g.json', json: JSON.stringify(minimal) }]).config;
    assert.deepEqual(board, {
      lorawanPublic: false,
      clockSource: 0,
      antennaGainDbi: 0,
      radios: [0, 1].map(() => ({ enable: false, type: 'SX1257', freqHz: 0, rssiOffsetDb: 0, txEnable: false, txFreqMinHz: 0, txFreqMaxHz: 0 })),
      multiSfChannels: Array.from({ length: 8 }, () => ({ enable: false, radio: 0, ifHz: 0 })),
      loraStdChannel: { enable: false, radio: 0, ifHz: 0, bandwidthHz: 250000, spreadingFactor: 9 },
      fskChannel: { enable: false, radio: 0, ifHz: 0, bandwidthHz: 250000, datarateBps: 64000, fdevHz: 0 },
      txLut: [],
    });
    assert.deepEqual(sim, { airAddress: SIM_KEYS.airAddress.default, airPort: 1760, counterStartUs: null });
    assert.equal(sx127x, null);
  });

  test('LUT dac_gain defaults to 3; sparse tx_lut indexes keep their order', () => {
    const doc = { ...minimal, SX1301_conf: { tx_lut_7: { mix_gain: 9, rf_power: 20 }, tx_lut_2: { pa_gain: 1, mix_gain: 8, rf_power: 3 } } };
    const lut = parseConfig([{ name: 'g.json', json: JSON.stringify(doc) }]).config.board.txLut;
    assert.deepEqual(lut, [
      { rfPowerDbm: 3, paGain: 1, dacGain: 3, digGain: 0, mixGain: 8 },
      { rfPowerDbm: 20, paGain: 0, dacGain: 3, digGain: 0, mixGain: 9 },
    ]);
  });
});

describe('values', () => {
  const parse = (mut: (d: Doc) => void) => {
    const d = shipped();
    mut(d);
    return parseConfig([{ name: 'global_conf.json', json: JSON.stringify(d) }]);
  };

  test('gateway_ID is accepted in either case and stored lowercase', () => {
    const g = parse((d) => (d.gateway_conf!.gateway_ID = 'b827ebFFFE123456')).config.gateway;
    assert.equal(g.gatewayId, 'b827ebfffe123456');
    assert.equal(g.gatewayEui.toString('hex'), 'b827ebfffe123456');
  });

  test('FSK bandwidth 0 with a deviation becomes 2·fdev + datarate (PF4)', () => {
    const c = parse((d) => (d.SX1301_conf!.chan_FSK = { enable: true, radio: 1, if: 300000, bandwidth: 0, freq_deviation: 25000, datarate: 50000 }));
    assert.equal(c.config.board.fskChannel.bandwidthHz, 100000);
    assert.equal(c.config.board.fskChannel.fdevHz, 25000);
  });

  test('disabled channels are only type-checked: an out-of-band IF on a disabled radio is accepted', () => {
    const c = parse((d) => {
      d.SX1301_conf!.radio_1 = { enable: false };
      for (let i = 0; i < 3; i++) d.SX1301_conf![`chan_multiSF_${i}`] = { enable: false, radio: 1, if: 900000 };
      d.SX1301_conf!.chan_Lora_std = { enable: false, radio: 1 };
      delete d.SX1301_conf!.chan_FSK;
    });
    assert.deepEqual(c.warnings, []);
    assert.equal(c.config.board.multiSfChannels[0]!.ifHz, 900000);
    assert.equal(c.config.board.fskChannel.enable, false);
  });

  test('IF at the exact HAL limit is accepted (400/375/300 kHz)', () => {
    const c = parse((d) => {
      d.SX1301_conf!.chan_multiSF_7 = { enable: true, radio: 0, if: 400000 };
      d.SX1301_conf!.chan_Lora_std = { enable: true, radio: 1, if: -300000, bandwidth: 500000, spread_factor: 8 };
    });
    assert.equal(c.config.board.multiSfChannels[7]!.ifHz, 400000);
    assert.equal(c.config.board.loraStdChannel.ifHz, -300000);
  });

  test('sim_conf: counter_start number or null, air_port 0 = any free port', () => {
    assert.equal(parse((d) => (d.sim_conf = { counter_start: 4294967295 })).config.sim.counterStartUs, 4294967295);
    assert.equal(parse((d) => (d.sim_conf = { counter_start: null })).config.sim.counterStartUs, null);
    assert.equal(parse((d) => (d.sim_conf = { air_port: 0 })).config.sim.airPort, 0);
  });

  test('ref_altitude is truncated like PF4\'s (short) cast; server IPv6 literal may be bracketed', () => {
    const g = parse((d) => Object.assign(d.gateway_conf!, { ref_altitude: 145.9, server_address: '[::1]' })).config.gateway;
    assert.equal(g.refAltitudeM, 145);
    assert.equal(g.serverAddress, '::1');
  });

  test('SX127x_conf: a board preset fills the wiring; explicit keys override it', () => {
    const c = parse((d) => (d.SX127x_conf = { board: 'dragino-lora-gps-hat', freq: 868300000, spread_factor: 9 })).config.sx127x!;
    assert.deepEqual(
      { spi: c.spiDevice, cs: c.csPinBcm, reset: c.resetPinBcm, dio0: c.dio0PinBcm, pa: c.paOutput, freq: c.freqHz, sf: c.spreadingFactor, sync: c.syncWord },
      { spi: '/dev/spidev0.0', cs: 25, reset: 17, dio0: 4, pa: 'PA_BOOST', freq: 868300000, sf: 9, sync: 0x34 },
    );
    const o = parse((d) => (d.SX127x_conf = { board: 'dragino-lora-gps-hat', cs_pin: null })).config.sx127x!;
    assert.equal(o.csPinBcm, null, 'with the spi0-1cs overlay the CE line drives BCM25');
    const b = parse((d) => (d.SX127x_conf = { board: 'adafruit-rfm95-bonnet' })).config.sx127x!;
    assert.deepEqual([b.spiDevice, b.resetPinBcm, b.dio0PinBcm], ['/dev/spidev0.1', 25, null]);
  });

  test('SX1301_conf: a board preset sets the reset pin (RAK BCM17, iC880A BCM25); explicit keys override it; default drives none', () => {
    const link = (extra: Record<string, unknown>) => parse((d) => Object.assign(d.SX1301_conf!, extra)).config.sx1301;
    assert.deepEqual([link({}).board, link({}).resetPinBcm, link({}).spiDevice], ['custom', null, '/dev/spidev0.0']);
    for (const [board, pin] of [['rak831', 17], ['rak2245', 17], ['ic880a', 25], ['ic880a-ch2i', 17]] as const) assert.equal(link({ board }).resetPinBcm, pin, board);
    assert.equal(link({ board: 'ic880a', reset_pin: 22 }).resetPinBcm, 22);
    assert.equal(link({ board: 'rak2245', reset_pin: null }).resetPinBcm, null);
    assert.throws(() => link({ board: 'rak7248' }), /SX1301_conf\.board: expected one of custom, rak831, rak2245/);
  });

  test('SX127x_conf errors name the key; unknown keys warn', () => {
    assert.throws(() => parse((d) => (d.SX127x_conf = { board: 'lopy' })), /SX127x_conf\.board: expected one of custom, dragino-lora-gps-hat/);
    assert.throws(() => parse((d) => (d.SX127x_conf = { reset_pin: 40 })), /SX127x_conf\.reset_pin: expected a BCM GPIO number 0\.\.27 or null, got 40/);
    assert.throws(() => parse((d) => (d.SX127x_conf = { pa_output: 'RFO', tx_power_max: 20 })), /SX127x_conf\.tx_power_max: expected at most 14 dBm/);
    assert.throws(() => parse((d) => {
      d.gateway_conf!.radio = 'sx127x';
      delete d.SX127x_conf;
    }), /SX127x_conf: expected an object \(the single-channel radio/);
    assert.throws(() => parse((d) => (d.SX127x_conf = { spi_device: 'spidev0.0' })), /SX127x_conf\.spi_device: expected a spidev path such as \/dev\/spidev0\.0, or "emulator", got "spidev0\.0"/);
    assert.throws(() => parse((d) => (d.SX127x_conf = { dio0_latency_us: -5 })), /SX127x_conf\.dio0_latency_us: expected "auto" or an integer 0\.\.10000/);
    assert.throws(() => parse((d) => (d.SX127x_conf = { tx_freq_min: 869_000_000, tx_freq_max: 868_000_000 })), /SX127x_conf\.tx_freq_max: expected at least tx_freq_min/);
    assert.equal(parse((d) => (d.SX127x_conf = { spi_device: 'emulator', dio0_latency_us: 120 })).config.sx127x!.dio0LatencyUs, 120);
    const w = parse((d) => (d.SX127x_conf = { board: 'dragino-lora-gps-hat', spi: 'x' })).warnings;
    assert.deepEqual(w, ['global_conf.json: SX127x_conf.spi: unknown key, ignored']);
  });
});

describe('global + local files', () => {
  test('local_conf.json beside the global file is deep-merged: only the named keys change', () => {
    const dir = tempDir();
    const global = write(dir, 'global_conf.json', shipped());
    const local = write(dir, 'local_conf.json', {
      SX1301_conf: { radio_0: { freq: 867600000 } },
      gateway_conf: { gateway_ID: '00800000A0001234', serv_port_up: 1701 },
    });
    const loaded = loadConfig({ globalPath: global });
    assert.deepEqual(loaded.files, [global, local]);
    const r0 = loaded.config.board.radios[0]!;
    assert.equal(r0.freqHz, 867600000);
    assert.equal(r0.txEnable, true, 'siblings of the overwritten key keep their global values');
    assert.equal(r0.txFreqMaxHz, 870000000);
    assert.equal(loaded.config.gateway.gatewayId, '00800000a0001234');
    assert.equal(loaded.config.gateway.servPortUp, 1701);
    assert.equal(loaded.config.gateway.servPortDown, 1700);
    assert.equal((loaded.merged.SX1301_conf as Doc).radio_0!.freq, 867600000);
  });

  test('arrays and primitives replace; an object replaces a primitive', () => {
    const dir = tempDir();
    const g = shipped();
    g.SX127x_conf = { list: [1, 2, 3], mode: 'a' };
    const global = write(dir, 'global_conf.json', g);
    write(dir, 'local_conf.json', { SX127x_conf: { list: [4], mode: { x: 1 } } });
    // Merge semantics are checked on the merged document; the section's unknown keys only warn.
    assert.deepEqual(loadConfig({ globalPath: global }).merged.SX127x_conf, { list: [4], mode: { x: 1 } });
  });

  test('no local file is fine; an explicit localPath must exist', () => {
    const dir = tempDir();
    const global = write(dir, 'global_conf.json', shipped());
    assert.deepEqual(loadConfig({ globalPath: global }).files, [global]);
    const missing = join(dir, 'other_local.json');
    throwsConfig(() => loadConfig({ globalPath: global, localPath: missing }), new RegExp(`^${missing}: \\(file\\): expected a readable JSON file, got ENOENT`));
  });

  test('an explicit localPath anywhere is read second', () => {
    const dir = tempDir();
    const global = write(dir, 'global_conf.json', shipped());
    const local = write(tempDir(), 'site.json', { gateway_conf: { server_address: 'ns.example.com' } });
    const loaded = loadConfig({ globalPath: global, localPath: local });
    assert.deepEqual(loaded.files, [global, local]);
    assert.equal(loaded.config.gateway.serverAddress, 'ns.example.com');
  });

  test('a missing global file is a ConfigError naming it', () => {
    const path = join(tempDir(), 'global_conf.json');
    const err = throwsConfig(() => loadConfig({ globalPath: path }), /ENOENT/);
    assert.equal(err.file, path);
    assert.ok(err.message.startsWith(`${path}: `));
  });

  test('errors name the file the offending value came from', () => {
    const dir = tempDir();
    const global = write(dir, 'global_conf.json', shipped());
    const local = write(dir, 'local_conf.json', { SX1301_conf: { chan_multiSF_3: { if: 450000 } } });
    const fromLocal = throwsConfig(() => loadConfig({ globalPath: global }), /SX1301_conf\.chan_multiSF_3\.if: expected/);
    assert.equal(fromLocal.file, local);
    assert.equal(fromLocal.key, 'SX1301_conf.chan_multiSF_3.if');

    // The bad value stays in global; local only touches a sibling.
    const g = shipped();
    g.gateway_conf!.keepalive_interval = 0;
    write(dir, 'global_conf.json', g);
    write(dir, 'local_conf.json', { gateway_conf: { stat_interval: 60 } });
    const fromGlobal = throwsConfig(() => loadConfig({ globalPath: global }), /gateway_conf\.keepalive_interval: expected an integer 1\.\.2147483 /);
    assert.equal(fromGlobal.file, global);

    // A required key absent everywhere belongs to the file that defined its section.
    const g2 = shipped();
    delete g2.gateway_conf!.gateway_ID;
    write(dir, 'global_conf.json', g2);
    const noMac = { interfaces: () => ({}), routeTable: () => null };
    const absent = throwsConfig(() => loadConfig({ globalPath: global, macs: noMac }), /gateway_conf\.gateway_ID: expected 16 hex digits, since "auto" found no network interface with a MAC address, got "auto"$/);
    assert.equal(absent.file, global);
  });
});

describe('overrides', () => {
  const json = () => JSON.stringify(shipped());

  test('replace their keys and appear in the merged JSON', () => {
    const loaded = parseConfig([{ name: 'global_conf.json', json: json() }], {
      radio: 'sx1301',
      serverAddress: 'eu1.cloud.thethings.network',
      portUp: 1700,
      portDown: 1701,
      gatewayId: '0011223344556677',
    });
    const g = loaded.config.gateway;
    assert.deepEqual(
      [g.radio, g.serverAddress, g.servPortUp, g.servPortDown, g.gatewayId],
      ['sx1301', 'eu1.cloud.thethings.network', 1700, 1701, '0011223344556677'],
    );
    assert.equal((loaded.merged.gateway_conf as Record<string, unknown>).server_address, 'eu1.cloud.thethings.network');
  });

  test('supply a gateway_ID the files lack', () => {
    const d = shipped();
    delete d.gateway_conf;
    const loaded = parseConfig([{ name: 'global_conf.json', json: JSON.stringify(d) }], { gatewayId: 'aa555a0000000001', radio: 'sim' });
    assert.equal(loaded.config.gateway.gatewayId, 'aa555a0000000001');
    assert.equal(loaded.config.gateway.servPortUp, 1780);
  });

  test('are validated like the keys, and errors name the CLI option', () => {
    const p = (o: object) => () => parseConfig([{ name: 'global_conf.json', json: json() }], o);
    throwsConfig(p({ gatewayId: '12' }), /^--gateway-id: gateway_conf\.gateway_ID: expected 16 hex digits or "auto", got "12"$/);
    throwsConfig(p({ portUp: Number.NaN }), /^--port-up: gateway_conf\.serv_port_up: expected an integer 1\.\.65535, got NaN$/);
    throwsConfig(p({ portDown: 0 }), /^--port-down: gateway_conf\.serv_port_down: expected an integer 1\.\.65535, got 0$/);
    throwsConfig(p({ serverAddress: '' }), /^--server: gateway_conf\.server_address: expected a host name or IP address/);
    throwsConfig(p({ radio: 'lora' }), /^--radio: gateway_conf\.radio: expected one of "sim", "sx127x", "sx1301", got "lora"$/);
  });
});

describe('several servers', () => {
  test('servers: each enabled one with its ports (defaults from the single keys) and switches; disabled ones left out; errors name the element', () => {
    const d = shipped();
    d.gateway_conf!.servers = [
      { server_address: 'eu1.cloud.thethings.network', serv_port_up: 1700, serv_port_down: 1700 },
      { server_address: '::1', serv_enabled: false },
      { server_address: '10.0.0.2', serv_down_enabled: false, serv_type: 'semtech' },
    ];
    const c = parseConfig([{ name: 'global_conf.json', json: JSON.stringify(d) }]);
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(c.config.gateway.servers, [
      { address: 'eu1.cloud.thethings.network', portUp: 1700, portDown: 1700, upEnabled: true, downEnabled: true },
      { address: '10.0.0.2', portUp: 1700, portDown: 1700, upEnabled: true, downEnabled: false },
    ]);
    d.gateway_conf!.servers = [{ server_address: 'ok.example' }, { serv_port_up: 1 }];
    throwsConfig(() => parseConfig([{ name: 'global_conf.json', json: JSON.stringify(d) }]), /gateway_conf\.servers\[1\]\.server_address: expected a host name or IP address/);
    d.gateway_conf!.servers = [{ server_address: 'x', serv_enabled: false }];
    throwsConfig(() => parseConfig([{ name: 'global_conf.json', json: JSON.stringify(d) }]), /gateway_conf\.servers: expected at least one enabled server/);
    d.gateway_conf!.servers = ['x'];
    throwsConfig(() => parseConfig([{ name: 'global_conf.json', json: JSON.stringify(d) }]), /gateway_conf\.servers\[0\]: expected an object/);
    // --server on the command line replaces the list.
    d.gateway_conf!.servers = [{ server_address: 'a.example' }, { server_address: 'b.example' }];
    const o = parseConfig([{ name: 'global_conf.json', json: JSON.stringify(d) }], { serverAddress: 'c.example' });
    assert.deepEqual(o.config.gateway.servers.map((sv) => sv.address), ['c.example']);
  });
});

describe('unknown keys', () => {
  test('one warning line each, naming file and key; not fatal', () => {
    const d = shipped();
    d.extra_section = {};
    d.gateway_conf!.serverz = [];
    d.SX1301_conf!.lbt_cfg = { enable: false };
    (d.SX1301_conf!.radio_0 as Record<string, unknown>).tx_gain = 1;
    (d.SX1301_conf!.chan_multiSF_2 as Record<string, unknown>).desc = 'x';
    (d.SX1301_conf!.tx_lut_3 as Record<string, unknown>).pwr_idx = 4;
    (d.SX1301_conf!.chan_FSK as Record<string, unknown>).sync_word = 1;
    d.SX1301_conf!.tx_lut_07 = {};
    d.sim_conf!.loss = 0.1;
    const { warnings } = parseConfig([{ name: 'global_conf.json', json: JSON.stringify(d) }]);
    assert.deepEqual([...warnings].sort(), [
      'global_conf.json: SX1301_conf.chan_FSK.sync_word: unknown key, ignored',
      'global_conf.json: SX1301_conf.chan_multiSF_2.desc: unknown key, ignored',
      'global_conf.json: SX1301_conf.lbt_cfg: listen-before-talk is not supported, ignored',
      'global_conf.json: SX1301_conf.radio_0.tx_gain: unknown key, ignored',
      'global_conf.json: SX1301_conf.tx_lut_07: unknown key, ignored',
      'global_conf.json: SX1301_conf.tx_lut_3.pwr_idx: unknown key, ignored',
      'global_conf.json: extra_section: unknown key, ignored',
      'global_conf.json: gateway_conf.serverz: unknown key, ignored',
      'global_conf.json: sim_conf.loss: unknown key, ignored',
    ]);
  });

  test('a warning names the local file when the unknown key came from it', () => {
    const { warnings } = parseConfig([
      { name: 'global_conf.json', json: JSON.stringify(shipped()) },
      { name: 'local_conf.json', json: '{"gateway_conf": {"contact_email": "a@b.c"}}' },
    ]);
    assert.deepEqual(warnings, ['local_conf.json: gateway_conf.contact_email: unknown key, ignored']);
  });
});

describe('configurations of other forwarders and placeholder IDs', () => {
  const refused = (name: string, doc: unknown) => () => parseConfig([{ name, json: JSON.stringify(doc) }], { radio: 'sx1301' });
  test('an SX1302/SX1303 (sx1302_hal) file is one line saying what it is and what this version drives', () => {
    const doc = { SX130x_conf: { com_type: 'SPI', com_path: '/dev/spidev0.0', radio_0: {} }, gateway_conf: { gateway_ID: '0016C001FF10A235' } };
    throwsConfig(refused('global_conf.json', doc), /^global_conf\.json: SX130x_conf: an SX1302\/SX1303 concentrator configuration \(Semtech sx1302_hal\); this version of pktfwd drives SX1301 concentrators and SX127x radios only$/);
  });
  test('a Basics Station station.conf, by its keys or its name, is one line too', () => {
    throwsConfig(refused('station.conf', { radio_conf: { lorawan_public: true } }), /^station\.conf: radio_conf: a LoRa Basics Station configuration \(station\.conf\); this version of pktfwd drives SX1301 concentrators and SX127x radios only, with the Semtech UDP protocol/);
    throwsConfig(refused('gw.json', { station_conf: { routerid: '1' }, SX1301_conf: {} }), /^gw\.json: station_conf: a LoRa Basics Station configuration/);
    throwsConfig(refused('/etc/station.conf', { SX1301_conf: {} }), /^\/etc\/station\.conf: \(file\): a LoRa Basics Station configuration/);
  });
  test('well-known placeholder gateway IDs are warned about; a real one is not', () => {
    const warned = (id: string) => parseConfig([{ name: 'g.json', json: JSON.stringify({ ...shipped(), gateway_conf: { ...shipped().gateway_conf, gateway_ID: id } }) }]).warnings;
    for (const id of ['AA555A0000000000', '0000000000000000', 'FFFFFFFFFFFFFFFF', '0102030405060708']) {
      assert.equal(warned(id).filter((w) => w.includes(`gateway_ID: ${id} is `) && w.includes('collide')).length, 1, id);
    }
    assert.deepEqual(warned('B827EBFFFE123456'), []);
  });
});

describe('Semtech file syntax', () => {
  test('C comments (/* */ and //) are accepted outside strings, as PF4 (parson) does', () => {
    const file = join(FIXTURES, 'semtech-style-commented.json');
    const loaded = loadConfig({ globalPath: file, localPath: file, overrides: { radio: 'sx1301' } });
    assert.equal(loaded.files.length, 1, 'the same file is not read twice');
    // A stock Semtech file carries Semtech's example gateway ID: the one warning.
    assert.deepEqual(loaded.warnings, [
      `${file}: gateway_conf.gateway_ID: AA555A0000000000 is Semtech's example ID: two gateways with it collide at the network server; set "auto" (from the MAC address) or the EUI on the board's label`,
    ]);
    assert.equal(loaded.config.board.radios[0]!.freqHz, 867500000);
    assert.equal(loaded.config.board.clockSource, 1);
    assert.equal(loaded.config.gateway.gpsTtyPath, '/dev/ttyAMA0 // not a comment /* nor this */');
  });

  test('a UTF-8 byte order mark is ignored', () => {
    const c = parseConfig([{ name: 'g.json', json: `\uFEFF${JSON.stringify(shipped())}` }], {}, { macs: PI_MACS });
    assert.equal(c.config.gateway.gatewayId, 'b827ebfffe123456');
  });
});
