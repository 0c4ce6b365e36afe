import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin, type KafkaClient } from '../../lib/kafka/kafkajs.ts';
import { startLocalBroker, type LocalBroker } from '../../lib/local-broker/index.ts';
import type { OffsetAndMetadata } from '../../lib/kafka/records.ts';

let brokers: string[] | undefined;
let broker: LocalBroker | undefined;

/**
 * The broker of the specs that use this module, as root hooks registered when mocha loads the first
 * of them (a run of unit specs alone loads none and starts no broker): KAFKA_BROKERS, one already on
 * 127.0.0.1:9092, or one started from infra/kafka and stopped afterwards. Scripts that import this
 * module outside mocha (benchmarks, worker processes) get no hooks.
 */
if (typeof before === 'function') {
  before(async function () {
    this.timeout(600_000);
    broker = await startLocalBroker();
    brokers = broker.brokers;
  });
  after(async function () {
    this.timeout(120_000);
    if (broker?.started) await broker.stop();
  });
}

/** Brokers of the test cluster. */
export function testBrokers(): string[] {
  if (!brokers) throw new Error('No broker: specs that talk to Kafka run under mocha, whose root hooks from this module start or find one');
  return brokers;
}

/** A name no other spec uses. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A kafkajs client for checking what is on the broker, independent of Partita. */
export function rawKafka(): KafkaClient {
  return new Kafka({ clientId: 'spec-observer', brokers: testBrokers(), logLevel: logLevel.NOTHING });
}

export async function withAdmin<T>(body: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = rawKafka().admin();
  await admin.connect();
  try {
    return await body(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Creates a topic and waits until every partition has a leader. kafkajs's own wait can fail with a
 * transient metadata error on a busy broker; the topic exists by then, so the wait is redone here.
 */
export async function createTopic(topic: string, partitions: number): Promise<string> {
  await withAdmin(async (admin) => {
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] });
    } catch (error) {
      if (!(await admin.listTopics()).includes(topic)) throw error;
    }
    await waitFor(
      async () => {
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
        const found = metadata?.topics.find((t) => t.name === topic);
        return found !== undefined && found.partitions.length === partitions && found.partitions.every((p) => p.leader >= 0);
      },
      { what: `leaders for ${topic}`, timeoutMs: 30_000 },
    );
  });
  return topic;
}

/** End offset (high watermark) per partition. */
export async function endOffsets(topic: string): Promise<Map<number, number>> {
  return withAdmin(async (admin) => new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)])));
}

/** Committed offset (and metadata) per partition for a group. */
export async function committedOffsets(groupId: string, topic: string): Promise<Map<number, OffsetAndMetadata>> {
  return withAdmin(async (admin) => {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, { offset: Number(p.offset), metadata: p.metadata ?? null }]));
  });
}

/** Every message on a topic, read from the beginning by a plain kafkajs consumer. */
export async function readAll(topic: string, expected: number, timeoutMs = 60_000): Promise<{ partition: number; offset: number; key: string | null; value: Buffer | null; headers: Record<string, string> }[]> {
  const consumer = rawKafka().consumer({ groupId: unique('spec-reader'), maxWaitTimeInMs: 200 });
  const seen: { partition: number; offset: number; key: string | null; value: Buffer | null; headers: Record<string, string> }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
        seen.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value: message.value, headers });
      },
    });
    await waitFor(() => seen.length >= expected, { timeoutMs, what: `${expected} messages on ${topic} (have ${seen.length})` });
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

/** Waits until `condition` holds, polling; fails with `what` after the timeout. */
export async function waitFor(condition: () => boolean | Promise<boolean>, options: { timeoutMs?: number; what?: string; intervalMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${options.what ?? 'a condition'}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}

/**
 * Values on a topic as a read_committed (default) or read_uncommitted reader sees them. An end
 * marker is appended to every partition first; the read stops when every marker arrived, so all
 * that was (or, read_committed, ever will be) visible before it has been seen.
 */
export async function visibleValues(topic: string, options: { uncommitted?: boolean } = {}): Promise<string[]> {
  const END = unique('__spec_end__');
  const partitions = [...(await endOffsets(topic)).keys()];
  const producer = rawKafka().producer();
  await producer.connect();
  await producer.send({ topic, messages: partitions.map((partition) => ({ partition, value: END })) });
  await producer.disconnect();
  const consumer = rawKafka().consumer({ groupId: unique('spec-visible'), maxWaitTimeInMs: 100, readUncommitted: options.uncommitted ?? false });
  const values: string[] = [];
  const ended = new Set<number>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const value = message.value?.toString() ?? '';
        if (value === END) ended.add(partition);
        else if (!ended.has(partition) && !value.startsWith('__spec_end__')) values.push(value);
      },
    });
    await waitFor(() => ended.size === partitions.length, { what: `end markers on every partition of ${topic}`, timeoutMs: 60_000 });
    return values;
  } finally {
    await consumer.disconnect();
  }
}
