/**
 * Hostile JSON for the fuzz harness and the tests (issue 18): deep nesting,
 * huge strings and every JSON type, put in every field of a PULL_RESP txpk
 * and of a virtual-air datagram, and as whole bodies. Built as text, since
 * some of it cannot even be held by JSON.stringify.
 */

/** `[[[...]]]`, `depth` levels. */
export function deepArray(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** `{"a":{"a":...1}}`, `depth` levels. */
export function deepObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** `[{"a":[{"a":...]}]`, arrays and objects alternating, `depth` levels. */
export function deepMixed(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    if (i % 2 === 0) {
      open += '[';
      close = `]${close}`;
    } else {
      open += '{"a":';
      close = `}${close}`;
    }
  }
  return `${open}0${close}`;
}

/** One hostile value: its JSON text and a name for messages. */
export interface HostileValue {
  name: string;
  json: string;
}

/**
 * Every JSON type, and the shapes that broke or could break a parser or a
 * renderer. `huge` ones (tens of KB) are for the one-off sweeps, not for a
 * random stream of thousands.
 */
export function hostileValues(o: { huge: boolean }): HostileValue[] {
  const v: HostileValue[] = [
    { name: 'null', json: 'null' },
    { name: 'true', json: 'true' },
    { name: 'false', json: 'false' },
    { name: 'zero', json: '0' },
    { name: 'minus one', json: '-1' },
    { name: 'fraction', json: '0.5' },
    { name: 'huge number', json: '1e308' },
    { name: 'huge negative number', json: '-1e308' },
    { name: 'beyond 2^53', json: '9007199254740993' },
    { name: 'denormal', json: '5e-324' },
    { name: 'empty string', json: '""' },
    { name: 'string', json: '"x"' },
    { name: 'a datr string', json: '"SF7BW125"' },
    { name: 'NUL string', json: '"\\u0000"' },
    { name: 'lone surrogate', json: '"\\ud800"' },
    { name: 'brackets in a string', json: `"${'[{'.repeat(500)}\\"]}"` },
    // Not base64 on purpose: valid base64 this long in `data` is a 5 KB payload, the oversized-downlink
    // case of issue 18 point 5 (logged at error level and answered COLLISION_PACKET; not handled here).
    { name: '7 KB string', json: JSON.stringify('~'.repeat(7000)) },
    { name: 'empty array', json: '[]' },
    { name: 'empty object', json: '{}' },
    { name: 'array of every type', json: '[null,true,1,"a",[],{}]' },
    { name: 'nested object', json: '{"a":{"b":{"c":[]}}}' },
    { name: 'array 13 deep (inside the depth limit)', json: deepArray(13) },
    { name: 'mixed 13 deep (inside the depth limit)', json: deepMixed(13) },
    { name: 'array 3000 deep (6 KB)', json: deepArray(3000) },
    { name: 'object 1000 deep (6 KB)', json: deepObject(1000) },
    { name: 'array 5000 deep (10 KB, as in issue 18)', json: deepArray(5000) },
    { name: 'long flat array', json: `[${Array(3000).fill('0').join(',')}]` },
  ];
  if (o.huge) {
    v.push(
      { name: '60 KB string', json: JSON.stringify('B'.repeat(60_000)) },
      { name: 'array 30000 deep (60 KB)', json: deepArray(30_000) },
      { name: 'mixed 8000 deep', json: deepMixed(8000) },
    );
  }
  return v;
}

/** A valid Class C txpk (LoRa, legal on EU868 RX2). */
export const BASE_TXPK: Record<string, unknown> = {
  imme: true, freq: 869.525, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF9BW125', codr: '4/5', ipol: true, size: 2, data: 'AQI=',
};

/** A valid FSK txpk, for the fields only FSK reads (fdev). */
export const BASE_FSK_TXPK: Record<string, unknown> = {
  imme: true, freq: 869.525, rfch: 0, powe: 14, modu: 'FSK', datr: 50000, fdev: 25000, size: 2, data: 'AQI=',
};

/** Every txpk field of PROTOCOL.TXT §6, and one no server sends. */
export const TXPK_FIELDS = ['imme', 'tmst', 'tmms', 'freq', 'rfch', 'powe', 'modu', 'datr', 'codr', 'fdev', 'ipol', 'prea', 'size', 'data', 'ncrc', 'xtra'] as const;

/** An object's JSON text with `key` set to the raw JSON `value` (added last, or in place of the old one). */
export function withField(base: Record<string, unknown>, key: string, value: string): string {
  const rest = { ...base };
  delete rest[key];
  const text = JSON.stringify(rest);
  return `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${JSON.stringify(key)}:${value}}`;
}

/** One PULL_RESP body to send, with a name for messages. */
export interface HostileBody {
  name: string;
  body: string;
}

/** Every hostile value in every txpk field, and hostile whole bodies. */
export function hostilePullRespBodies(o: { huge: boolean }): HostileBody[] {
  const out: HostileBody[] = [];
  const txpk = JSON.stringify(BASE_TXPK);
  for (const v of hostileValues(o)) {
    for (const f of TXPK_FIELDS) {
      const base = f === 'fdev' ? BASE_FSK_TXPK : BASE_TXPK;
      out.push({ name: `txpk.${f} = ${v.name}`, body: `{"txpk":${withField(base, f, v.json)}}` });
    }
    out.push({ name: `body = ${v.name}`, body: v.json });
    out.push({ name: `txpk = ${v.name}`, body: `{"txpk":${v.json}}` });
    out.push({ name: `extra top-level key = ${v.name}`, body: `{"txpk":${txpk},"x":${v.json}}` });
    out.push({ name: `top-level key before txpk = ${v.name}`, body: `{"x":${v.json},"txpk":${txpk}}` });
  }
  out.push({ name: 'body of 1000 keys', body: `{"txpk":${txpk},${Array.from({ length: 1000 }, (_, i) => `"k${i}":0`).join(',')}}` });
  out.push({ name: 'txpk twice', body: `{"txpk":${txpk},"txpk":${deepArray(13)}}` });
  return out;
}

/** A valid virtual-air uplink on the EU868 plan (868.1 MHz, SF7). */
export const BASE_AIR_UPLINK: Record<string, unknown> = {
  op: 'uplink', freq: 868.1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', rssi: -60, lsnr: 5, crc: 'ok', data: 'QAEAAAAAAQABaGk=',
};

/** A valid virtual-air downlink report (what the sim sends; the sim decodes it too and ignores it). */
export const BASE_AIR_DOWNLINK: Record<string, unknown> = {
  op: 'downlink', count_us: 1000, target_us: null, freq: 869.525, modu: 'LORA', datr: 'SF9BW125', codr: '4/5',
  powe: 14, ipol: true, prea: 8, ncrc: false, size: 2, data: 'AQI=',
};

/** Every field of the virtual-air messages the sim decodes. */
export const AIR_UPLINK_FIELDS = ['op', 'freq', 'modu', 'datr', 'codr', 'rssi', 'lsnr', 'crc', 'data', 'xtra'] as const;
export const AIR_DOWNLINK_FIELDS = ['count_us', 'target_us', 'freq', 'modu', 'datr', 'codr', 'powe', 'ipol', 'prea', 'ncrc', 'nhdr', 'fdev', 'size', 'data'] as const;

/** Every hostile value in every field of an uplink, a downlink, listen and pps; and as whole datagrams. */
export function hostileAirDatagrams(o: { huge: boolean }): HostileBody[] {
  const out: HostileBody[] = [];
  for (const v of hostileValues(o)) {
    for (const f of AIR_UPLINK_FIELDS) out.push({ name: `uplink.${f} = ${v.name}`, body: withField(BASE_AIR_UPLINK, f, v.json) });
    for (const f of AIR_DOWNLINK_FIELDS) out.push({ name: `downlink.${f} = ${v.name}`, body: withField(BASE_AIR_DOWNLINK, f, v.json) });
    out.push({ name: `pps.x = ${v.name}`, body: withField({ op: 'pps' }, 'x', v.json) });
    out.push({ name: `listening.count_us = ${v.name}`, body: withField({ op: 'listening' }, 'count_us', v.json) });
    out.push({ name: `datagram = ${v.name}`, body: v.json });
  }
  return out;
}
