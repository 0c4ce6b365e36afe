import { currentDeliveryScope, DeliveryScope, runInDeliveryScope } from '../dispatch/delivery-scope.ts';
import type { Dispatcher } from '../dispatch/dispatcher.ts';
import type { Delivery, OutboundMessage } from '../kafka/outbound-message.ts';
import { describeCoordinates, OffsetMetadataTooLargeError } from '../errors.ts';
import type { Message } from '../kafka/inbound-message.ts';
import { activeTransaction } from '../dispatch/transaction-context.ts';
import type { TransactionHandle } from '../job/ports.ts';
import { MAX_OFFSET_METADATA_BYTES, userMetadataBytes } from './done-map.ts';
import type { WorkerEmitter } from './worker-events.ts';

export { MAX_OFFSET_METADATA_BYTES };

/** What the engine gives a consumer for one run of one lane. @internal */
export interface LaneContext {
  readonly topic: string;
  readonly partition: number;
  readonly lane: number;
  readonly collapsed: boolean;
  readonly signal: AbortSignal;
  readonly committedMetadata: string | null;
  readonly events: WorkerEmitter;
  mark(message: Message, metadata: string | null): boolean;
  /** True when the lane should not start another message (revoked, or the worker is stopping). */
  shouldStop(): boolean;
  /** Aborts when `shouldStop()` becomes true: a lane waiting for something should give up then. */
  readonly stopSignal: AbortSignal;
  /** Pauses (true) or resumes (false) fetching of this partition on behalf of this lane. */
  holdFetching(hold: boolean): void;
  /** What earlier attempts of this message left behind (kept while its batch is retried in place). */
  attemptsOf(offset: number): AttemptMemory;
  /** Runs a transaction block on this partition's transactional producer. */
  transaction<T>(body: (tx: TransactionHandle) => Promise<T>): Promise<T>;
  dispatcher(): Dispatcher;
}

/** A message a consumer produces: `value` may be a string, a Buffer, or anything JSON-serializable. */
export interface ProducedMessage {
  /** The topic to send to. */
  topic: string;
  /** The message key (it chooses the partition). @defaultValue null */
  key?: string | null;
  /** The value: a string or bytes as they are, another object as JSON; null for a tombstone. */
  value: string | Buffer | null | object;
  /** The message headers. @defaultValue `{}` */
  headers?: Record<string, string>;
  /** An explicit partition; otherwise chosen from the key. */
  partition?: number;
}

/** Per message, across in-place retries: executions, failures, and failures per retry handler. */
export interface AttemptMemory {
  executions: number;
  /** Failed attempts, bad input included (which never executes). */
  failures: number;
  exceptionExecutions: Record<string, number>;
  /**
   * Set once the job failed for good (an `UnrecoverableError`, thrown or from a spent `retryOn`):
   * a later attempt of the message fails with it at once instead of running the job again (with
   * lanes the first failure cannot be told from its siblings, so the batch runs again collapsed).
   */
  unrecoverable?: Error;
}

/** The attempt memory of `offset` in `memories`, created empty on first use. */
export function attemptMemoryOf(memories: Map<number, AttemptMemory>, offset: number): AttemptMemory {
  let memory = memories.get(offset);
  if (!memory) {
    memory = { executions: 0, failures: 0, exceptionExecutions: {} };
    memories.set(offset, memory);
  }
  return memory;
}

const attached = Symbol('partita.context');

/**
 * Base class of consumers: `class Orders extends Consumer { async consume(messages) { ... } }`.
 *
 * The engine calls `consume` with one lane's messages in offset order (the whole batch without
 * virtual partitions). After `consume` returns, the last message is marked as consumed unless the
 * route uses `manualOffsetManagement()`. A throw fails the batch: it is retried after a backoff.
 */
export abstract class Consumer {
  /** The lane the consumer runs in, set by the engine before each run. @internal */
  [attached]: LaneContext | undefined;

  /** Processes one lane's messages, in offset order. */
  abstract consume(messages: Message[]): Promise<void> | void;

  /** Topic of the partition this consumer serves. */
  get topic(): string {
    return this.#context().topic;
  }

  /** The Kafka partition this consumer serves. */
  get partition(): number {
    return this.#context().partition;
  }

  /** The virtual-partition lane (0 without virtual partitions). */
  get lane(): number {
    return this.#context().lane;
  }

  /** Aborts when the partition is revoked or the worker stops past its grace period. */
  get signal(): AbortSignal {
    return this.#context().signal;
  }

  /** The offset metadata that was committed for this partition when it was assigned. */
  get committedMetadata(): string | null {
    return this.#context().committedMetadata;
  }

  /** True once the partition was taken away; marks then return false. */
  revoked(): boolean {
    return this.#context().signal.aborted;
  }

  /** True while the partition runs as one lane after a failure. */
  collapsed(): boolean {
    return this.#context().collapsed;
  }

  /**
   * Marks `message` (and the earlier messages of this lane) as done, optionally with metadata the
   * committed offset carries. Returns false when the partition was revoked: nothing is committed.
   *
   * While messages this lane produced (`produce*`, `performLater`) are not acknowledged yet, the
   * mark waits for them: it applies once they reached the broker, and never if one of them is lost
   * (the lane then fails and its unmarked messages are consumed again). Inside a transaction the
   * mark joins the transaction at once.
   *
   * The metadata may take the broker's whole {@link MAX_OFFSET_METADATA_BYTES}; the done-map takes
   * only the room it leaves.
   */
  markAsConsumed(message: Message, metadata: string | null = null): boolean {
    if (metadata !== null && userMetadataBytes(metadata) > MAX_OFFSET_METADATA_BYTES) {
      throw new OffsetMetadataTooLargeError(
        `Offset metadata for ${describeCoordinates(message)} takes ${userMetadataBytes(metadata)} bytes in the commit; ` +
          `the broker keeps at most ${MAX_OFFSET_METADATA_BYTES}. Store a reference instead of the data.`,
      );
    }
    const context = this.#context();
    const scope = currentDeliveryScope();
    if (scope?.pending && !activeTransaction()) {
      if (context.signal.aborted) return false;
      scope.afterDelivered(() => context.mark(message, metadata));
      return true;
    }
    return context.mark(message, metadata);
  }

  /** Produces messages and resolves when the broker acknowledged them. */
  produceSync(messages: ProducedMessage | ProducedMessage[]): Promise<Delivery[]> {
    return this.#context().dispatcher().produceSync(toOutbound(messages));
  }

  /** Buffers messages for a batched send; resolves once buffered. */
  produceAsync(messages: ProducedMessage | ProducedMessage[]): Promise<void> {
    return this.#context().dispatcher().produceAsync(toOutbound(messages));
  }

  /**
   * Runs `body` in a Kafka transaction: everything produced inside (by this consumer, by
   * `performLater`, by any dispatcher) and every mark made inside commit together or not at all.
   * Without virtual partitions (or while collapsed) the marks' offset is committed by the
   * transaction itself: exactly once for read_committed readers. With lanes, the marks apply right
   * after the commit (a crash in between can repeat the block). A throw or `tx.abort()` rolls the
   * block back; nested blocks are refused; a partition lost before the commit aborts it.
   */
  transaction<T>(body: (tx: TransactionHandle) => Promise<T>): Promise<T> {
    const scope = currentDeliveryScope();
    return this.#context().transaction(async (tx) => {
      const result = await body(tx);
      // What this lane produced outside the block is acknowledged before the block's marks commit.
      await scope?.delivered();
      return result;
    });
  }

  /** True when the lane should stop before its next message. @internal */
  protected shouldStop(): boolean {
    return this.#context().shouldStop();
  }

  /** @internal */
  protected get context(): LaneContext {
    return this.#context();
  }

  #context(): LaneContext {
    const context = this[attached];
    if (!context) throw new Error('This consumer is not attached to a partition; only the worker runs consumers');
    return context;
  }
}

/**
 * Runs a consumer on one lane's messages and resolves once every message it produced meanwhile is
 * acknowledged, its deferred marks applied; rejects with `JobsLostError` when one was lost, so the
 * lane fails and is retried. @internal
 */
export async function consumeLane(consumer: Consumer, messages: Message[]): Promise<void> {
  const scope = new DeliveryScope();
  try {
    await runInDeliveryScope(scope, async () => {
      await consumer.consume(messages);
    });
  } finally {
    await scope.settled();
  }
  await scope.delivered();
}

/** Gives a consumer the context of the lane it is about to run. @internal */
export function attachContext(consumer: Consumer, context: LaneContext): void {
  consumer[attached] = context;
}

function toOutbound(messages: ProducedMessage | ProducedMessage[]): OutboundMessage[] {
  return (Array.isArray(messages) ? messages : [messages]).map((m) => ({
    topic: m.topic,
    key: m.key ?? null,
    value: m.value === null || typeof m.value === 'string' || Buffer.isBuffer(m.value) ? m.value : JSON.stringify(m.value),
    headers: m.headers ?? {},
    ...(m.partition === undefined ? {} : { partition: m.partition }),
  }));
}
