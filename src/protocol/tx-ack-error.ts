/**
 * TX_ACK error vocabulary (PROTOCOL.TXT section 6, plus the names ChirpStack
 * Gateway Bridge also accepts: see shared/reference/server-rules.md).
 * Success is not an error: it is sent as a bare 12-byte TX_ACK.
 */
export type TxAckError =
  | 'TOO_LATE'
  | 'TOO_EARLY'
  | 'COLLISION_PACKET'
  | 'COLLISION_BEACON'
  | 'TX_FREQ'
  | 'TX_POWER'
  | 'GPS_UNLOCKED'
  /** Not in PROTOCOL.TXT: ChirpStack's concentratord name, accepted by The Things Stack (server-rules.md). */
  | 'DUTY_CYCLE_OVERFLOW';

/** Every TX_ACK error code, in PROTOCOL.TXT order. */
export const TX_ACK_ERRORS: readonly TxAckError[] = [
  'TOO_LATE',
  'TOO_EARLY',
  'COLLISION_PACKET',
  'COLLISION_BEACON',
  'TX_FREQ',
  'TX_POWER',
  'GPS_UNLOCKED',
  'DUTY_CYCLE_OVERFLOW',
];
