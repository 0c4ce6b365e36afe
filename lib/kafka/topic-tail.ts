import { randomUUID } from 'node:crypto';
import { toError } from '../errors.ts';
import { ensureTopics, withAdmin, type TopicSpec } from './admin.ts';
import { toRawRecord } from './consumer-client.ts';
import type { KafkaClient as Kafka } from './kafkajs.ts';
import type { RawRecord } from './records.ts';

/**
 * Reads the records of a topic written at or after `sinceTimestamp` (ms since the epoch) up to the
 * end offsets seen when called, without committing anything: a throwaway group whose offsets are
 * set to where the time starts, deleted afterwards. A topic that does not exist reads as empty.
 * For topics written without transactions (every offset below the end is a record). For tools.
 */
export function readTopicSince(kafka: Kafka, topic: string, sinceTimestamp: number, timeoutMs = 30_000): Promise<RawRecord[]> {
  const groupId = `partita-reader-${randomUUID()}`;
  return withAdmin(kafka, async (admin) => {
    if (!(await admin.listTopics()).includes(topic)) return [];
    const ends = await admin.fetchTopicOffsets(topic);
    const starts = new Map((await admin.fetchTopicOffsetsByTimestamp(topic, sinceTimestamp)).map((p) => [p.partition, Number(p.offset)]));
    const ranges = ends.map(({ partition, low, high }) => {
      const end = Number(high);
      const byTime = starts.get(partition) ?? end;
      const start = Math.min(end, Math.max(Number(low), byTime < 0 ? end : byTime));
      return { partition, start, end };
    });
    const wanted = ranges.reduce((sum, { start, end }) => sum + (end - start), 0);
    const records: RawRecord[] = [];
    if (wanted === 0) return records;
    try {
      await admin.setOffsets({ groupId, topic, partitions: ranges.map(({ partition, start }) => ({ partition, offset: String(start) })) });
      const endOf = new Map(ranges.map(({ partition, end }) => [partition, end]));
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`Reading ${topic} since ${new Date(sinceTimestamp).toISOString()} took longer than ${timeoutMs} ms (${records.length}/${wanted} records)`)),
            timeoutMs,
          );
          consumer
            .run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                if (Number(message.offset) >= (endOf.get(partition) ?? 0)) return;
                records.push(toRawRecord(topic, partition, message));
                if (records.length >= wanted) {
                  clearTimeout(timer);
                  resolve();
                }
              },
            })
            .catch((error: unknown) => {
              clearTimeout(timer);
              reject(toError(error));
            });
        });
      } finally {
        await consumer.disconnect();
      }
      return records.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
    } finally {
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  });
}

/** A running tail: {@link TopicTail.close} stops it and deletes its throwaway group. */
export interface TopicTail {
  /** Resolves once the tail is assigned its partitions: records written from then on reach it. */
  readonly ready: Promise<void>;
  /** Stops reading. Idempotent. */
  close(): Promise<void>;
}

/**
 * Follows topics from their current end: every record written after the tail joined is handed to
 * `onRecord`, in order per partition. Missing topics are created first from `specs` (so a tail can
 * start before any writer). A throwaway group, deleted on close; nothing is committed.
 */
export function tailTopics(kafka: Kafka, specs: readonly TopicSpec[], onRecord: (record: RawRecord) => void, onError: (error: Error) => void): TopicTail {
  // Named like the other throwaway readers, which tools leave out of group lists.
  const groupId = `partita-reader-tail-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
  let joined: () => void = () => undefined;
  const assigned = new Promise<void>((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  const started = (async () => {
    await withAdmin(kafka, (admin) => ensureTopics(admin, specs));
    await consumer.connect();
    for (const { topic } of specs) await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        try {
          onRecord(toRawRecord(topic, partition, message));
        } catch (error) {
          onError(toError(error));
        }
      },
    });
  })();
  const ready = started.then(() => assigned);
  let closed: Promise<void> | undefined;
  return {
    ready,
    close() {
      closed ??= (async () => {
        await started.catch(() => undefined);
        await consumer.disconnect().catch(() => undefined);
        await withAdmin(kafka, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
      })();
      return closed;
    },
  };
}
