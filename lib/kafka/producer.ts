import { CompressionTypes, Partitioners, type CompressionType, type KafkaClient as Kafka, type Message, type Producer, type ProducerBatch, type RecordMetadata, type Transaction } from './kafkajs.ts';
import type { Delivery, MessageSender, OutboundMessage } from './outbound-message.ts';
import { DeliveryError, toError } from '../errors.ts';
import { outcomeUnknown } from './outcome.ts';
import type { OffsetCommit } from './records.ts';
import { MissingTopicError, PartitaError, ProduceError } from '../errors.ts';
import { brokersOf, describeConnectFailure, describeConnectionFailure, reachBrokers } from './broker-check.ts';

/** Times the messages of partitions missing from kafkajs's answer are sent again before the send fails. */
const UNANSWERED_RESENDS = 3;

/** Settings for a producer; the defaults give an idempotent, acks=all producer. */
export interface ProducerSettings {
  /** Compression of produce requests. Default none. */
  compression?: 'none' | 'gzip';
  /** Makes the producer transactional under this id (one id per input partition fences zombies). */
  transactionalId?: string;
}

/** An open Kafka transaction. Sends must not overlap (kafkajs needs them serialized). */
export interface KafkaTransaction {
  send(messages: readonly OutboundMessage[]): Promise<Delivery[]>;
  /** Adds consumed offsets of `groupId` to the transaction. */
  sendOffsets(groupId: string, offsets: readonly OffsetCommit[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  /**
   * True once a call of this transaction failed with an error whose outcome is unknown (a timeout,
   * a lost connection): the transaction must not be committed, and the producer must be re-created
   * rather than used again (a new producer with the same transactional id fences and ends it).
   */
  readonly outcomeUnknown: boolean;
}

/**
 * A kafkajs producer that reports where each message went. Partitions are chosen by kafkajs's
 * default (Java-compatible murmur2) partitioner; the choice is remembered per message so that each
 * message's offset can be read off its partition's base offset.
 */
export class KafkaProducerSender implements MessageSender {
  readonly #kafka: Kafka;
  readonly #producer: Producer;
  readonly #chosenPartition = new WeakMap<object, number>();
  readonly #compression: CompressionType;

  constructor(kafka: Kafka, settings: ProducerSettings = {}) {
    this.#compression = settings.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    const chosen = this.#chosenPartition;
    this.#kafka = kafka;
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      ...(settings.transactionalId === undefined ? {} : { transactionalId: settings.transactionalId }),
      createPartitioner: () => {
        const partitioner = Partitioners.DefaultPartitioner();
        // Sticky per message: a retried request must not move an unkeyed message elsewhere.
        return (args) => {
          const known = chosen.get(args.message);
          if (known !== undefined) return known;
          const partition = partitioner(args);
          chosen.set(args.message, partition);
          return partition;
        };
      },
    });
  }

  /**
   * Connects, after checking (once per client, within `connectTimeoutMs`) that a Kafka broker
   * answers. Fails with a `BrokerUnavailableError` naming the brokers.
   */
  async connect(): Promise<void> {
    await reachBrokers(this.#kafka);
    try {
      await this.#producer.connect();
    } catch (error) {
      throw describeConnectFailure(error, brokersOf(this.#kafka));
    }
  }

  disconnect(): Promise<void> {
    return this.#producer.disconnect();
  }

  /** Sends and reports where each message went; failures are Partita errors (see {@link describeProduceFailure}). */
  async send(messages: readonly OutboundMessage[]): Promise<Delivery[]> {
    try {
      return await this.#sendThrough((batch) => this.#producer.sendBatch(batch), messages);
    } catch (error) {
      throw describeProduceFailure(error, [...new Set(messages.map((message) => message.topic))], brokersOf(this.#kafka));
    }
  }

  /**
   * Begins a transaction (the producer must have a transactional id). Each call of the returned
   * transaction that fails with an unknown outcome sets its `outcomeUnknown`.
   */
  async beginTransaction(): Promise<KafkaTransaction> {
    const transaction: Transaction = await this.#producer.transaction();
    let unknown = false;
    const watched = async <T>(call: () => Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (error) {
        if (outcomeUnknown(error)) unknown = true;
        throw error;
      }
    };
    return {
      send: (messages) => watched(() => this.#sendThrough((batch) => transaction.sendBatch(batch), messages)),
      sendOffsets: (groupId, offsets) =>
        watched(() =>
          transaction.sendOffsets({
            consumerGroupId: groupId,
            topics: groupByTopic(offsets).map(([topic, list]) => ({
              topic,
              partitions: list.map(({ partition, offset, metadata }) => ({ partition, offset: String(offset), metadata })),
            })),
          }),
        ),
      commit: () => watched(() => transaction.commit()),
      abort: () => watched(() => transaction.abort()),
      get outcomeUnknown() {
        return unknown;
      },
    };
  }

  async #sendThrough(sendBatch: (batch: ProducerBatch) => Promise<RecordMetadata[]>, messages: readonly OutboundMessage[]): Promise<Delivery[]> {
    const byTopic = new Map<string, Message[]>();
    const sent: Message[] = messages.map((message) => {
      const kafkaMessage: Message = {
        key: message.key,
        value: message.value,
        headers: message.headers,
        ...(message.partition === undefined ? {} : { partition: message.partition }),
      };
      const list = byTopic.get(message.topic) ?? [];
      list.push(kafkaMessage);
      byTopic.set(message.topic, list);
      return kafkaMessage;
    });
    const request = (list: [string, Message[]][]): ProducerBatch => ({
      acks: -1,
      compression: this.#compression,
      topicMessages: list.map(([topic, topicMessages]) => ({ topic, messages: topicMessages })),
    });
    const metadata = await sendBatch(request([...byTopic]));
    // kafkajs 2.2.4 drops messages when a partition's leader moves during its retries: a retry is
    // sent only to brokers that have not answered yet, so a partition that moved to a broker which
    // had answered for other partitions is never sent, and the send resolves. Such a partition has
    // no entry in the answer: its messages are sent again (the same idempotent sequence numbers,
    // kafkajs rolls them back after a failed request, so a copy that did arrive is not duplicated).
    for (let attempt = 1; ; attempt += 1) {
      const answered = new Set(metadata.map((entry) => `${entry.topicName}\u0000${entry.partition}`));
      const unanswered = new Map<string, Message[]>();
      messages.forEach((message, index) => {
        const partition = this.#chosenPartition.get(sent[index]!) ?? message.partition;
        if (answered.has(`${message.topic}\u0000${partition}`)) return;
        const list = unanswered.get(message.topic) ?? [];
        list.push(sent[index]!);
        unanswered.set(message.topic, list);
      });
      if (unanswered.size === 0) break;
      if (attempt > UNANSWERED_RESENDS) {
        const where = [...unanswered].map(([topic, list]) => `${topic} (${list.length} messages)`).join(', ');
        throw new DeliveryError(`The broker acknowledged the send but not its messages for ${where}, ${UNANSWERED_RESENDS} resends later; they may not be on the topic: send them again`);
      }
      metadata.push(...(await sendBatch(request([...unanswered]))));
    }
    const nextOffset = new Map<string, number>();
    for (const entry of metadata) {
      nextOffset.set(`${entry.topicName}\u0000${entry.partition}`, Number(entry.baseOffset ?? entry.offset));
    }
    return messages.map((message, index) => {
      const partition = this.#chosenPartition.get(sent[index]!) ?? message.partition ?? 0;
      const slot = `${message.topic}\u0000${partition}`;
      const offset = nextOffset.get(slot) ?? -1;
      nextOffset.set(slot, offset + 1);
      return { topic: message.topic, partition, offset };
    });
  }
}

function groupByTopic(offsets: readonly OffsetCommit[]): [string, OffsetCommit[]][] {
  const byTopic = new Map<string, OffsetCommit[]>();
  for (const offset of offsets) byTopic.set(offset.topic, [...(byTopic.get(offset.topic) ?? []), offset]);
  return [...byTopic];
}

/**
 * A failed produce as a Partita error: no broker → `BrokerUnavailableError`; a topic the broker
 * does not have and will not create (`auto.create.topics.enable=false`) → `MissingTopicError`
 * naming it; anything else → `ProduceError` with kafkajs's error as `cause`.
 * @internal
 */
export function describeProduceFailure(error: unknown, topics: readonly string[], brokers: readonly string[]): Error {
  if (error instanceof PartitaError) return error;
  const connection = describeConnectionFailure(error, brokers);
  if (connection instanceof PartitaError) return connection;
  const names = topics.map((topic) => `"${topic}"`).join(', ');
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    if ((current as Error & { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') {
      return new MissingTopicError(
        topics,
        `Cannot send to ${names}: the topic does not exist and the broker does not create topics on first use ` +
          `(auto.create.topics.enable=false). Create it (kafka-topics.sh --create --topic ${topics[0]} --partitions N), ` +
          'or start a worker whose route for it has config({ partitions }) before enqueuing.',
        { cause: error },
      );
    }
  }
  const message = toError(error).message;
  return new ProduceError(topics, `Sending to ${names} failed: ${message}`, { cause: error });
}
