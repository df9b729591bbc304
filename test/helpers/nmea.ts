/**
 * NMEA sentences for tests that feed a GpsService directly: an RMC with a
 * fix for a whole UTC second, at a position given as NMEA fields.
 */
import { nmeaChecksum } from '../../hal/gps/nmea.js';

/** `$GPRMC` for `utcMs` (status A), `where` as "ddmm.mmmm,N,dddmm.mmmm,E"; `crlf` ends it as a receiver does. */
export function rmcAt(utcMs: number, o: { where?: string; crlf?: boolean } = {}): string {
  const d = new Date(utcMs);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const where = o.where ?? '4807.0380,N,01131.0000,E';
  const body = `GPRMC,${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}.000,A,${where},0.0,,${p2(d.getUTCDate())}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCFullYear() % 100)},,,A`;
  return `$${body}*${nmeaChecksum(body).toString(16).toUpperCase().padStart(2, '0')}${o.crlf ? '\r\n' : ''}`;
}
