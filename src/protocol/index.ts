/**
 * Semtech UDP protocol v2: pure codecs for the datagrams and their JSON
 * objects. No sockets, no clocks: callers pass time in.
 */
export {
  decodePacket,
  encodePacket,
  LONG_HEADER_BYTES,
  MAX_DATAGRAM_BYTES,
  PACKET_ID,
  PROTOCOL_VERSION,
  SHORT_HEADER_BYTES,
  type DecodePacketResult,
  type PacketType,
  type PullAck,
  type PullData,
  type PullResp,
  type PushAck,
  type PushData,
  type TxAck,
  type UdpPacket,
} from './packets.js';
export { checkRxpkText, decodeRxpk, encodeRxpk, rxPacketToRxpk, rxpkToRxPacket, type DecodeRxpkResult, type Rxpk, type RxTime } from './rxpk.js';
export { decodeStat, encodeStat, makeStat, type DecodeStatResult, type Stat, type StatCounters, type StatLocation } from './stat.js';
export {
  buildPushDataBodies,
  planPushDataBodies,
  type PushDataBody,
  DEFAULT_PUSH_DATA_BODY_MAX_BYTES,
  parsePushDataBody,
  PF4_PUSH_DATA_MAX_BYTES,
  type ParsePushDataResult,
} from './push-data.js';
export {
  encodePullRespBody,
  encodeTxpk,
  parsePullRespBody,
  PREAMBLE,
  txFreqHz,
  txRequestToTxpk,
  type ParsePullRespResult,
  type TxRequest,
  type TxTiming,
  type Txpk,
} from './txpk.js';
export { decodeTxAckBody, encodeTxAckBody, type DecodeTxAckResult } from './tx-ack.js';
export { TX_ACK_ERRORS, type TxAckError } from './tx-ack-error.js';
export { decodeBase64Strict, formatFixed, formatFreqMhz } from './wire-format.js';
export { datrOf } from './datarate.js';
export { WIRE_JSON_LIMITS } from './json-fields.js';
