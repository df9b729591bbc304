/** Journal test data, written independently of src/uplink-journal.ts (the format as its header documents it). */
import { crc32 } from 'node:zlib';

/** A valid rxpk text carrying `i` in its payload. */
export function rxpkText(i: number): string {
  const data = Buffer.alloc(8);
  data.writeUInt32BE(i, 4);
  return `{"tmst":${1000 + i},"chan":0,"rfch":0,"freq":868.1,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":-60,"lsnr":9.5,"size":8,"data":"${data.toString('base64')}"}`;
}

/** One journal line as the format documents it (written here independently of the code under test). */
export function rec(json: unknown[]): string {
  const j = JSON.stringify(json);
  return `${(crc32(j) >>> 0).toString(16).padStart(8, '0')} ${j}\n`;
}

