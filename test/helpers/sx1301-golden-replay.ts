/**
 * Run as a child process under the fake SX1301's LD_PRELOAD shim: reads a
 * golden's config.json (test/fixtures/sx1301-golden/NAME or the shared
 * golden), applies its SX1301_conf through our config reader, then makes our
 * driver do each step of its `replay` over the real spidev transport, with a
 * phase marker per step named as the recorder names them, so the shim's raw
 * trace and state dump line up with the golden's. Prints what each step
 * returned as one JSON line.
 * argv: <config.json> <firmware dir>
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { loadFirmware, type TxPacket } from '../../hal/index.js';
import { Sx1301Registers } from '../../hal/sx1301/registers.js';
import { receiveSx1301 } from '../../hal/sx1301/receive.js';
import { readTimestamp, sendSx1301, stopSx1301, txStatusSx1301 } from '../../hal/sx1301/send.js';
import { startSx1301 } from '../../hal/sx1301/start.js';
import { openSpidevTransport } from '../../hal/sx127x/spidev-transport.js';
import { parseConfig } from '../../src/config/index.js';

/** One `lgw_send` of a golden replay (libloragw's lgw_pkt_tx_s in words). */
export interface GoldenTx {
  freq_hz: number; rf_chain: number; rf_power: number; modulation: 'LORA' | 'FSK'; tx_mode: 'IMMEDIATE' | 'TIMESTAMPED' | 'ON_GPS'; count_us: number;
  bandwidth_hz?: number; datarate: string | number; coderate?: string; invert_pol?: boolean; f_dev_khz?: number;
  preamble: number; no_crc: boolean; no_header: boolean; payload_hex: string;
}

/** One step of a golden replay. */
export interface GoldenStep {
  op: 'lgw_start' | 'lgw_receive' | 'lgw_reg_w' | 'lgw_get_trigcnt' | 'lgw_send' | 'lgw_status' | 'lgw_stop';
  max_pkt?: number; value?: number; repeat?: number; txpkt?: GoldenTx;
  libloragw_returned: { ret?: number; packets?: unknown[]; codes?: number[] };
}

/** The TxPacket our driver is given for a golden lgw_send (libloragw's fields as the forwarder would fill them). */
export function txPacketOf(t: GoldenTx): TxPacket {
  const mode = t.tx_mode === 'IMMEDIATE' ? 'immediate' : t.tx_mode === 'TIMESTAMPED' ? 'timestamped' : 'on-pps';
  const radio = t.modulation === 'LORA'
    ? { modulation: 'LORA' as const, spreadingFactor: Number(String(t.datarate).slice(2)) as 7, bandwidthHz: t.bandwidth_hz as 125000, codeRate: (t.coderate ?? '4/5') as '4/5' }
    : { modulation: 'FSK' as const, datarateBps: Number(t.datarate) };
  const p: TxPacket = {
    mode, countUs: t.count_us, freqHz: t.freq_hz, rfChain: t.rf_chain, powerDbm: t.rf_power, radio,
    invertPolarity: t.invert_pol ?? false, preambleSymbols: t.preamble, noCrc: t.no_crc, noHeader: t.no_header, payload: Buffer.from(t.payload_hex, 'hex'),
  };
  if (t.modulation === 'FSK') p.fdevHz = (t.f_dev_khz ?? 0) * 1000;
  return p;
}

async function main(): Promise<void> {
  const [configPath, fwDir] = process.argv.slice(2) as [string, string];
  const golden = JSON.parse(readFileSync(configPath, 'utf8')) as { SX1301_conf: unknown; replay: GoldenStep[] };
  const doc = { SX1301_conf: golden.SX1301_conf, gateway_conf: { gateway_ID: 'AA555A0000000000', radio: 'sx1301', region: 'none' } };
  const { board } = parseConfig([{ name: 'golden', json: JSON.stringify(doc) }]).config;
  const mark = (n: number, what: string) => closeSync(openSync(`/dev/spidev0.0@mark:${String(n).padStart(2, '0')} ${what}`, 'r'));
  const spi = await openSpidevTransport({ path: '/dev/spidev0.0', speedHz: 8_000_000 });
  const out: unknown[] = [];
  try {
    const regs = new Sx1301Registers(spi);
    let cal: Awaited<ReturnType<typeof startSx1301>> | null = null;
    let n = 0;
    for (const s of golden.replay) {
      n++;
      switch (s.op) {
        case 'lgw_start':
          mark(n, 'lgw_start');
          cal = await startSx1301(regs, board, loadFirmware(fwDir), async () => undefined);
          out.push({ op: s.op, calibrationStatus: cal.calibrationStatus });
          break;
        case 'lgw_receive':
          mark(n, 'lgw_receive');
          out.push({ op: s.op, packets: receiveSx1301(regs, board, s.max_pkt ?? 8).map((p) => ({ ...p, payload: Buffer.from(p.payload).toString('hex') })) });
          break;
        case 'lgw_reg_w':
          mark(n, 'lgw_reg_w GPS_EN');
          regs.write('GPS_EN', s.value ?? 0);
          out.push({ op: s.op });
          break;
        case 'lgw_get_trigcnt':
          mark(n, 'lgw_get_trigcnt');
          readTimestamp(regs);
          out.push({ op: s.op });
          break;
        case 'lgw_send':
          mark(n, 'lgw_send');
          out.push({ op: s.op, refused: sendSx1301(regs, board, cal!, txPacketOf(s.txpkt!)) });
          break;
        case 'lgw_status':
          mark(n, 'lgw_status TX_STATUS');
          out.push({ op: s.op, status: Array.from({ length: s.repeat ?? 1 }, () => txStatusSx1301(regs)) });
          break;
        case 'lgw_stop':
          mark(n, 'lgw_stop');
          stopSx1301(regs);
          out.push({ op: s.op });
          break;
      }
    }
    process.stdout.write(`${JSON.stringify({ steps: out })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: (err as Error).message, stack: (err as Error).stack, steps: out })}\n`);
  } finally {
    await spi.close();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
