// Invariant: transactions begin on one producer at a time, connected on first use; once closed or failed to connect, a producer is never used again.
import type { KafkaTransaction } from '../kafka/producer.ts';

/** The transactional producer a partition's transactions run on. */
export interface TransactionalSender {
  connect(): Promise<void>;
  beginTransaction(): Promise<KafkaTransaction>;
  disconnect(): Promise<void>;
}

/**
 * The lifecycle of one partition's transactional producer: created and connected when the first
 * transaction begins, closed when the partition ends or the producer broke (fenced, an outcome
 * unknown); the next transaction then gets a new one, whose transactional id fences the old one.
 */
export class TransactionalProducer {
  readonly #create: () => TransactionalSender;
  #current: Promise<TransactionalSender> | undefined;

  /** `create` makes a new, unconnected producer with the partition's transactional id. */
  constructor(create: () => TransactionalSender) {
    this.#create = create;
  }

  /** Begins a transaction on the current producer, creating and connecting one first if there is none. */
  async begin(): Promise<KafkaTransaction> {
    return (await this.#ready()).beginTransaction();
  }

  /** Disconnects the current producer (errors ignored: it is not used again). */
  async close(): Promise<void> {
    const closing = this.#current;
    this.#current = undefined;
    const sender = await closing?.catch(() => undefined);
    await sender?.disconnect().catch(() => undefined);
  }

  #ready(): Promise<TransactionalSender> {
    if (!this.#current) {
      const sender = this.#create();
      const connecting = sender.connect().then(() => sender);
      this.#current = connecting;
      connecting.catch(() => {
        if (this.#current === connecting) this.#current = undefined;
      });
    }
    return this.#current;
  }
}
