import type { Message as KafkaMessage } from '../../lib/kafka/kafkajs.ts';
import { encodeEnvelope } from '../../lib/job/envelope.ts';
import { rawKafka } from './kafka.ts';

/** A job message as Partita's dispatcher would write it, built without the dispatcher. */
export function jobMessage(topic: string, jobClass: string, id: string, key: string | undefined, args: unknown[], partition?: number): KafkaMessage {
  const encoded = encodeEnvelope(
    { job_class: jobClass, job_id: id, queue_name: topic, arguments: args, executions: 0, exception_executions: {}, enqueued_at: new Date().toISOString() },
    key,
  );
  return { key: encoded.key, value: encoded.value, headers: encoded.headers, ...(partition === undefined ? {} : { partition }) };
}

/** Produces messages with a plain kafkajs producer, `perRequest` at a time. */
export async function produceRaw(topic: string, messages: KafkaMessage[], perRequest = 1000): Promise<void> {
  const producer = rawKafka().producer();
  await producer.connect();
  try {
    for (let start = 0; start < messages.length; start += perRequest) {
      await producer.send({ topic, messages: messages.slice(start, start + perRequest) });
    }
  } finally {
    await producer.disconnect();
  }
}
