/**
 * Semtech UDP protocol v2 datagram framing (PROTOCOL.TXT §3, §5): one type per
 * packet, symmetric encode/decode, no I/O. The JSON bodies are carried as
 * bytes here and parsed by their own modules (push-data, txpk, tx-ack).
 */

/** Protocol version byte we speak and accept [PF4 PROTOCOL_VERSION]. */
export const PROTOCOL_VERSION = 2;

/** Packet identifiers, byte 3 of every datagram [PROTOCOL.TXT §3-5, PF4]. */
export const PACKET_ID = {
  PUSH_DATA: 0x00,
  PUSH_ACK: 0x01,
  PULL_DATA: 0x02,
  PULL_RESP: 0x03,
  PULL_ACK: 0x04,
  TX_ACK: 0x05,
} as const;

/** Name of a packet type. */
export type PacketType = keyof typeof PACKET_ID;

/** Bytes before the JSON of PUSH_DATA, PULL_DATA and TX_ACK: version, token, id, gateway EUI. */
export const LONG_HEADER_BYTES = 12;
/** Bytes of PUSH_ACK, PULL_ACK and the header of PULL_RESP: version, token, id. */
export const SHORT_HEADER_BYTES = 4;
/** Largest UDP payload over IPv4 (65535 − 8 UDP − 20 IP). */
export const MAX_DATAGRAM_BYTES = 65_507;

/**
 * Gateway → server: received packets and/or status. `token` is bytes 1-2 read
 * big-endian, so writing it back reproduces the bytes whatever endianness the
 * peer uses (ChirpStack reads them little-endian).
 */
export interface PushData {
  type: 'PUSH_DATA';
  token: number;
  /** 8 bytes, most significant first. */
  gatewayEui: Buffer;
  /** JSON object text (push-data.ts). */
  body: Buffer;
}

/** Server → gateway: acknowledges the PUSH_DATA with the same token. */
export interface PushAck {
  type: 'PUSH_ACK';
  token: number;
}

/** Gateway → server: keepalive that opens the downlink route. */
export interface PullData {
  type: 'PULL_DATA';
  token: number;
  gatewayEui: Buffer;
}

/** Server → gateway: a downlink request (txpk.ts). Its token comes back in the TX_ACK. */
export interface PullResp {
  type: 'PULL_RESP';
  token: number;
  body: Buffer;
}

/** Server → gateway: acknowledges the PULL_DATA with the same token. */
export interface PullAck {
  type: 'PULL_ACK';
  token: number;
}

/** Gateway → server: outcome of a PULL_RESP; an empty body means success (tx-ack.ts). */
export interface TxAck {
  type: 'TX_ACK';
  token: number;
  gatewayEui: Buffer;
  body: Buffer;
}

/** Any datagram of the protocol. */
export type UdpPacket = PushData | PushAck | PullData | PullResp | PullAck | TxAck;

/** Result of {@link decodePacket}. */
export type DecodePacketResult = { ok: true; packet: UdpPacket } | { ok: false; reason: string };

const TYPE_BY_ID: readonly PacketType[] = ['PUSH_DATA', 'PUSH_ACK', 'PULL_DATA', 'PULL_RESP', 'PULL_ACK', 'TX_ACK'];

const OPEN_BRACE = 0x7b;

function invalidPacket(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_INVALID_PACKET' });
}

/**
 * Writes a datagram. Throws (code ERR_INVALID_PACKET) on programmer errors
 * only: a token outside 0..65535, an EUI that is not 8 bytes, a JSON body that
 * does not start with `{` or is empty where one is required, or a datagram
 * over {@link MAX_DATAGRAM_BYTES}. Whatever this writes, {@link decodePacket} reads back.
 */
export function encodePacket(p: UdpPacket): Buffer {
  if (!Number.isInteger(p.token) || p.token < 0 || p.token > 0xffff) {
    throw invalidPacket(`${p.type} token ${p.token} is not in 0..65535`);
  }
  const eui = 'gatewayEui' in p ? p.gatewayEui : undefined;
  if (eui !== undefined && eui.length !== 8) throw invalidPacket(`${p.type} gateway EUI has ${eui.length} bytes, not 8`);
  const body = 'body' in p ? p.body : undefined;
  if (body !== undefined) {
    const emptyAllowed = p.type === 'TX_ACK';
    if (body.length === 0 && !emptyAllowed) throw invalidPacket(`${p.type} needs a JSON body`);
    if (body.length > 0 && body[0] !== OPEN_BRACE) throw invalidPacket(`${p.type} body does not start with {`);
  }
  const size = SHORT_HEADER_BYTES + (eui ? 8 : 0) + (body ? body.length : 0);
  if (size > MAX_DATAGRAM_BYTES) throw invalidPacket(`${p.type} of ${size} bytes exceeds ${MAX_DATAGRAM_BYTES}`);
  const out = Buffer.alloc(size);
  out[0] = PROTOCOL_VERSION;
  out.writeUInt16BE(p.token, 1);
  out[3] = PACKET_ID[p.type];
  let at = SHORT_HEADER_BYTES;
  if (eui) at += eui.copy(out, at);
  if (body) body.copy(out, at);
  return out;
}

/**
 * Reads a datagram, or says why it is not one we accept:
 * - shorter than 4 bytes, longer than {@link MAX_DATAGRAM_BYTES};
 * - version other than 2. ChirpStack also accepts 1, but v1 has no TX_ACK and
 *   we only speak v2, like PF4;
 * - unknown identifier;
 * - PUSH_DATA and TX_ACK shorter than 12 bytes; PUSH_DATA and PULL_RESP without
 *   a body starting with `{`; a TX_ACK body that is not empty and does not
 *   start with `{`. Nothing else of the JSON is checked here.
 * - PULL_DATA must be exactly 12 bytes (ChirpStack's rule; trailing bytes mean
 *   a peer that frames differently).
 * PUSH_ACK and PULL_ACK need 4 bytes and any trailing bytes are ignored, as
 * PF4 does (it only reads the first 4): losing acks to a quirky server costs
 * more than tolerating padding.
 */
export function decodePacket(buf: Buffer): DecodePacketResult {
  if (buf.length < SHORT_HEADER_BYTES) return fail(`too short (${buf.length} bytes)`);
  if (buf.length > MAX_DATAGRAM_BYTES) return fail(`too long (${buf.length} bytes > ${MAX_DATAGRAM_BYTES})`);
  const version = buf[0]!;
  if (version !== PROTOCOL_VERSION) return fail(`unsupported protocol version ${version}`);
  const token = buf.readUInt16BE(1);
  const id = buf[3]!;
  const type = TYPE_BY_ID[id];
  if (type === undefined) return fail(`unknown packet type ${id}`);
  switch (type) {
    case 'PUSH_ACK':
    case 'PULL_ACK':
      return { ok: true, packet: { type, token } };
    case 'PULL_RESP': {
      const body = Buffer.from(buf.subarray(SHORT_HEADER_BYTES));
      if (body.length === 0) return fail('PULL_RESP has no JSON body');
      if (body[0] !== OPEN_BRACE) return fail('PULL_RESP body does not start with {');
      return { ok: true, packet: { type, token, body } };
    }
    case 'PULL_DATA':
      if (buf.length !== LONG_HEADER_BYTES) return fail(`PULL_DATA must be exactly 12 bytes (${buf.length})`);
      return { ok: true, packet: { type, token, gatewayEui: Buffer.from(buf.subarray(4, 12)) } };
    case 'PUSH_DATA':
    case 'TX_ACK': {
      if (buf.length < LONG_HEADER_BYTES) return fail(`${type} shorter than 12-byte header (${buf.length} bytes)`);
      const gatewayEui = Buffer.from(buf.subarray(4, LONG_HEADER_BYTES));
      const body = Buffer.from(buf.subarray(LONG_HEADER_BYTES));
      if (type === 'PUSH_DATA' && body.length === 0) return fail('PUSH_DATA has no JSON body');
      if (body.length > 0 && body[0] !== OPEN_BRACE) return fail(`${type} body does not start with {`);
      return { ok: true, packet: { type, token, gatewayEui, body } };
    }
  }
}

function fail(reason: string): DecodePacketResult {
  return { ok: false, reason };
}
