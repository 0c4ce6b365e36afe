import { AsyncLocalStorage } from 'node:async_hooks';
import type { Delivery, OutboundMessage } from '../kafka/outbound-message.ts';
import { activeTransaction, runInTransaction } from '../dispatch/transaction-context.ts';
import type { TransactionHandle } from '../job/ports.ts';
import { TransactionError, toError } from '../errors.ts';
import type { KafkaTransaction } from '../kafka/producer.ts';
import type { OffsetAndMetadata } from '../kafka/records.ts';

/** Where marks made inside a transaction go, for the partition that opened it. */
interface MarkScope {
  topic: string;
  partition: number;
  marks: OffsetAndMetadata[];
  /** The batch's transaction (transactionScope 'batch'): blocks inside it join it. */
  batch: boolean;
  send: (messages: readonly OutboundMessage[]) => Promise<Delivery[]>;
}

const markScopes = new AsyncLocalStorage<MarkScope>();

/** What a partition's transactions need from the processor and the Kafka side. */
export interface TransactionPorts {
  topic: string;
  partition: number;
  groupId: string;
  /** Begins a transaction on this partition's transactional producer. */
  begin(): Promise<KafkaTransaction>;
  /** The producer failed (fenced, broken): the next transaction gets a fresh one. */
  resetProducer(): Promise<void>;
  revoked(): boolean;
  /** The committable position if these marks were applied (nothing is applied). */
  preview(marks: readonly OffsetAndMetadata[]): OffsetAndMetadata | undefined;
  /** The commit metadata for a position: the user's metadata and the done-map (see done-map.ts). */
  commitMetadata(position: OffsetAndMetadata): string | null;
  /** Applies marks after a commit; `committed` is the position the transaction committed, if any. */
  apply(marks: readonly OffsetAndMetadata[], committed: OffsetAndMetadata | undefined): void;
}

/**
 * The transactions of one input partition, one at a time (a kafkajs transactional producer runs
 * one transaction and must not send concurrently). Marks made inside a block are held back and
 * applied only after the commit; when `offsetsInTransaction`, the resulting position is committed
 * by the transaction itself, so output and progress are atomic.
 */
export class PartitionTransactions {
  readonly #ports: TransactionPorts;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ports: TransactionPorts) {
    this.#ports = ports;
  }

  /** The mark scope of this partition active in the current async context, if any. */
  static captureMark(topic: string, partition: number, mark: OffsetAndMetadata): boolean {
    const scope = markScopes.getStore();
    if (!scope || scope.topic !== topic || scope.partition !== partition) return false;
    scope.marks.push(mark);
    return true;
  }

  /** Runs a transaction block (`consumer.transaction(...)`). */
  async run<T>(body: (tx: TransactionHandle) => Promise<T>, offsetsInTransaction: boolean): Promise<T> {
    const outer = markScopes.getStore();
    if (outer?.batch && outer.topic === this.#ports.topic && outer.partition === this.#ports.partition) {
      return body(this.#handle(outer.send, () => {
        throw new TransactionError("abort() is not available under transactionScope 'batch': throw to fail the batch (it is aborted and retried)");
      }));
    }
    if (activeTransaction() || outer) {
      throw new TransactionError('Nested transactions are not supported: this block already runs inside a transaction.');
    }
    return this.#exclusive(async () => {
      let aborted = false;
      const result = await this.#transact(
        (scope) => body(this.#handle(scope.send, () => (aborted = true))),
        false,
        offsetsInTransaction,
        () => aborted,
      );
      return result.value as T;
    });
  }

  /**
   * Runs a whole batch in one transaction (transactionScope 'batch'): `run` returns the lanes'
   * errors; with none, `extraMarks` are added and the batch's position is committed with its output.
   * Any error aborts everything the batch produced and marked.
   */
  runBatch(run: () => Promise<Error[]>, extraMarks: () => OffsetAndMetadata[]): Promise<Error[]> {
    return this.#exclusive(async () => {
      let laneErrors: Error[] = [];
      try {
        await this.#transact(
          async (scope) => {
            laneErrors = await run();
            if (laneErrors.length === 0) scope.marks.push(...extraMarks());
          },
          true,
          true,
          () => laneErrors.length > 0,
        );
      } catch (error) {
        return [toError(error)];
      }
      return laneErrors;
    });
  }

  /**
   * Fences a previous owner of this partition: initializing the producer id waits until any
   * transaction it left open is completed or aborted, after which the group's committed offset for
   * the partition is stable (kafkajs cannot ask the broker for stable offsets itself).
   */
  prepare(): Promise<void> {
    return this.#exclusive(async () => {
      const transaction = await this.#begin();
      await transaction.abort().catch(async (error: unknown) => {
        await this.#ports.resetProducer();
        throw error;
      });
    });
  }

  /** Waits for the running transaction to end. */
  async idle(): Promise<void> {
    await this.#queue.catch(() => undefined);
  }

  async #transact(
    body: (scope: MarkScope) => Promise<unknown>,
    batch: boolean,
    offsetsInTransaction: boolean,
    shouldAbort: () => boolean,
  ): Promise<{ value: unknown }> {
    const { topic, partition } = this.#ports;
    if (this.#ports.revoked()) throw new TransactionError(`${topic}/${partition} was revoked; the transaction did not start`);
    const transaction = await this.#begin();
    let sending: Promise<unknown> = Promise.resolve();
    const send = (messages: readonly OutboundMessage[]) => {
      const sent = sending.then(() => transaction.send(messages));
      sending = sent.catch(() => undefined);
      return sent;
    };
    const scope: MarkScope = { topic, partition, marks: [], batch, send };
    let committed: OffsetAndMetadata | undefined;
    let value: unknown;
    try {
      value = await runInTransaction({ send }, () => markScopes.run(scope, () => body(scope)));
      await sending;
      if (shouldAbort()) {
        await this.#end(transaction);
        return { value };
      }
      if (this.#ports.revoked()) throw new TransactionError(`${topic}/${partition} was revoked before the commit; the transaction was aborted`);
      if (transaction.outcomeUnknown) throw new TransactionError(`A send of the transaction of ${topic}/${partition} failed with an unknown outcome (caught inside the block); the transaction was not committed`);
      const position = offsetsInTransaction && scope.marks.length > 0 ? this.#ports.preview(scope.marks) : undefined;
      if (position) await transaction.sendOffsets(this.#ports.groupId, [{ topic, partition, offset: position.offset, metadata: this.#ports.commitMetadata(position) }]);
      await transaction.commit();
      committed = position;
    } catch (error) {
      await this.#end(transaction);
      throw error;
    }
    this.#ports.apply(scope.marks, committed);
    return { value };
  }

  /**
   * Ends a failed transaction. After an error whose outcome is unknown (a timeout, a lost
   * connection) the producer is not used again, not even to abort: it is closed, and the next
   * transaction's new producer (same transactional id) fences it and aborts what it left open.
   * Otherwise the transaction is aborted, and the producer re-created if the abort fails too.
   */
  async #end(transaction: KafkaTransaction): Promise<void> {
    if (transaction.outcomeUnknown) {
      await this.#ports.resetProducer();
      return;
    }
    await transaction.abort().catch(async () => {
      await this.#ports.resetProducer();
    });
  }

  async #begin(): Promise<KafkaTransaction> {
    try {
      return await this.#ports.begin();
    } catch (error) {
      await this.#ports.resetProducer();
      throw error;
    }
  }

  #handle(send: (messages: readonly OutboundMessage[]) => Promise<Delivery[]>, abort: () => void): TransactionHandle {
    return {
      produce: (messages) => send(Array.isArray(messages) ? messages : [messages]),
      abort,
    };
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
