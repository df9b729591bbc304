import { SimConcentrator } from './dist/hal/index.js';
import { parseConfig } from './dist/src/config/index.js';
import { pino } from 'pino';
import fs from 'fs'; import dgram from 'dgram';
const N = Number(process.argv[2] ?? 600);
const cfg = parseConfig([{name:'g', json: fs.readFileSync('global_conf.json','utf8')}]).config;
const sim = new SimConcentrator({board: cfg.board, airAddress:'127.0.0.1', airPort:0, log: pino({level:'warn'})});
await sim.start();
const errs=[];
const s = dgram.createSocket('udp4'); s.on('message', m => { const o=JSON.parse(m); if(o.op==='downlink') errs.push(o.count_us-o.target_us); });
s.bind(0, () => s.send('{"op":"listen"}', sim.airPortBound, '127.0.0.1'));
await new Promise(r=>setTimeout(r,100));
for (let i=0;i<N;i++){
  const now = await sim.counterUs();
  await sim.send({mode:'timestamped', countUs: (now+25000)>>>0, freqHz:869525000, rfChain:0, powerDbm:14, radio:{modulation:'FSK',datarateBps:50000}, fdevHz:25000, invertPolarity:false, preambleSymbols:5,noCrc:false,noHeader:false,payload:new Uint8Array([1,2])});
  await new Promise(r=>setTimeout(r,30));
}
await new Promise(r=>setTimeout(r,100));
errs.sort((a,b)=>a-b); const n=errs.length; console.log(process.argv[3]??'', 'n',n,'p50',errs[n>>1],'p90',errs[Math.ceil(n*0.9)-1],'p99',errs[Math.ceil(n*0.99)-1],'max',errs[n-1]);
await sim.stop(); s.close();
