import type { OutboundMessage } from '../dispatch/message.ts';
import { errorClassName } from '../errors.ts';
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
  const headers: Record<string, string> = {};
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
