import { randomUUID } from 'node:crypto';
import { withAdmin } from './admin.ts';
import { toRawRecord } from './consumer-client.ts';
import type { KafkaClient as Kafka } from './kafkajs.ts';
import type { RawRecord } from './records.ts';

/**
 * Reads the committed records of a topic (read_committed: records of aborted or open
 * transactions are never seen) from its start up to its committed end when called (the last
 * stable offset, which kafkajs's admin reports as `high`: records of a transaction still open are
 * beyond it), through a throwaway consumer group that commits nothing and is deleted afterwards.
 * The end is found by position, not by count: commit markers and aborted records take offsets but
 * are never delivered, so a partition is read once kafkajs has moved past its end (it reports
 * batches that held only such records as well). A writer that must see everything a previous
 * writer could still commit fences it first (its open transaction is then aborted).
 */
export function readCommittedRecords(kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<RawRecord[]> {
  const groupId = `partita-reader-${randomUUID()}`;
  return withAdmin(kafka, async (admin) => {
    try {
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
      const unread = new Set([...ends].filter(([, { low, high }]) => high > low).map(([partition]) => partition));
      const records: RawRecord[] = [];
      if (unread.size === 0) return records;
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, readUncommitted: false });
      let reached: (() => void) | undefined;
      const passed = (partition: number, lastOffset: number) => {
        if (lastOffset + 1 >= (ends.get(partition)?.high ?? 0)) unread.delete(partition);
        if (unread.size === 0) reached?.();
      };
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => passed(payload.partition, Number(payload.lastOffset)));
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`Reading ${topic} to its end took longer than ${timeoutMs} ms (partitions ${[...unread].join(', ')} not read to the end)`)),
            timeoutMs,
          );
          reached = () => {
            clearTimeout(timer);
            resolve();
          };
          void consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (const message of batch.messages) {
                if (Number(message.offset) < (ends.get(batch.partition)?.high ?? 0)) records.push(toRawRecord(topic, batch.partition, message));
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
