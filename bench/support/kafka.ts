/** Topics and groups of one bench run: unique names, created with a kafkajs admin, deleted at the end. */
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { benchJob, rawJobMessage } from '../jobs.ts';
import { filler } from './payload.ts';

/**
 * Messages per partition in one pre-filling `sendBatch`: 625 × 544 bytes stays well under the
 * broker's 1 MB limit on a partition's record batch. A `sendBatch` carries at most `PREFILL_MAX`.
 */
const PREFILL_PER_PARTITION = 625;
const PREFILL_MAX = 10_000;

export class BenchKafka {
  readonly brokers: string[];
  readonly runId: string;
  readonly #kafka: Kafka;
  readonly #admin: Admin;
  /** Partitions of each topic this run created, by name. */
  readonly #created = new Map<string, number>();

  constructor(brokers: string[], runId: string) {
    this.brokers = brokers;
    this.runId = runId;
    this.#kafka = new Kafka({ brokers, clientId: 'bench-admin', logLevel: logLevel.NOTHING });
    this.#admin = this.#kafka.admin();
  }

  connect(): Promise<void> {
    return this.#admin.connect();
  }

  /** The name of this run's topic `name`. */
  topicName(name: string): string {
    return `bench.${this.runId}.${name}`;
  }

  /** Creates this run's topic `name` with `partitions` partitions and returns its full name. */
  async createTopic(name: string, partitions: number): Promise<string> {
    const topic = this.topicName(name);
    await this.#admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
    this.#created.set(topic, partitions);
    return topic;
  }

  /** Creates this run's topics `names` (one request) with `partitions` partitions each; returns their full names. */
  async createTopics(names: string[], partitions: number): Promise<string[]> {
    const topics = names.map((name) => this.topicName(name));
    await this.#admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
    for (const topic of topics) this.#created.set(topic, partitions);
    return topics;
  }

  /** A consumer group name unique to this run. */
  group(name: string): string {
    return `bench-${this.runId}-${name}`;
  }

  /** Fills `topic` (created by this run) with `jobs` BenchJob messages, numbered 0..jobs-1. */
  async prefill(topic: string, jobs: number, keys: number, payloadChars: number): Promise<void> {
    const chunk = Math.min(PREFILL_PER_PARTITION * (this.#created.get(topic) ?? 1), PREFILL_MAX);
    const producer = this.#kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const BenchJob = benchJob(topic, keys);
    const text = filler(payloadChars);
    await producer.connect();
    try {
      for (let n = 0; n < jobs; n += chunk) {
        const messages = Array.from({ length: Math.min(chunk, jobs - n) }, (_, i) => rawJobMessage(BenchJob, keys, [n + i, 0, text]));
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
      }
    } finally {
      await producer.disconnect();
    }
  }

  /** Deletes the topics this run created and disconnects. */
  async close(): Promise<void> {
    try {
      if (this.#created.size > 0) await this.#admin.deleteTopics({ topics: [...this.#created.keys()], timeout: 30_000 });
    } finally {
      await this.#admin.disconnect();
    }
  }
}
