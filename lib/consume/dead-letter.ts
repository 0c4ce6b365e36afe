import { messageBytes, type OutboundMessage } from '../kafka/outbound-message.ts';
import { describeCoordinates, errorClassName, MessageTooLargeError, PartitaError } from '../errors.ts';
import { createHeaders, type RawRecord } from '../kafka/records.ts';
import type { Message } from '../kafka/inbound-message.ts';

/** Headers a dead-lettered message carries besides its own. */
export const DeadLetterHeaders = {
  /** The topic the message was consumed from. */
  sourceTopic: 'source-topic',
  /** Its partition there. */
  sourcePartition: 'source-partition',
  /** Its offset there. */
  sourceOffset: 'source-offset',
  /** The consumer group that gave up on it. */
  sourceConsumerGroup: 'source-consumer-group',
  /** How many attempts failed. */
  sourceAttempts: 'source-attempts',
  /** The class name of the last error. */
  errorClass: 'error-class',
  /** The message of the last error. */
  errorMessage: 'error-message',
  /**
   * Only on a copy that would not fit the dead-letter topic: what was left out of it, comma
   * separated, from `value`, `headers` (the original ones), `key`. The original record stays at
   * its source coordinates while the source topic retains it.
   */
  dropped: 'dead-letter-dropped',
  /** With `dead-letter-dropped`: the size in bytes the whole copy would have had. */
  fullBytes: 'dead-letter-full-bytes',
} as const;

/** A part of the original message a dead-letter copy can leave out to fit. */
export type DroppedPart = 'value' | 'headers' | 'key';

/** Longest error message copied into a header. */
const MAX_ERROR_MESSAGE = 2000;

/** Longest error message in a copy that had to leave the original's key out. */
const MAX_ERROR_MESSAGE_SMALLEST = 200;

/**
 * The broker's default `max.message.bytes` (topic) and `message.max.bytes` (broker): the largest
 * record batch it accepts, counted with the batch's own framing.
 */
export const DEFAULT_TOPIC_MAX_MESSAGE_BYTES = 1_048_588;

/** The framing of a record batch holding one record (its header: offsets, ids, CRC, counts). */
const RECORD_BATCH_HEADER_BYTES = 61;

/** Where a dead-letter copy goes and the most bytes one copy may take there. */
export interface DeadLetterTarget {
  topic: string;
  partitions: number;
  /**
   * Most bytes of one copy as the dispatcher counts them (`messageBytes`): the dispatcher's
   * `maxMessageBytes`, and below the topic's `max.message.bytes` with the batch framing counted.
   */
  maxBytes: number;
}

/** A dead-letter copy, and what it had to leave out to fit its topic. */
export interface DeadLetterCopy {
  message: OutboundMessage;
  /** Empty when the copy is whole. */
  dropped: DroppedPart[];
  /** Bytes of the whole copy (as the dispatcher counts them). */
  fullBytes: number;
}

/**
 * The largest copy the dispatcher may send to a topic whose `max.message.bytes` is
 * `topicMaxMessageBytes`, given the dispatcher's own `maxMessageBytes`. The wire size of a record
 * is above the dispatcher's count by the batch framing and a few length varints per header; this
 * bound is checked again for every copy by {@link recordBatchBytes}.
 */
export function deadLetterMaxBytes(dispatcherMaxMessageBytes: number, topicMaxMessageBytes = DEFAULT_TOPIC_MAX_MESSAGE_BYTES): number {
  return Math.min(dispatcherMaxMessageBytes, topicMaxMessageBytes);
}

/**
 * The dead-letter copy of a message: original key, value and headers plus where it came from and
 * why it failed. The partition is chosen from the source partition, so the failures of one source
 * partition stay in order in the dead-letter topic while the key stays the original one.
 *
 * A copy that would not fit `target.maxBytes` (counted as the broker counts a one-record batch)
 * leaves out, in this order, until it fits: the value; then the original headers; then the key
 * (with the error message cut to 200 characters). `dead-letter-dropped` names what is missing and
 * `dead-letter-full-bytes` the size of the whole copy. The same message and error always give the
 * same copy.
 */
export function deadLetterMessage(
  message: Message,
  target: DeadLetterTarget,
  context: DeadLetterContext,
): DeadLetterCopy {
  const whole = buildCopy(message, target, context, [], 0);
  const fullBytes = messageBytes(whole);
  const fits = (copy: OutboundMessage) => messageBytes(copy) <= target.maxBytes && recordBatchBytes(copy) <= target.maxBytes;
  if (fits(whole)) return { message: whole, dropped: [], fullBytes };
  for (const dropped of [['value'], ['value', 'headers']] satisfies DroppedPart[][]) {
    const copy = buildCopy(message, target, context, dropped, fullBytes);
    if (fits(copy)) return { message: copy, dropped, fullBytes };
  }
  return smallestDeadLetterCopy(message, target, context);
}

/**
 * The smallest dead-letter copy: no value, no original headers, no key, the error message cut to
 * 200 characters. The last resort, also when the broker refused a larger copy for its size.
 */
export function smallestDeadLetterCopy(message: Message, target: DeadLetterTarget, context: DeadLetterContext): DeadLetterCopy {
  const dropped: DroppedPart[] = ['value', 'headers', 'key'];
  const fullBytes = messageBytes(buildCopy(message, target, context, [], 0));
  return { message: buildCopy(message, target, context, dropped, fullBytes), dropped, fullBytes };
}

/** Why and from where a message is dead-lettered. */
export interface DeadLetterContext {
  groupId: string;
  attempts: number;
  error: Error;
}

function buildCopy(message: Message, target: DeadLetterTarget, context: DeadLetterContext, dropped: readonly DroppedPart[], fullBytes: number): OutboundMessage {
  const headers = createHeaders<string>();
  if (!dropped.includes('headers')) {
    for (const [name, value] of Object.entries(message.headers)) if (value !== undefined) headers[name] = value;
  }
  const errorLength = dropped.includes('key') ? MAX_ERROR_MESSAGE_SMALLEST : MAX_ERROR_MESSAGE;
  Object.assign(headers, {
    [DeadLetterHeaders.sourceTopic]: message.topic,
    [DeadLetterHeaders.sourcePartition]: String(message.partition),
    [DeadLetterHeaders.sourceOffset]: String(message.offset),
    [DeadLetterHeaders.sourceConsumerGroup]: context.groupId,
    [DeadLetterHeaders.sourceAttempts]: String(context.attempts),
    [DeadLetterHeaders.errorClass]: errorClassName(context.error),
    [DeadLetterHeaders.errorMessage]: context.error.message.slice(0, errorLength),
  });
  if (dropped.length > 0) {
    headers[DeadLetterHeaders.dropped] = dropped.join(',');
    headers[DeadLetterHeaders.fullBytes] = String(fullBytes);
  }
  return {
    topic: target.topic,
    key: dropped.includes('key') ? null : message.rawKey,
    value: dropped.includes('value') ? null : message.value,
    headers,
    partition: message.partition % Math.max(target.partitions, 1),
  };
}

/**
 * The size of a record batch holding `message` alone, as the broker counts it against
 * `max.message.bytes`: the batch header, then the record with its varint lengths (uncompressed;
 * compression only makes it smaller).
 */
export function recordBatchBytes(message: OutboundMessage): number {
  const key = byteLength(message.key);
  const value = byteLength(message.value);
  const headers = Object.entries(message.headers);
  let body = 1 + varintBytes(0) + varintBytes(0); // attributes, timestamp delta, offset delta
  body += message.key === null ? varintBytes(-1) : varintBytes(key) + key;
  body += message.value === null ? varintBytes(-1) : varintBytes(value) + value;
  body += varintBytes(headers.length);
  for (const [name, headerValue] of headers) {
    const nameBytes = Buffer.byteLength(name);
    const valueBytes = Buffer.byteLength(headerValue);
    body += varintBytes(nameBytes) + nameBytes + varintBytes(valueBytes) + valueBytes;
  }
  // The timestamp delta of a one-record batch is 0; a wide margin covers any other value.
  return RECORD_BATCH_HEADER_BYTES + varintBytes(body) + body + 8;
}

/** Bytes of a zigzag varint. */
function varintBytes(value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (zigzag >= 128) {
    zigzag = Math.floor(zigzag / 128);
    bytes += 1;
  }
  return bytes;
}

function byteLength(value: string | Buffer | null): number {
  if (value === null) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/**
 * True when `error` says the broker (or the dispatcher) refused a message for its size: a
 * smaller copy may go through where the same one never will.
 */
export function isTooLargeError(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth += 1) {
    if (cause instanceof MessageTooLargeError) return true;
    const type = (cause as { type?: unknown }).type;
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
    // kafkajs's retrier wraps protocol errors and keeps only their message.
    if (/larger than the max message size the server will accept|message batch larger than the configured segment size/.test(cause.message)) return true;
  }
  return false;
}

/** Header naming the dead letter a replayed message came from. */
export const REPLAYED_FROM_HEADER = 'replayed-from';

/**
 * The message that sends a dead letter back to its source topic: original key, value and headers,
 * without the dead-letter headers, plus `replayed-from`. Throws when the source topic is unknown.
 */
export function replayMessage(record: RawRecord): OutboundMessage {
  const sourceTopic = record.headers[DeadLetterHeaders.sourceTopic];
  if (!sourceTopic) {
    throw new PartitaError(`${describeCoordinates(record)} has no ${DeadLetterHeaders.sourceTopic} header; it is not a Partita dead letter`);
  }
  const dropped = record.headers[DeadLetterHeaders.dropped];
  if (dropped) {
    throw new PartitaError(
      `${describeCoordinates(record)} is a reduced dead letter without its ${dropped} (it did not fit the topic); ` +
        `replay the original from ${sourceTopic}/${record.headers[DeadLetterHeaders.sourcePartition]}@${record.headers[DeadLetterHeaders.sourceOffset]} while its topic retains it`,
    );
  }
  const deadLetterNames = new Set<string>(Object.values(DeadLetterHeaders));
  const headers = createHeaders<string>();
  for (const [name, value] of Object.entries(record.headers)) if (value !== undefined && !deadLetterNames.has(name)) headers[name] = value;
  headers[REPLAYED_FROM_HEADER] = `${describeCoordinates(record)}`;
  return { topic: sourceTopic, key: record.key, value: record.value, headers };
}
