import { filterAbortedRecords, type AbortedTransaction } from './aborted-transactions.ts';
import { brokersOf, describeConnectFailure, reachBrokers } from './broker-check.ts';
import { toRawRecord } from './consumer-client.ts';
import { MissingTopicError } from '../errors.ts';
import { clusterOf, type KafkaClient as Kafka, type KafkaMessage } from './kafkajs.ts';
import type { RawRecord } from './records.ts';

/** The offsets a partition holds: from `low` (the oldest kept) up to, not including, `high`. */
export interface PartitionOffsets {
  /** Partition number. */
  partition: number;
  /** The oldest offset the partition still holds. */
  low: number;
  /**
   * The next offset to be written, as a `read_committed` reader sees it (the last stable offset:
   * below any transaction still open).
   */
  high: number;
}

/** Records read from one partition, and where reading stopped. */
export interface PartitionSlice {
  /** The committed records read, in offset order (no transaction markers). */
  records: RawRecord[];
  /**
   * The offset to read from next: past the last record returned and past any transaction markers
   * and aborted records after it. Equals the `end` asked for once the range is read.
   */
  next: number;
}

/** The kafkajs cluster and broker calls the reader uses (kafkajs does not type them). */
interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  metadata(): Promise<{ topicMetadata: { topic: string }[] }>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number }[];
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(query: { nodeId: string }): Promise<Broker>;
  fetchTopicsOffset(topics: { topic: string; partitions: { partition: number }[]; fromBeginning: boolean }[]): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

interface FetchedPartition {
  partition: number;
  lastStableOffset: string;
  abortedTransactions?: AbortedTransaction[];
  messages: (KafkaMessage & { isControlRecord?: boolean; batchContext: { producerId: string; inTransaction: boolean } })[];
}

interface Broker {
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: FetchedPartition[] }[] }>;
}

/** kafkajs's `READ_COMMITTED` isolation level: no records of open or aborted transactions. */
const READ_COMMITTED = 1;

/** A consumer's replica id in fetch requests. */
const CONSUMER_REPLICA_ID = -1;

/** Times a fetch is tried again after a leader moved or metadata was stale. */
const FETCH_ATTEMPTS = 3;

/** Defaults of {@link PartitionReader.read}. */
const DEFAULT_MAX_BYTES = 1_048_576;

/**
 * Reads chosen offset ranges of chosen partitions, without a consumer group: fetch requests at
 * the offsets asked for, sent to each partition's leader, `read_committed` (records of aborted
 * transactions dropped, transaction markers skipped). Opening a range costs one fetch per
 * `maxBytes` read, whatever the size of the topic, and joins no group (a broker's
 * `group.initial.rebalance.delay.ms`, 3 s by default, would delay every read of a fresh group).
 * For tools (dead-letter pages, replay marks), not for workers.
 */
export class PartitionReader {
  readonly #kafka: Kafka;
  readonly #cluster: Cluster;
  #connected: Promise<void> | undefined;

  /** A reader over the client's brokers; it connects on its first read. */
  constructor(kafka: Kafka) {
    this.#kafka = kafka;
    this.#cluster = clusterOf(kafka, { isolationLevel: READ_COMMITTED, allowAutoTopicCreation: false }) as Cluster;
  }

  /** The partitions of `topic` with their offsets; empty when the topic does not exist. */
  async offsets(topic: string): Promise<PartitionOffsets[]> {
    const partitions = await this.#partitions(topic);
    if (partitions.length === 0) return [];
    const ask = (fromBeginning: boolean) =>
      this.#cluster.fetchTopicsOffset([{ topic, fromBeginning, partitions: partitions.map((partition) => ({ partition })) }]);
    const [lows, highs] = await Promise.all([ask(true), ask(false)]);
    const offsetOf = (answer: typeof lows, partition: number) => Number(answer[0]?.partitions.find((p) => p.partition === partition)?.offset ?? 0);
    return partitions.map((partition) => ({ partition, low: offsetOf(lows, partition), high: offsetOf(highs, partition) }));
  }

  /**
   * The committed records of `topic`/`partition` from offset `from` (or the first one after it)
   * up to `end` (not included), at most `limit` of them. Reads by position, not by count: markers
   * and aborted records take offsets but are not returned, and reading stops at `end` or at the
   * partition's last stable offset, whichever comes first.
   */
  async read(topic: string, partition: number, from: number, end: number, limit = Number.POSITIVE_INFINITY, maxBytes = DEFAULT_MAX_BYTES): Promise<PartitionSlice> {
    await this.#connect();
    await this.#cluster.addTargetTopic(topic);
    const records: RawRecord[] = [];
    let position = from;
    while (position < end && records.length < limit) {
      const fetched = await this.#fetch(topic, partition, position, maxBytes);
      const stable = Number(fetched.lastStableOffset);
      const inRange = fetched.messages.filter((m) => Number(m.offset) >= position);
      if (inRange.length === 0) break;
      let next = position;
      for (const message of filterAbortedRecords({ messages: inRange, abortedTransactions: fetched.abortedTransactions ?? [] })) {
        const offset = Number(message.offset);
        if (offset >= end || (stable >= 0 && offset >= stable)) break;
        next = offset + 1;
        if (message.isControlRecord) continue;
        records.push(toRawRecord(topic, partition, message));
        if (records.length >= limit) break;
      }
      if (records.length < limit) {
        // Aborted records after the last one kept take offsets too: step over what was fetched.
        const last = Number(inRange[inRange.length - 1]!.offset) + 1;
        next = Math.max(next, Math.min(last, end, stable >= 0 ? stable : last));
      }
      if (next === position) break;
      position = next;
    }
    return { records, next: Math.min(position, end) };
  }

  /** Closes the reader's connections. */
  async close(): Promise<void> {
    if (this.#connected === undefined) return;
    this.#connected = undefined;
    await this.#cluster.disconnect();
  }

  async #partitions(topic: string): Promise<number[]> {
    await this.#connect();
    // Asking for a missing topic's metadata would log an error: look it up among all topics first.
    const { topicMetadata } = await this.#cluster.metadata();
    if (!topicMetadata.some((t) => t.topic === topic)) return [];
    await this.#cluster.addTargetTopic(topic);
    return this.#cluster
      .findTopicPartitionMetadata(topic)
      .map((p) => p.partitionId)
      .sort((a, b) => a - b);
  }

  async #fetch(topic: string, partition: number, offset: number, maxBytes: number): Promise<FetchedPartition> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const leader = Object.keys(this.#cluster.findLeaderForPartitions(topic, [partition]))[0];
        if (leader === undefined) throw new MissingTopicError([topic], `Topic "${topic}" has no partition ${partition} (or no leader for it); check the partition number`);
        const broker = await this.#cluster.findBroker({ nodeId: leader });
        const { responses } = await broker.fetch({
          replicaId: CONSUMER_REPLICA_ID,
          isolationLevel: READ_COMMITTED,
          maxWaitTime: 0,
          minBytes: 1,
          maxBytes,
          topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes }] }],
        });
        const answer = responses.find((r) => r.topicName === topic)?.partitions.find((p) => p.partition === partition);
        return answer ?? { partition, lastStableOffset: '-1', messages: [] };
      } catch (error) {
        if (attempt >= FETCH_ATTEMPTS) throw error;
        await this.#cluster.refreshMetadata();
      }
    }
  }

  #connect(): Promise<void> {
    this.#connected ??= (async () => {
      await reachBrokers(this.#kafka);
      try {
        await this.#cluster.connect();
      } catch (error) {
        throw describeConnectFailure(error, brokersOf(this.#kafka));
      }
    })().catch((error: unknown) => {
      this.#connected = undefined;
      throw error;
    });
    return this.#connected;
  }
}
