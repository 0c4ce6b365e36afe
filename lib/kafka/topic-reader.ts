import { randomUUID } from 'node:crypto';
import { withAdmin } from './admin.ts';
import { toRawRecord } from './consumer-client.ts';
import type { KafkaClient as Kafka } from './kafkajs.ts';
import type { RawRecord } from './records.ts';

/**
 * Reads every record of a topic from its start up to the end offsets seen when called, without
 * committing anything (a throwaway group, deleted afterwards). For tools, not for workers.
 */
export function readTopicSnapshot(kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<RawRecord[]> {
  const groupId = `partita-reader-${randomUUID()}`;
  return withAdmin(kafka, async (admin) => {
    try {
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
      const wanted = [...ends.values()].reduce((sum, { low, high }) => sum + (high - low), 0);
      const records: RawRecord[] = [];
      if (wanted === 0) return records;
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`Reading ${topic} took longer than ${timeoutMs} ms (${records.length}/${wanted} records)`)), timeoutMs);
          void consumer.run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              if (Number(message.offset) >= (ends.get(partition)?.high ?? 0)) return;
              records.push(toRawRecord(topic, partition, message));
              if (records.length >= wanted) {
                clearTimeout(timer);
                resolve();
              }
            },
          });
        });
      } finally {
        await consumer.disconnect();
      }
      return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    } finally {
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  });
}
