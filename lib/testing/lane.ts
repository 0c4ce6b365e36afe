import type { Dispatcher } from '../dispatch/dispatcher.ts';
import { attachContext, attemptMemoryOf, consumeLane, type AttemptMemory, type Consumer } from '../consume/consumer.ts';
import { Message } from '../kafka/inbound-message.ts';
import { WorkerEmitter } from '../consume/worker-events.ts';
import { TransactionError } from '../errors.ts';
import { createHeaders, type OffsetAndMetadata } from '../kafka/records.ts';

/** Where a test lane runs and what it records. @internal */
export interface TestLaneSettings {
  topic: string;
  partition: number;
  committedMetadata: string | null;
  dispatcher: Dispatcher;
  events: WorkerEmitter;
  marks: OffsetAndMetadata[];
  /** Attempt memory per offset, kept across in-place retries like the engine's. */
  attempts: Map<number, AttemptMemory>;
}

const NEVER_ABORTED = new AbortController().signal;

/**
 * Runs one lane of `consumer` on `messages` the way the partition processor does: the same
 * `attachContext` seam and `consumeLane` runner (delivery scope, deferred marks), with a context
 * whose marks are recorded instead of committed. There is no broker: transactions are refused and
 * the lane is never revoked or stopped. @internal
 */
export async function runTestLane(consumer: Consumer, messages: Message[], settings: TestLaneSettings): Promise<void> {
  attachContext(consumer, {
    topic: settings.topic,
    partition: settings.partition,
    lane: 0,
    collapsed: false,
    signal: NEVER_ABORTED,
    committedMetadata: settings.committedMetadata,
    events: settings.events,
    mark: (message, metadata) => {
      if (message.topic !== settings.topic || message.partition !== settings.partition) return false;
      settings.marks.push({ offset: message.offset, metadata });
      return true;
    },
    shouldStop: () => false,
    stopSignal: NEVER_ABORTED,
    holdFetching: () => {},
    attemptsOf: (offset) => attemptMemoryOf(settings.attempts, offset),
    transaction: () =>
      Promise.reject(
        new TransactionError(
          `A transaction on ${settings.topic}/${settings.partition} needs a broker: partita/testing runs consumers and jobs without one. ` +
            'Test the transactional path in an integration spec against Kafka.',
        ),
      ),
    dispatcher: () => settings.dispatcher,
  });
  await consumeLane(consumer, messages);
}

/** A consumed message built from parts, as a worker would hand it over. @internal */
export function testMessage(parts: {
  topic: string;
  partition: number;
  offset: number;
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers: Readonly<Record<string, string | undefined>>;
  timestamp: number;
}): Message {
  const headers = createHeaders();
  Object.assign(headers, parts.headers);
  return new Message({
    topic: parts.topic,
    partition: parts.partition,
    offset: parts.offset,
    key: parts.key === null ? null : Buffer.from(parts.key),
    value: parts.value === null ? null : Buffer.from(parts.value),
    headers,
    timestamp: parts.timestamp,
  });
}
