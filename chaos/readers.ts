/** read_committed readers of a topic: kafkajs (through Partita's aborted-records filter) and Kafka's console consumer. */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { KafkaClient } from '../lib/kafka/kafkajs.ts';
import { sleep } from './harness.ts';

const END = '__chaos_end__';

/**
 * Every committed record of `topic` as a read_committed kafkajs consumer sees it. An end marker is
 * appended to every partition first; the read stops when every marker arrived.
 */
export async function readCommitted(kafka: KafkaClient, topic: string, timeoutMs = 120_000): Promise<{ key: string; value: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const partitions = (await admin.fetchTopicOffsets(topic)).map((p) => p.partition);
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: partitions.map((partition) => ({ partition, value: END })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `chaos-reader-${randomUUID()}`, maxWaitTimeInMs: 200, readUncommitted: false });
  const copies: { key: string; value: string }[] = [];
  const ended = new Set<number>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const value = message.value?.toString() ?? '';
        if (value === END) ended.add(partition);
        else if (!ended.has(partition)) copies.push({ key: message.key?.toString() ?? '', value });
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (ended.size < partitions.length) {
      if (Date.now() > deadline) throw new Error(`reading ${topic}: end markers of ${partitions.length - ended.size} partitions not seen within ${timeoutMs} ms`);
      await sleep(100);
    }
    return copies;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * The values of `topic` as Kafka's own console consumer sees them with `--isolation-level
 * read_committed` (an independent check of the kafkajs reader); it stops after 20 s without a record (its JVM start and group join count against it).
 */
export function readCommittedWithJava(broker: string, topic: string): Promise<string[]> {
  const jars = fileURLToPath(new URL('../infra/kafka/lib/', import.meta.url));
  const child = spawn('java', ['-cp', `${jars}*`, 'org.apache.kafka.tools.consumer.ConsoleConsumer', '--bootstrap-server', broker, '--topic', topic, '--from-beginning', '--isolation-level', 'read_committed', '--timeout-ms', '20000'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', () => resolve(output.split('\n').filter((line) => /^\d+@\d+$/.test(line)))));
}
