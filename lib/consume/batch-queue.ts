// Invariant: a fetched offset is queued at most once, in offset order, in batches of at most maxBatchSize, and `size` counts the messages queued.
import type { RawRecord } from '../kafka/records.ts';
import { Message } from '../kafka/inbound-message.ts';

/** How a partition's queue is bounded. */
export interface BatchQueueSettings {
  /** A fetched batch is queued in batches of at most this many messages. */
  maxBatchSize: number;
  /** Fetching is held once this many messages wait, and let go at half of it. */
  maxBufferedMessages: number;
}

/** What a batch queue needs from the processor. */
export interface BatchQueuePorts {
  /** True for an offset already done (marked here, or finished by a previous owner). */
  isDone(offset: number): boolean;
  /** Holds (true) or lets go (false) fetching of the partition. */
  backpressure(on: boolean): void;
}

/**
 * The batches of one partition waiting to run. Takes fetched records without blocking the fetch
 * loop; records below the next expected offset were delivered before (kafkajs refetches from the
 * committed offset after every rejoin) and are dropped, as are records already done.
 */
export class BatchQueue {
  readonly #settings: BatchQueueSettings;
  readonly #ports: BatchQueuePorts;
  #batches: Message[][] = [];
  #size = 0;
  #nextOffset: number | undefined;

  constructor(settings: BatchQueueSettings, ports: BatchQueuePorts) {
    this.#settings = settings;
    this.#ports = ports;
  }

  /** Messages queued. */
  get size(): number {
    return this.#size;
  }

  /** True when no batch waits. */
  get empty(): boolean {
    return this.#batches.length === 0;
  }

  /** Queues the records not seen and not done; true when any was queued. Holds fetching once the queue is full. */
  enqueue(records: readonly RawRecord[]): boolean {
    const next = this.#nextOffset;
    const unseen = next === undefined ? records : records.filter((record) => record.offset >= next);
    if (unseen.length === 0) return false;
    this.#nextOffset = unseen[unseen.length - 1]!.offset + 1;
    const fresh = unseen.filter((record) => !this.#ports.isDone(record.offset));
    if (fresh.length === 0) return false;
    // Smaller batches let the slowest lane hold back fewer finished jobs from the commit.
    const { maxBatchSize } = this.#settings;
    for (let start = 0; start < fresh.length; start += maxBatchSize) {
      this.#batches.push(fresh.slice(start, start + maxBatchSize).map((record) => new Message(record)));
    }
    this.#size += fresh.length;
    if (this.#size >= this.#settings.maxBufferedMessages) this.#ports.backpressure(true);
    return true;
  }

  /** Takes the oldest batch. Lets go of fetching at half the bound, so the next fetch arrives before the queue runs dry. */
  next(): Message[] | undefined {
    const batch = this.#batches.shift();
    if (!batch) return undefined;
    this.#size -= batch.length;
    if (this.#size <= this.#settings.maxBufferedMessages / 2) this.#ports.backpressure(false);
    return batch;
  }

  /** Drops queued messages now done (a previous owner's finished offsets, read after they were fetched). */
  dropDone(): void {
    this.#retain((message) => !this.#ports.isDone(message.offset));
  }

  /** Drops queued messages below `offset` (committed meanwhile), and every later record below it. */
  dropBelow(offset: number): void {
    this.#retain((message) => message.offset >= offset);
    if (this.#nextOffset === undefined || this.#nextOffset < offset) this.#nextOffset = offset;
  }

  /** Drops everything queued (the partition was taken away). */
  clear(): void {
    this.#batches = [];
    this.#size = 0;
  }

  #retain(keep: (message: Message) => boolean): void {
    this.#batches = this.#batches.map((batch) => batch.filter(keep)).filter((batch) => batch.length > 0);
    this.#size = this.#batches.reduce((sum, batch) => sum + batch.length, 0);
  }
}
