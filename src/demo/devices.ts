import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { datrOf } from '../protocol/index.js';
import { decodeAirMessage } from '../../hal/index.js';

/** One simulated end device. */
export interface SimDevice {
  /** 32-bit device address, as LoRaWAN writes it in the frame (little-endian). */
  devAddr: number;
  fcnt: number;
}

/** A downlink a device heard on the virtual air. */
export interface HeardDownlink {
  devAddr: number;
  fcnt: number;
  countUs: number;
  targetUs: number | null;
  /** count_us − target_us, µs (null for immediate emissions). */
  errorUs: number | null;
  freqMHz: number;
  datr: string | number;
}

/** An uplink a device sent. */
export interface SentUplink {
  devAddr: number;
  fcnt: number;
  freqMHz: number;
  datr: string;
}

/** Options of {@link SimulatedDevices}. */
export interface SimulatedDevicesOptions {
  airPort: number;
  airAddress?: string;
  count: number;
  /** Uplink frequencies to pick from, MHz (the plan's multi-SF channels). */
  freqsMHz: number[];
  /** Data rates to pick from. */
  datrs?: string[];
  random?: () => number;
}

/** Builds a LoRaWAN-shaped frame: MHDR, DevAddr (LE), FCtrl, FCnt (LE), FPort, payload. */
export function makeFrame(mhdr: number, devAddr: number, fcnt: number, payload: Buffer): Buffer {
  const f = Buffer.alloc(9 + payload.length);
  f[0] = mhdr;
  f.writeUInt32LE(devAddr >>> 0, 1);
  f[5] = 0;
  f.writeUInt16LE(fcnt & 0xffff, 6);
  f[8] = 1;
  payload.copy(f, 9);
  return f;
}

/** Reads DevAddr and FCnt back from {@link makeFrame}'s layout, or null. */
export function parseFrame(b: Buffer): { mhdr: number; devAddr: number; fcnt: number } | null {
  if (b.length < 9) return null;
  return { mhdr: b[0]!, devAddr: b.readUInt32LE(1), fcnt: b.readUInt16LE(6) };
}

/**
 * End devices that live on the simulated concentrator's virtual air: they
 * send uplinks as JSON datagrams and listen to every emission, keeping the
 * downlinks addressed to them.
 *
 * Events: 'uplink' (SentUplink), 'downlink' (HeardDownlink).
 */
export class SimulatedDevices extends EventEmitter {
  readonly devices: SimDevice[];
  private readonly sock = dgram.createSocket('udp4');
  private readonly rnd: () => number;

  constructor(private readonly o: SimulatedDevicesOptions) {
    super();
    this.rnd = o.random ?? Math.random;
    this.devices = Array.from({ length: o.count }, (_, i) => ({ devAddr: (0x26011b00 + i * 0x11) >>> 0, fcnt: 0 }));
    this.sock.on('message', (m) => this.onAir(m));
  }

  /** Subscribes to the sim's emissions. */
  async start(): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', r));
    this.send({ op: 'listen' });
  }

  /** Sends one uplink from device `i`. */
  uplink(i: number): SentUplink {
    const d = this.devices[i]!;
    d.fcnt++;
    const freqMHz = this.pick(this.o.freqsMHz);
    const datr = this.pick(this.o.datrs ?? ['SF7BW125', 'SF8BW125', 'SF9BW125']);
    const frame = makeFrame(0x40, d.devAddr, d.fcnt, Buffer.from(`t=${(20 + this.rnd() * 5).toFixed(1)}C`));
    this.send({
      op: 'uplink', freq: freqMHz, modu: 'LORA', datr, codr: '4/5',
      rssi: Math.round(-110 + this.rnd() * 60), lsnr: Math.round(-50 + this.rnd() * 150) / 10,
      crc: 'ok', data: frame.toString('base64'),
    });
    const up = { devAddr: d.devAddr, fcnt: d.fcnt, freqMHz, datr };
    this.emit('uplink', up);
    return up;
  }

  /** Closes the socket. */
  stop(): void {
    this.sock.close();
  }

  private pick<T>(xs: T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }

  private send(obj: unknown): void {
    this.sock.send(JSON.stringify(obj), this.o.airPort, this.o.airAddress ?? '127.0.0.1');
  }

  private onAir(m: Buffer): void {
    // The shared decoder (bounded, never throws): anything else on the air is not for these devices.
    const d = decodeAirMessage(m);
    if (!d.ok || d.msg.op !== 'downlink') return;
    const msg = d.msg;
    const f = parseFrame(msg.payload);
    if (!f || !this.devices.some((dev) => dev.devAddr === f.devAddr)) return;
    const { countUs, targetUs } = msg;
    this.emit('downlink', {
      devAddr: f.devAddr, fcnt: f.fcnt, countUs, targetUs,
      errorUs: targetUs === null ? null : (countUs - targetUs) | 0,
      freqMHz: msg.freqHz / 1e6, datr: datrOf(msg.radio),
    } satisfies HeardDownlink);
  }
}
