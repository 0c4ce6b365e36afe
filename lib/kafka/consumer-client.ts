import type { Admin, Consumer, EachBatchPayload, IHeaders, KafkaClient as Kafka, KafkaMessage } from './kafkajs.ts';
import { toError } from '../errors.ts';
import { createHeaders, type Assignment, type OffsetCommit, type RawBatch, type RawRecord, type OffsetAndMetadata } from './records.ts';

/** Group membership and fetch settings (an app's defaults: `CONFIG_OPTIONS.consumer` in `config.ts`). */
export interface ConsumerSettings {
  /** Ms without heartbeats before the broker removes the member. @defaultValue 30000 */
  sessionTimeout: number;
  /** Ms the members have to rejoin a rebalance. @defaultValue 60000 */
  rebalanceTimeout: number;
  /** Ms between heartbeats. @defaultValue 3000 */
  heartbeatInterval: number;
  /**
   * Most bytes fetched per partition per request: about 480 jobs of 500 bytes, half of
   * `maxBufferedMessages`, so a partition pauses after a fetch or two instead of overshooting by a
   * whole MiB. A record batch larger than this still comes whole when it is first in the response.
   * @defaultValue 262144 (256 KiB; kafkajs's own default is 1 MiB)
   */
  maxBytesPerPartition: number;
  /**
   * Most bytes of one fetch response, over all the partitions it asks a broker for. Every message
   * fetched holds on to the response it came in until it is done, so this bounds what a worker
   * holds per fetch whatever its assignment.
   * @defaultValue 2097152 (2 MiB: 8 partitions × `maxBytesPerPartition`; kafkajs's own default is 10 MiB)
   */
  maxBytes: number;
  /**
   * Longest the broker holds a fetch waiting for data, in ms. kafkajs also sleeps this long
   * whenever every partition of a broker is paused, so it bounds how fast a resumed partition is
   * fetched again. @defaultValue 100
   */
  maxWaitTimeInMs: number;
}

/** What the engine hears from the consumer. Handlers must not throw; the client guards anyway. */
export interface ConsumerHandlers {
  onBatch(batch: RawBatch): void;
  onAssignment(assignment: Assignment): void;
  onRebalancing(): void;
  onCrash(error: Error, willRestart: boolean): void;
  onInternalError(error: Error): void;
}

/**
 * The kafkajs consumer behind a small surface. `eachBatch` only hands records over and returns:
 * jobs never run inside the fetch loop, so heartbeats and other partitions never wait for them.
 * Offsets are committed explicitly (autoCommit off).
 */
export class KafkaConsumerClient {
  readonly #consumer: Consumer;
  readonly #admin: Admin;
  readonly #groupId: string;
  #running = false;

  constructor(kafka: Kafka, groupId: string, settings: ConsumerSettings) {
    this.#groupId = groupId;
    // read_committed (kafkajs's default, stated because transactions rely on it): records of aborted
    // transactions, such as a recurring-job round that did not commit, are never consumed.
    this.#consumer = kafka.consumer({ ...settings, groupId, allowAutoTopicCreation: true, readUncommitted: false });
    this.#admin = kafka.admin();
  }

  /** Connects, subscribes and starts the fetch loop. */
  async start(subscriptions: { topic: string; fromBeginning: boolean }[], handlers: ConsumerHandlers): Promise<void> {
    const { events } = this.#consumer;
    this.#consumer.on(events.GROUP_JOIN, ({ payload }) => {
      guard(handlers, () => handlers.onAssignment(new Map(Object.entries(payload.memberAssignment))));
    });
    this.#consumer.on(events.REBALANCING, () => guard(handlers, () => handlers.onRebalancing()));
    this.#consumer.on(events.CRASH, ({ payload }) => {
      guard(handlers, () => handlers.onCrash(payload.error, payload.restart));
    });
    await this.#admin.connect();
    await this.#consumer.connect();
    for (const { topic, fromBeginning } of subscriptions) {
      await this.#consumer.subscribe({ topics: [topic], fromBeginning });
    }
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload: EachBatchPayload) => {
        if (payload.isStale()) return;
        guard(handlers, () => handlers.onBatch(toRawBatch(payload)));
      },
    });
    this.#running = true;
  }

  pause(topic: string, partition: number): void {
    if (this.#running) this.#consumer.pause([{ topic, partitions: [partition] }]);
  }

  resume(topic: string, partition: number): void {
    if (this.#running) this.#consumer.resume([{ topic, partitions: [partition] }]);
  }

  /** Pauses every assigned partition: the fetch loop keeps heartbeating but fetches nothing. */
  pauseAll(assignment: Assignment): void {
    if (!this.#running) return;
    const topics = [...assignment].map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
    if (topics.length > 0) this.#consumer.pause(topics);
  }

  async commit(offsets: OffsetCommit[]): Promise<void> {
    await this.#consumer.commitOffsets(
      offsets.map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset: String(offset), metadata })),
    );
  }

  /** The offsets and metadata committed for the group on these topics. */
  async committedOffsets(topics: string[]): Promise<Map<string, Map<number, OffsetAndMetadata>>> {
    const result = new Map<string, Map<number, OffsetAndMetadata>>();
    const fetched = await this.#admin.fetchOffsets({ groupId: this.#groupId, topics });
    for (const { topic, partitions } of fetched) {
      const byPartition = new Map<number, OffsetAndMetadata>();
      for (const p of partitions) byPartition.set(p.partition, { offset: Number(p.offset), metadata: p.metadata ?? null });
      result.set(topic, byPartition);
    }
    return result;
  }

  /** Leaves the group and closes connections. */
  async stop(): Promise<void> {
    this.#running = false;
    try {
      await this.#consumer.disconnect();
    } finally {
      await this.#admin.disconnect();
    }
  }
}

function guard(handlers: ConsumerHandlers, body: () => void): void {
  try {
    body();
  } catch (error) {
    // Nothing may escape into kafkajs: it stops a consumer for good on some errors (TypeError).
    try {
      handlers.onInternalError(toError(error));
    } catch {
      process.stderr.write(`partita: internal error in a consumer handler: ${String(error)}\n`);
    }
  }
}

function toRawBatch({ batch }: EachBatchPayload): RawBatch {
  const { topic, partition } = batch;
  return { topic, partition, records: batch.messages.map((message) => toRawRecord(topic, partition, message)), highWatermark: Number(batch.highWatermark) };
}

/** A kafkajs message as the engine sees it: numbers for offsets and times, headers as UTF-8. */
export function toRawRecord(topic: string, partition: number, message: KafkaMessage): RawRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key ?? null,
    value: message.value ?? null,
    headers: decodeHeaders(message.headers),
    timestamp: Number(message.timestamp),
  };
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string | undefined> {
  const decoded = createHeaders();
  if (!headers) return decoded;
  // for-in over kafkajs' plain object of own headers, with no array made per header: this runs for every record.
  for (const name in headers) {
    if (!Object.prototype.hasOwnProperty.call(headers, name)) continue;
    const first = firstOwnHeaderValue(name, headers[name]);
    decoded[name] = first === undefined || first === null ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return decoded;
}

/**
 * The first value kafkajs decoded for one header name. Its decoder collects repeated headers in a
 * plain object and, for a name `Object.prototype` has (`__proto__`, `constructor`, ...), takes the
 * inherited member for a first value: `[Object.prototype, value]`. That member is skipped here.
 */
function firstOwnHeaderValue(name: string, value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const inherited: unknown = ({} as Record<string, unknown>)[name];
  return inherited !== undefined && value[0] === inherited ? value[1] : value[0];
}
