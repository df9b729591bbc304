/**
 * TX_ACK bodies (PROTOCOL.TXT §5.5, §6): empty for success, else
 * `{"txpk_ack":{"error":"CODE"}}`.
 */
import { isJsonObject, parseJsonObject, show, WIRE_JSON_LIMITS } from './json-fields.js';
import { TX_ACK_ERRORS, type TxAckError } from './tx-ack-error.js';

/** Result of {@link decodeTxAckBody}: `error` null means the downlink was accepted. */
export type DecodeTxAckResult = { ok: true; error: TxAckError | null; warn?: string; value?: number } | { ok: false; reason: string };

/**
 * Body of the TX_ACK for a PULL_RESP. Success is the bare 12-byte header
 * (PF4 form); never `"error":""`, which The Things Stack records as
 * UNKNOWN_ERROR (server-rules.md).
 */
export function encodeTxAckBody(error: TxAckError | null, powerWarnDbm?: number): Buffer {
  if (error === null && powerWarnDbm !== undefined && Number.isInteger(powerWarnDbm)) {
    // Accepted at a lower power than asked: "error":"NONE" keeps it a success for The Things Stack (which
    // maps NONE, and reads a warn-only object as UNKNOWN_ERROR) and for ChirpStack (which ignores warn);
    // warn/value are sx1302_hal's fields for the power used [PROTOCOL.md v1.5, server-rules.md].
    return Buffer.from(`{"txpk_ack":{"error":"NONE","warn":"TX_POWER","value":${powerWarnDbm}}}`);
  }
  if (error === null) return Buffer.alloc(0);
  return Buffer.from(`{"txpk_ack":{"error":"${error}"}}`);
}

/**
 * Reads a TX_ACK body, accepting what both servers read the same way: empty,
 * or `{"txpk_ack":{"error":"NONE"}}`, is success; an error must be one of the
 * PROTOCOL.TXT codes. Refused (the forms servers disagree on, which a
 * forwarder must not send): `"error":""`, a txpk_ack without `error` (the
 * sx1302_hal `warn` form), and any other code such as ChirpStack's QUEUE_FULL.
 */
export function decodeTxAckBody(body: Buffer): DecodeTxAckResult {
  if (body.length === 0) return { ok: true, error: null };
  const root = parseJsonObject(body, 'TX_ACK body', WIRE_JSON_LIMITS.txAck);
  if (!root.ok) return root;
  const ack = root.value['txpk_ack'];
  if (!isJsonObject(ack)) return { ok: false, reason: 'txpk_ack missing or not a JSON object' };
  const error = ack['error'];
  if (error === undefined) return { ok: false, reason: 'txpk_ack has no error field (TTS reads that as UNKNOWN_ERROR)' };
  if (error === 'NONE') {
    const warn = ack['warn'];
    const value = ack['value'];
    return typeof warn === 'string' ? { ok: true, error: null, warn, ...(typeof value === 'number' ? { value } : {}) } : { ok: true, error: null };
  }
  if (error === '') return { ok: false, reason: 'txpk_ack error is "" (TTS reads that as UNKNOWN_ERROR; send no JSON for success)' };
  if (typeof error === 'string' && (TX_ACK_ERRORS as readonly string[]).includes(error)) {
    return { ok: true, error: error as TxAckError };
  }
  return { ok: false, reason: `txpk_ack error ${show(error)} is not a PROTOCOL.TXT code` };
}
