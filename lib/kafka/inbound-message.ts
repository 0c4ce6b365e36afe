import superjson from 'superjson';
import { BadMessageError, type MessageCoordinates } from '../errors.ts';
import type { RawRecord } from './records.ts';

/**
 * What a virtual-partition partitioner sees: everything about a message except its value. Routing
 * can therefore never depend on (or pay for) decoding a payload.
 */
export interface PartitionerInput {
  /** The topic the message was read from. */
  readonly topic: string;
  /** Its partition. */
  readonly partition: number;
  /** Its offset in the partition. */
  readonly offset: number;
  /** Its key as UTF-8 text; null when it has none. */
  readonly key: string | null;
  /** Its headers as UTF-8 text (the first value of a repeated header). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Its timestamp (ms since the epoch). */
  readonly timestamp: number;
}

/** A consumed message, handed to consumers. The value is decoded only when `payload` is read. */
export class Message implements PartitionerInput {
  /** The topic the message was read from. */
  readonly topic: string;
  /** Its partition. */
  readonly partition: number;
  /** Its offset in the partition. */
  readonly offset: number;
  /** Its key as UTF-8 text; null when it has none. */
  readonly key: string | null;
  /** Its key as bytes; null when it has none. */
  readonly rawKey: Buffer | null;
  /** Its headers as UTF-8 text (the first value of a repeated header). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Its timestamp (ms since the epoch). */
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

  /** What a partitioner sees of this message: everything but the value. */
  partitionerInput(): PartitionerInput {
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
    return isSuperjson ? superjson.deserialize(parsed as never, { inPlace: true }) : parsed;
  }
}

/**
 * Parses a message value as JSON, or throws a {@link BadMessageError} of kind `tombstone` (no value)
 * or `not-json` that says where the message was.
 */
export function parseJsonValue(value: Buffer | null, at: MessageCoordinates): unknown {
  if (value === null) throw new BadMessageError('tombstone', at, 'the message has no value (tombstone)');
  try {
    return JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new BadMessageError('not-json', at, `the value is not JSON (${(error as Error).message})`);
  }
}
