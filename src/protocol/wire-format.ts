/**
 * Text formats shared by the Semtech UDP JSON objects: fixed-point numbers
 * printed the way the reference forwarder's `printf` prints them, frequencies
 * from whole Hz, the two time layouts, and strict standard base64.
 */

/** Thrown only for programmer errors (a non-finite number handed to an encoder). */
function invalidNumber(what: string, value: number): Error {
  return Object.assign(new Error(`${what}: cannot write ${value} as a JSON number`), { code: 'ERR_INVALID_WIRE_VALUE' });
}

/** Adds one unit in the last place to a string of decimal digits ("0999" → "1000"). */
function incrementDigits(digits: string): string {
  const out = digits.split('');
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== '9') {
      out[i] = String(Number(out[i]) + 1);
      return out.join('');
    }
    out[i] = '0';
  }
  return '1' + out.join('');
}

/**
 * Prints `value` with exactly `decimals` fractional digits, like C's `%.Nf`
 * (what PF4 uses for freq, lsnr, rssi, lati, long and ackr): the exact binary
 * value is rounded to nearest, and an exact tie goes to the even digit, as
 * glibc does (-35.5 → "-36", -7.25 → "-7.2"; SX1301 SNR comes in 0.25 dB steps,
 * so ties are common). Unlike printf, a result that rounds to zero never
 * carries a minus sign ("-0.0" → "0.0"): JSON servers need not see "-0".
 */
export function formatFixed(value: number, decimals: number): string {
  if (!Number.isFinite(value) || Math.abs(value) >= 1e21) throw invalidNumber('formatFixed', value);
  return formatFixedFast(value, decimals) ?? formatFixedExact(value, decimals);
}

/** Powers of ten that are exact doubles, for the decimals this protocol prints. */
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * The common case of {@link formatFixed} in plain arithmetic (the exact path
 * below costs a 100-digit expansion per number). Scale by 10^d and round.
 * The product is rounded once, to nearest; rounding is monotonic and every
 * half-way point h = k + 0.5 is itself a double below 2^51, so an exact
 * product above h never rounds below it and one below h never rounds above
 * it: only a product that lands exactly on h is undecided (a true tie, or a
 * near-tie rounded onto it), and those go to the exact path. A product that
 * rounds up to the next integer was above h anyway, so the whole part is right too.
 * Returns undefined when the exact path must decide.
 */
function formatFixedFast(value: number, decimals: number): string | undefined {
  if (decimals >= POW10.length) return undefined;
  const scaled = Math.abs(value) * POW10[decimals]!;
  if (!(scaled < 2 ** 50)) return undefined;
  const whole = Math.floor(scaled);
  const frac = scaled - whole; // exact below 2^50
  if (frac === 0.5) return undefined;
  const n = frac > 0.5 ? whole + 1 : whole;
  if (n === 0) return decimals > 0 ? '0.' + '0'.repeat(decimals) : '0';
  const sign = value < 0 ? '-' : '';
  if (decimals === 0) return sign + String(n);
  let digits = String(n);
  if (digits.length <= decimals) digits = '0'.repeat(decimals + 1 - digits.length) + digits;
  const cut = digits.length - decimals;
  return `${sign}${digits.slice(0, cut)}.${digits.slice(cut)}`;
}

/** {@link formatFixed} from the exact decimal expansion: slow, decides every tie. Exported for tests. */
export function formatFixedExact(value: number, decimals: number): string {
  if (!Number.isFinite(value) || Math.abs(value) >= 1e21) throw invalidNumber('formatFixed', value);
  // toFixed(100) is the exact decimal expansion of any double with |x| >= 2^-47
  // (its lowest mantissa bit is >= 2^-99); smaller values cannot hold a tie at
  // the few decimals this protocol prints.
  const exact = Math.abs(value).toFixed(100);
  const dot = exact.indexOf('.');
  const intPart = exact.slice(0, dot);
  const frac = exact.slice(dot + 1);
  let kept = intPart + frac.slice(0, decimals);
  const next = frac.charAt(decimals);
  const rest = frac.slice(decimals + 1);
  const restIsZero = /^0*$/.test(rest);
  const lastKeptOdd = Number(kept.charAt(kept.length - 1)) % 2 === 1;
  if (next > '5' || (next === '5' && (!restIsZero || lastKeptOdd))) kept = incrementDigits(kept);
  const intDigits = kept.slice(0, kept.length - decimals).replace(/^0+(?=\d)/, '');
  const text = decimals > 0 ? `${intDigits}.${kept.slice(kept.length - decimals)}` : intDigits;
  const isZero = /^[0.]*$/.test(text);
  return value < 0 && !isZero ? `-${text}` : text;
}

/** Parses the text {@link formatFixed} wrote back to the number it stands for. */
export function roundLikeWire(value: number, decimals: number): number {
  return Number(formatFixed(value, decimals));
}

/**
 * Writes a whole-Hz frequency as MHz with exactly 6 decimals (PF4 `%.6lf`),
 * digit by digit from the integer so no float noise can appear:
 * 868100000 → "868.100000", 869525000 → "869.525000".
 */
export function formatFreqMhz(freqHz: number): string {
  if (!Number.isFinite(freqHz) || freqHz < 0) throw invalidNumber('freq', freqHz);
  const hz = Math.round(freqHz);
  const mhz = Math.floor(hz / 1_000_000);
  return `${mhz}.${String(hz - mhz * 1_000_000).padStart(6, '0')}`;
}

/** A JSON integer as text; throws (programmer error) for non-integers. */
export function formatInteger(what: string, value: number): string {
  if (!Number.isSafeInteger(value)) throw invalidNumber(what, value);
  return String(value);
}

/**
 * rxpk `time`: UTC with microseconds, `YYYY-MM-DDThh:mm:ss.uuuuuuZ`
 * (PF4 `%04i-%02i-%02iT%02i:%02i:%02i.%06liZ`), from µs since the Unix epoch.
 */
export function formatCompactUtc(utcUs: number): string {
  if (!Number.isFinite(utcUs)) throw invalidNumber('time', utcUs);
  const us = Math.floor(utcUs);
  const sec = Math.floor(us / 1_000_000);
  const frac = us - sec * 1_000_000;
  return `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(frac).padStart(6, '0')}Z`;
}

/** stat `time`: `YYYY-MM-DD hh:mm:ss GMT` (PF4 `strftime("%F %T %Z", gmtime())`), whole seconds. */
export function formatExpandedUtc(unixMs: number): string {
  if (!Number.isFinite(unixMs)) throw invalidNumber('time', unixMs);
  const iso = new Date(Math.floor(unixMs / 1000) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} GMT`;
}

/** Standard base64 (`+/`) with `=` padding: the only form ChirpStack accepts in rxpk. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Result of {@link decodeBase64Strict}. */
export type Base64Result = { ok: true; bytes: Buffer } | { ok: false; reason: string };

/**
 * Decodes standard base64 and refuses anything else with a reason, never a
 * crash (PF4 calls exit() on a non-base64 character [PF4 base64.c char_to_code]).
 * URL-safe `-`/`_` are named as such, since servers that mix the alphabets
 * exist and Node's own decoder would silently accept them.
 * With `requirePadding` (rxpk, as ChirpStack demands) the `=` padding must be
 * present; without it (txpk: "padding optional") it may be omitted, but if
 * present it must be correct.
 */
export function decodeBase64Strict(text: string, requirePadding: boolean): Base64Result {
  const bad = /[^A-Za-z0-9+/=]/.exec(text);
  if (bad) {
    const ch = bad[0];
    const what = ch === '-' || ch === '_' ? `URL-safe character '${ch}'` : `invalid character ${JSON.stringify(ch)}`;
    return { ok: false, reason: `not standard base64: ${what} at index ${bad.index}` };
  }
  const firstPad = text.indexOf('=');
  const body = firstPad < 0 ? text : text.slice(0, firstPad);
  const pad = firstPad < 0 ? '' : text.slice(firstPad);
  if (!/^={0,2}$/.test(pad)) return { ok: false, reason: `not standard base64: misplaced '=' at index ${firstPad}` };
  if (body.length % 4 === 1) return { ok: false, reason: `not standard base64: length ${body.length} leaves a dangling character` };
  const needed = (4 - (body.length % 4)) % 4;
  if (pad.length > 0 && pad.length !== needed) {
    return { ok: false, reason: `not standard base64: ${pad.length} '=' where ${needed} belong` };
  }
  if (requirePadding && pad.length !== needed) return { ok: false, reason: `not padded base64: ${needed} '=' missing` };
  return { ok: true, bytes: Buffer.from(body, 'base64') };
}
