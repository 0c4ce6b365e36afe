/**
 * When the dispatcher sends: a pure decision over its buffer. Requests are serialized (kafkajs
 * idempotence), so the only batching that costs no latency is the one that happens anyway: what
 * arrives while a request is in flight goes out together as soon as it is answered. When no
 * request is in flight, async messages go out at the end of the current event-loop turn (so that
 * messages enqueued together share a request), or after `lingerMs` when it is set.
 */

/** The dispatcher's buffer at the moment it decides. */
export interface SendState {
  /** Messages buffered, not yet in a request. */
  buffered: number;
  /** Their size, as the broker counts it (about). */
  bufferedBytes: number;
  /** A request is in flight (or being retried): the next one can only follow its answer. */
  inFlight: boolean;
  /** Someone waits for the broker now: a produceSync caller, `flush()` or `close()`. */
  urgent: boolean;
}

/** The bounds the decision reads (the dispatcher's options of the same names). */
export interface SendBounds {
  /** Most messages in one request. */
  batchSize: number;
  /** Most bytes in one request. */
  batchBytes: number;
  /** How long async messages wait for company while no request is in flight; 0: until the end of the event-loop turn. */
  lingerMs: number;
}

/**
 * - `idle`: nothing buffered.
 * - `after-answer`: a request is in flight; what is buffered goes out when it is answered.
 * - `now`: send at once (someone waits, or a full request is buffered).
 * - `end-of-turn`: send once the current event-loop turn ends (`setImmediate`).
 * - `linger`: send after `lingerMs`, unless one of the above comes first.
 */
export type SendDecision = 'idle' | 'after-answer' | 'now' | 'end-of-turn' | 'linger';

/** Decides when the buffered messages are sent. */
export function decideSend(state: SendState, bounds: SendBounds): SendDecision {
  if (state.buffered === 0) return 'idle';
  if (state.inFlight) return 'after-answer';
  if (state.urgent || state.buffered >= bounds.batchSize || state.bufferedBytes >= bounds.batchBytes) return 'now';
  return bounds.lingerMs === 0 ? 'end-of-turn' : 'linger';
}
