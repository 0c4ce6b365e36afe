import superjson from 'superjson';
import { parseJsonValue } from '../job/envelope.ts';
import type { RawRecord } from '../kafka/records.ts';
import type { PartitionerInput } from '../routing/route.ts';

/**
 * What a virtual-partition partitioner sees: everything about a message except its value. Routing
 * can therefore never depend on (or pay for) decoding a payload.
 */
export type RoutingView = PartitionerInput;

/** A consumed message, handed to consumers. The value is decoded only when `payload` is read. */
export class Message implements RoutingView {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly rawKey: Buffer | null;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly timestamp: number;
  /** The raw value; null for a tombstone. */
  readonly value: Buffer | null;
  #decoded: { value: unknown } | undefined;

  constructor(record: RawRecord) {
    this.topic = record.topic;
    this.partition = record.partition;
    this.offset = record.offset;
    this.rawKey = record.key;
    this.key = record.key === null ? null : record.key.toString('utf8');
    this.headers = record.headers;
    this.timestamp = record.timestamp;
    this.value = record.value;
  }

  /**
   * The value decoded as JSON (superjson documents are revived with their types). Throws a
   * {@link BadMessageError} naming this message's coordinates when the value is not JSON.
   */
  get payload(): unknown {
    if (!this.#decoded) this.#decoded = { value: this.#decode() };
    return this.#decoded.value;
  }

  /** The routing view of this message (no value). */
  routingView(): RoutingView {
    return Object.freeze({
      topic: this.topic,
      partition: this.partition,
      offset: this.offset,
      key: this.key,
      headers: this.headers,
      timestamp: this.timestamp,
    });
  }

  #decode(): unknown {
    const at = { topic: this.topic, partition: this.partition, offset: this.offset };
    const parsed = parseJsonValue(this.value, at);
    const isSuperjson = typeof parsed === 'object' && parsed !== null && 'json' in parsed && Object.keys(parsed).every((k) => k === 'json' || k === 'meta');
    return isSuperjson ? superjson.deserialize(parsed as never) : parsed;
  }
}
