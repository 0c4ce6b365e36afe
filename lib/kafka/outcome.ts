/**
 * Errors after which nobody knows whether the broker carried the request out: a request that timed
 * out, a connection lost with the request in flight, a write the broker appended but could not
 * replicate in time. A transactional producer that saw one is not reused: its sequence numbers and
 * transaction state may disagree with the broker's (the advice of Jepsen's 2024 Kafka analysis).
 * Definite failures (fenced, invalid state, refused before anything was written) are not in this set.
 */
const UNKNOWN_OUTCOME_ERRORS = new Set(['KafkaJSRequestTimeoutError', 'KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSTimeout']);
const UNKNOWN_OUTCOME_PROTOCOL_TYPES = new Set(['REQUEST_TIMED_OUT', 'NETWORK_EXCEPTION', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND']);
/** How deep the `cause` chain is followed (kafkajs wraps the last attempt's error in a retries error). */
const MAX_CAUSE_DEPTH = 8;

/** True when `error`, or an error it was caused by, leaves the outcome of the request unknown. */
export function outcomeUnknown(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current instanceof Error; depth += 1) {
    if (UNKNOWN_OUTCOME_ERRORS.has(current.name)) return true;
    const type = (current as { type?: unknown }).type;
    if (current.name === 'KafkaJSProtocolError' && typeof type === 'string' && UNKNOWN_OUTCOME_PROTOCOL_TYPES.has(type)) return true;
    current = current.cause;
  }
  return false;
}
