import type { OutboundMessage } from '../dispatch/message.ts';
import { errorClassName, PartitaError } from '../errors.ts';
import { createHeaders, type RawRecord } from '../kafka/records.ts';
import type { Message } from './message.ts';

/** Headers a dead-lettered message carries besides its own. */
export const DeadLetterHeaders = {
  sourceTopic: 'source-topic',
  sourcePartition: 'source-partition',
  sourceOffset: 'source-offset',
  sourceConsumerGroup: 'source-consumer-group',
  sourceAttempts: 'source-attempts',
  errorClass: 'error-class',
  errorMessage: 'error-message',
} as const;

/** Longest error message copied into a header. */
const MAX_ERROR_MESSAGE = 2000;

/**
 * The dead-letter copy of a message: original key, value and headers plus where it came from and
 * why it failed. The partition is chosen from the source partition, so the failures of one source
 * partition stay in order in the dead-letter topic while the key stays the original one.
 */
export function deadLetterMessage(
  message: Message,
  target: { topic: string; partitions: number },
  context: { groupId: string; attempts: number; error: Error },
): OutboundMessage {
  const headers = createHeaders<string>();
  for (const [name, value] of Object.entries(message.headers)) if (value !== undefined) headers[name] = value;
  Object.assign(headers, {
    [DeadLetterHeaders.sourceTopic]: message.topic,
    [DeadLetterHeaders.sourcePartition]: String(message.partition),
    [DeadLetterHeaders.sourceOffset]: String(message.offset),
    [DeadLetterHeaders.sourceConsumerGroup]: context.groupId,
    [DeadLetterHeaders.sourceAttempts]: String(context.attempts),
    [DeadLetterHeaders.errorClass]: errorClassName(context.error),
    [DeadLetterHeaders.errorMessage]: context.error.message.slice(0, MAX_ERROR_MESSAGE),
  });
  return {
    topic: target.topic,
    key: message.rawKey,
    value: message.value,
    headers,
    partition: message.partition % Math.max(target.partitions, 1),
  };
}

/** What a dead-lettered record says about itself. */
export interface DeadLetterEntry {
  /** Where it is in the dead-letter topic. */
  partition: number;
  offset: number;
  sourceTopic: string | undefined;
  sourcePartition: number | undefined;
  sourceOffset: number | undefined;
  sourceConsumerGroup: string | undefined;
  attempts: number | undefined;
  errorClass: string | undefined;
  errorMessage: string | undefined;
  /** Milliseconds since it was dead-lettered. */
  ageMs: number;
}

/** Reads the dead-letter headers of a record. */
export function describeDeadLetter(record: RawRecord, now = Date.now()): DeadLetterEntry {
  const number = (value: string | undefined) => (value === undefined || value === '' || Number.isNaN(Number(value)) ? undefined : Number(value));
  const h = record.headers;
  return {
    partition: record.partition,
    offset: record.offset,
    sourceTopic: h[DeadLetterHeaders.sourceTopic],
    sourcePartition: number(h[DeadLetterHeaders.sourcePartition]),
    sourceOffset: number(h[DeadLetterHeaders.sourceOffset]),
    sourceConsumerGroup: h[DeadLetterHeaders.sourceConsumerGroup],
    attempts: number(h[DeadLetterHeaders.sourceAttempts]),
    errorClass: h[DeadLetterHeaders.errorClass],
    errorMessage: h[DeadLetterHeaders.errorMessage],
    ageMs: Math.max(0, now - record.timestamp),
  };
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
    throw new PartitaError(`${record.topic}/${record.partition}@${record.offset} has no ${DeadLetterHeaders.sourceTopic} header; it is not a Partita dead letter`);
  }
  const deadLetterNames = new Set<string>(Object.values(DeadLetterHeaders));
  const headers = createHeaders<string>();
  for (const [name, value] of Object.entries(record.headers)) if (value !== undefined && !deadLetterNames.has(name)) headers[name] = value;
  headers[REPLAYED_FROM_HEADER] = `${record.topic}/${record.partition}@${record.offset}`;
  return { topic: sourceTopic, key: record.key, value: record.value, headers };
}
