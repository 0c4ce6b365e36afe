/**
 * An empty header map without a prototype: every header name, `__proto__` and `constructor`
 * included, is a plain own key, and no header can reach `Object.prototype`. Every map of headers
 * taken from a record is built on one.
 */
export function createHeaders<V extends string | undefined = string | undefined>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

/** A consumed record as the kafka boundary hands it over: raw bytes, headers as strings. */
export interface RawRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  /**
   * Header values decoded as UTF-8 (the first value when a header repeats), in a map without a
   * prototype ({@link createHeaders}).
   */
  headers: Record<string, string | undefined>;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

/** The records of one topic-partition from one fetch, in offset order. */
export interface RawBatch {
  topic: string;
  partition: number;
  records: RawRecord[];
  /** The partition's end offset when the broker answered the fetch (for lag). */
  highWatermark: number;
}

/**
 * An offset with its commit metadata: what a partition committed, what a mark gave, what the offset
 * tracker says may be committed next (consume from `offset` next). One shape under one name.
 */
export interface OffsetAndMetadata {
  /** The marked offset, or (committed and committable positions) the next offset to consume. */
  offset: number;
  /** The metadata string, or null for none. */
  metadata: string | null;
}

/** One offset to commit, with its optional metadata. */
export interface OffsetCommit extends OffsetAndMetadata {
  topic: string;
  partition: number;
}

/** Partitions per topic. */
export type Assignment = ReadonlyMap<string, readonly number[]>;
