import type { KafkaClient as Kafka } from './kafkajs.ts';
import { PartitionReader } from './partition-reader.ts';
import type { RawRecord } from './records.ts';

/**
 * Reads every committed record of a topic from its start up to the end offsets seen when called,
 * partition by partition, by position (transaction markers and aborted records take offsets and
 * are stepped over), without a consumer group. Holds the whole topic in memory: for tools and
 * fault checks on bounded topics; pages of large ones go through {@link PartitionReader}.
 */
export async function readTopicSnapshot(kafka: Kafka, topic: string): Promise<RawRecord[]> {
  const reader = new PartitionReader(kafka);
  try {
    const records: RawRecord[] = [];
    for (const { partition, low, high } of await reader.offsets(topic)) {
      records.push(...(await reader.read(topic, partition, low, high)).records);
    }
    return records;
  } finally {
    await reader.close();
  }
}
