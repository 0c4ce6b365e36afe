import { DispatcherClosedError, InvalidOptionError, MessageTooLargeError } from '../errors.ts';
import { TypedEmitter } from '../events.ts';
import { messageBytes, type Delivery, type MessageSender, type OutboundMessage } from './message.ts';
import { activeTransaction } from './transaction-context.ts';

/** Bounds of the dispatcher's accumulator. */
export interface DispatcherOptions {
  /** Most messages in one produce request. Default 1000. */
  batchSize?: number;
  /** Most bytes in one produce request (keep under the broker's `message.max.bytes`). Default 900 000. */
  batchBytes?: number;
  /** How long async messages wait for company before a request is sent. Default 5 ms. */
  lingerMs?: number;
  /** Async callers wait (backpressure) while this many messages are buffered. Default 100 000. */
  maxBufferedMessages?: number;
  /** Largest single message accepted. Default 1 000 000 bytes (the broker's default limit). */
  maxMessageBytes?: number;
  /** Attempts for an async batch (each after the client's own retries) before it is reported lost. Default 5. */
  deliveryAttempts?: number;
  /** First wait between async delivery attempts, doubled each time. Default 500 ms. */
  retryBackoffMs?: number;
}

/** Events a dispatcher emits. */
export interface DispatcherEvents {
  [name: string]: unknown;
  /** An async batch could not be delivered after every attempt; its messages are lost. */
  'delivery.failed': { messages: OutboundMessage[]; error: Error; attempts: number };
  /** An async batch failed once and will be retried. */
  'delivery.retry': { messages: number; error: Error; attempt: number; waitMs: number };
  /** A batch reached the broker. */
  'delivery.sent': { messages: number; bytes: number };
  error: { error: Error };
}

interface Entry {
  message: OutboundMessage;
  bytes: number;
  /** Present for produceSync: settles with the broker's answer. */
  settle?: { resolve: (delivery: Delivery) => void; reject: (error: Error) => void };
}

const DEFAULTS: Required<DispatcherOptions> = {
  batchSize: 1000,
  batchBytes: 900_000,
  lingerMs: 5,
  maxBufferedMessages: 100_000,
  maxMessageBytes: 1_000_000,
  deliveryAttempts: 5,
  retryBackoffMs: 500,
};

/**
 * Sends messages through one producer, one request at a time (idempotent producers need serialized
 * sends). Sync messages are sent at once and resolve on the ack; async ones accumulate for up to
 * `lingerMs` or `batchSize` and resolve once buffered. Everything goes out in arrival order.
 */
export class Dispatcher extends TypedEmitter<DispatcherEvents> {
  readonly options: Required<DispatcherOptions>;
  readonly #sender: MessageSender;
  readonly #queue: Entry[] = [];
  #sending = false;
  #lingerTimer: NodeJS.Timeout | undefined;
  #flushRequests = 0;
  #idleWaiters: (() => void)[] = [];
  #spaceWaiters: (() => void)[] = [];
  #closed = false;
  #connected: Promise<void> | undefined;

  constructor(sender: MessageSender, options: DispatcherOptions = {}) {
    super();
    this.#sender = sender;
    this.options = validateOptions(options);
  }

  /** Messages buffered and not yet acknowledged. */
  get buffered(): number {
    return this.#queue.length;
  }

  /**
   * Sends now and resolves with each message's delivery once the broker acknowledged it. Inside a
   * transaction block the messages join the transaction instead (visible when it commits).
   */
  async produceSync(messages: readonly OutboundMessage[]): Promise<Delivery[]> {
    const entries = this.#admit(messages);
    const transaction = activeTransaction();
    if (transaction) return transaction.send(messages);
    const deliveries = entries.map(
      (entry) => new Promise<Delivery>((resolve, reject) => (entry.settle = { resolve, reject })),
    );
    this.#queue.push(...entries);
    this.#pump();
    return Promise.all(deliveries);
  }

  /**
   * Buffers messages for a batched send; resolves once they are buffered. Inside a transaction
   * block the messages join the transaction instead, and this resolves once they are sent into it.
   */
  async produceAsync(messages: readonly OutboundMessage[]): Promise<void> {
    const entries = this.#admit(messages);
    const transaction = activeTransaction();
    if (transaction) {
      await transaction.send(messages);
      return;
    }
    while (this.#queue.length >= this.options.maxBufferedMessages && !this.#closed) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
    if (this.#closed) throw new DispatcherClosedError('The dispatcher was closed while waiting for buffer space');
    this.#queue.push(...entries);
    this.#pump();
  }

  /** Sends everything buffered now and resolves when it was acknowledged (or reported lost). */
  async flush(): Promise<void> {
    if (this.#queue.length === 0 && !this.#sending) return;
    this.#flushRequests += 1;
    try {
      const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      this.#pump();
      await idle;
    } finally {
      this.#flushRequests -= 1;
    }
  }

  /** Refuses new messages, delivers what is buffered, then disconnects the producer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of this.#spaceWaiters.splice(0)) wake();
    await this.flush();
    if (this.#connected) await this.#sender.disconnect();
  }

  #admit(messages: readonly OutboundMessage[]): Entry[] {
    if (this.#closed) throw new DispatcherClosedError('The dispatcher is closed; messages can no longer be sent');
    return messages.map((message) => {
      const bytes = messageBytes(message);
      if (bytes > this.options.maxMessageBytes) {
        throw new MessageTooLargeError(
          `A message for topic "${message.topic}" (key ${JSON.stringify(message.key)}) is ${bytes} bytes, ` +
            `over maxMessageBytes (${this.options.maxMessageBytes}); make the payload smaller or raise ` +
            'maxMessageBytes together with the broker/topic max.message.bytes.',
        );
      }
      return { message, bytes };
    });
  }

  /** Starts a send now, or after the linger time when only a small async batch waits. */
  #pump(): void {
    if (this.#sending || this.#queue.length === 0) {
      if (!this.#sending && this.#queue.length === 0) this.#wakeIdle();
      return;
    }
    const urgent =
      this.#closed ||
      this.#flushRequests > 0 ||
      this.#queue.length >= this.options.batchSize ||
      this.#queue.some((entry) => entry.settle !== undefined);
    if (urgent) {
      if (this.#lingerTimer) clearTimeout(this.#lingerTimer);
      this.#lingerTimer = undefined;
      void this.#sendLoop();
    } else if (!this.#lingerTimer) {
      this.#lingerTimer = setTimeout(() => {
        this.#lingerTimer = undefined;
        void this.#sendLoop();
      }, this.options.lingerMs);
    }
  }

  async #sendLoop(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#takeBatch();
        await this.#deliver(batch);
        for (const wake of this.#spaceWaiters.splice(0)) wake();
      }
    } finally {
      this.#sending = false;
      this.#wakeIdle();
    }
  }

  #takeBatch(): Entry[] {
    let count = 0;
    let bytes = 0;
    while (count < this.#queue.length && count < this.options.batchSize) {
      const next = this.#queue[count]!.bytes;
      if (count > 0 && bytes + next > this.options.batchBytes) break;
      bytes += next;
      count += 1;
    }
    return this.#queue.splice(0, count);
  }

  /** Sync entries get the client's answer; async entries are retried with backoff, then reported. */
  async #deliver(batch: Entry[]): Promise<void> {
    let pending = batch;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#ensureConnected();
        const deliveries = await this.#sender.send(pending.map((entry) => entry.message));
        pending.forEach((entry, index) => entry.settle?.resolve(deliveries[index]!));
        this.emit('delivery.sent', { messages: pending.length, bytes: pending.reduce((n, e) => n + e.bytes, 0) });
        return;
      } catch (cause) {
        const error = cause instanceof Error ? cause : new Error(String(cause));
        for (const entry of pending) entry.settle?.reject(error);
        pending = pending.filter((entry) => entry.settle === undefined);
        if (pending.length === 0) return;
        if (attempt >= this.options.deliveryAttempts) {
          this.emit('delivery.failed', { messages: pending.map((e) => e.message), error, attempts: attempt });
          this.emit('error', { error });
          return;
        }
        const waitMs = this.options.retryBackoffMs * 2 ** (attempt - 1);
        this.emit('delivery.retry', { messages: pending.length, error, attempt, waitMs });
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  #ensureConnected(): Promise<void> {
    this.#connected ??= this.#sender.connect().catch((error: unknown) => {
      this.#connected = undefined;
      throw error;
    });
    return this.#connected;
  }

  #wakeIdle(): void {
    if (this.#queue.length > 0 || this.#sending) return;
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }
}

function validateOptions(options: DispatcherOptions): Required<DispatcherOptions> {
  const resolved = { ...DEFAULTS, ...options };
  for (const [name, value] of Object.entries(resolved)) {
    const min = name === 'lingerMs' || name === 'retryBackoffMs' ? 0 : 1;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new InvalidOptionError(`dispatch.${name}`, `expected a number >= ${min}, got ${String(value)}`);
    }
  }
  return resolved;
}
