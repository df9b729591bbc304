/**
 * The forwarder as `pktfwd run` starts it (same config loading, logger, status
 * API, systemd notifier, signal handling), with the shared load-shape radio in
 * place of the concentrator. measure.py / sweep.py of ../shared/perf start it
 * with LOAD_* and SINK_* in the environment:
 *
 *   python3 ../shared/perf/measure.py --rate 1000 -- node dist/bench/loadshape-main.js
 *
 * The shipped global_conf.json (EU868) is used as shipped, with the server
 * address and ports pointed at the sink; logs go to stdout at the shipped
 * level (measure.py sends them to /dev/null, as the C baseline's were).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runForwarder } from '../src/app.js';
import { LoadShapeRadio } from './loadshape-radio.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const port = Number(process.env.SINK_PORT ?? '1700');
const code = await runForwarder(
  {
    config: process.env.LOADSHAPE_CONFIG ?? path.join(root, 'global_conf.json'),
    overrides: { radio: 'sx1301', serverAddress: process.env.SINK_HOST ?? '127.0.0.1', portUp: port, portDown: port, gatewayId: 'AA555A0000000102' },
  },
  { makeConcentrator: () => new LoadShapeRadio() },
);
if (process.env.LOADSHAPE_MEMREPORT) {
  const v8 = await import('node:v8');
  const spaces = v8.getHeapSpaceStatistics().map((x) => `${x.space_name} ${(x.space_size / 1048576).toFixed(1)}/${(x.space_used_size / 1048576).toFixed(1)}`);
  process.stderr.write(`${JSON.stringify({ ...process.memoryUsage(), spaces })}\n`);
}
process.exit(code);
