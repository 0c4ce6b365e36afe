import { DispatcherClosedError, InvalidOptionError, JobsLostError, MessageTooLargeError, type LostMessage, toError } from '../errors.ts';
import { TypedEmitter } from '../events.ts';
import { refuseUnknownOptions } from '../validation.ts';
import { JobHeaders } from '../job/envelope.ts';
import { currentDeliveryScope, type DeliveryOutcome } from './delivery-scope.ts';
import { reportLost, watchUndelivered } from './loss-report.ts';
import { messageBytes, type Delivery, type MessageSender, type OutboundMessage } from '../kafka/outbound-message.ts';
import { decideSend } from './send-policy.ts';
import { activeTransaction } from './transaction-context.ts';

/** Bounds of the dispatcher's accumulator. */
export interface DispatcherOptions {
  /** Most messages in one produce request. @defaultValue 1000 */
  batchSize?: number;
  /** Most bytes in one produce request (keep under the broker's `message.max.bytes`). @defaultValue 900 000 */
  batchBytes?: number;
  /**
   * How long async messages wait for company while no request is in flight. While one is, they
   * wait for its answer anyway and then go out together at once, so batching under load needs no
   * linger. 0: they go out at the end of the current event-loop turn, so messages enqueued together
   * share a request. @defaultValue 0 ms
   */
  lingerMs?: number;
  /** Async callers wait (backpressure) while this many messages are buffered. @defaultValue 100 000 */
  maxBufferedMessages?: number;
  /** Largest single message accepted. @defaultValue 1 000 000 bytes (the broker's default limit) */
  maxMessageBytes?: number;
  /**
   * How long a message may wait for the broker's acknowledgement, from the moment it was accepted,
   * connection attempts and retries included. Then it is given up: produceSync rejects with
   * `JobsLostError`; async messages are reported lost (`delivery.failed`, `close()` rejects, the
   * process exits non-zero). @defaultValue 30 000 ms
   */
  deliveryTimeoutMs?: number;
  /** First wait between async delivery attempts, doubled each time (within `deliveryTimeoutMs`). @defaultValue 500 ms */
  retryBackoffMs?: number;
}

/** How the owner of a dispatcher follows its work. @internal */
export interface DispatcherHooks {
  /** Called with true when the dispatcher gets messages to deliver, with false when it has none left. */
  onBusyChange?(busy: boolean): void;
}

/** How `close()` treats messages given to the dispatcher after it was called. */
export interface CloseOptions {
  /**
   * `'reject'`: produce calls after `close()`, and those still waiting for buffer space, reject
   * with `DispatcherClosedError`. `'hold'`: they never settle and nothing of theirs is accepted
   * (counted in `refused`); for a process that exits once the drain ends, so that a plain
   * `for (...) await X.performLater(...)` loop does not end the process with an unhandled rejection
   * before what it enqueued was delivered. @defaultValue 'reject'
   */
  refuse?: 'reject' | 'hold';
}

/** Events a dispatcher emits. */
export interface DispatcherEvents {
  /**
   * Async messages were given up (not acknowledged within `deliveryTimeoutMs`): they are lost.
   * `lost` names their jobs. Without a listener, the loss also makes the process exit with status 1.
   */
  'delivery.failed': {
    /** The messages given up. */
    messages: OutboundMessage[];
    /** Their jobs (id, class, topic), for the report. */
    lost: LostMessage[];
    /** The error `close()` rejects with, naming them. */
    error: JobsLostError;
    /** Delivery attempts made. */
    attempts: number;
  };
  /** An async batch failed once and will be retried. */
  'delivery.retry': {
    /** Messages in the batch. */
    messages: number;
    /** Why the attempt failed. */
    error: Error;
    /** The attempt that failed: 1 the first time. */
    attempt: number;
    /** The wait before the next attempt, in ms. */
    waitMs: number;
  };
  /** A batch reached the broker. */
  'delivery.sent': {
    /** Messages in the batch. */
    messages: number;
    /** Their size, as the broker counts it (about). */
    bytes: number;
  };
  /** Something failed that the dispatcher goes on after. */
  error: {
    /** What went wrong. */
    error: Error;
  };
}

interface Entry {
  message: OutboundMessage;
  bytes: number;
  /** When the message is given up: accepted + deliveryTimeoutMs. */
  deadline: number;
  /** Present for produceSync: settles with the broker's answer. */
  settle?: { resolve: (delivery: Delivery) => void; reject: (error: Error) => void };
  /** Tells the delivery scope that produced the message how its delivery ended. */
  report?: (outcome: DeliveryOutcome) => void;
}

type AttemptResult = { sent: Delivery[] } | { error: Error } | { expired: true };

/** The dispatcher's bounds when none are given (an app's and `configure()`'s alike). */
export const DISPATCHER_DEFAULTS: Readonly<Required<DispatcherOptions>> = {
  batchSize: 1000,
  batchBytes: 900_000,
  lingerMs: 0,
  maxBufferedMessages: 100_000,
  maxMessageBytes: 1_000_000,
  deliveryTimeoutMs: 30_000,
  retryBackoffMs: 500,
};

/** A timer that keeps the process alive while messages wait for delivery. */
const KEEP_ALIVE_MS = 1 << 30;

/**
 * Sends messages through one producer, one request at a time (idempotent producers need serialized
 * sends). Sync messages are sent at once and resolve on the ack; async ones resolve once buffered
 * and are sent when the request in flight is answered, or, when none is, at the end of the event
 * loop's turn (after `lingerMs` when set), in requests of up to `batchSize` / `batchBytes`
 * (decided by `decideSend` in `send-policy.ts`). Everything goes out in arrival order.
 *
 * Every accepted message is delivered or reported: a message not acknowledged within
 * `deliveryTimeoutMs` is given up, and a lost async message makes `close()` reject with
 * `JobsLostError` and the process exit non-zero. While it has nothing to deliver, the dispatcher
 * keeps no timer of its own alive.
 */
export class Dispatcher extends TypedEmitter<DispatcherEvents> {
  /** The dispatcher's bounds, with their defaults filled in. */
  readonly options: Required<DispatcherOptions>;
  readonly #sender: MessageSender;
  readonly #hooks: DispatcherHooks;
  readonly #queue: Entry[] = [];
  /** Bytes of the buffered messages. */
  #queuedBytes = 0;
  /** Buffered produceSync messages (their callers wait for the broker). */
  #queuedSync = 0;
  #sending = false;
  #inFlight = 0;
  /** The scheduled send of buffered async messages (end of turn or linger), if any. */
  #scheduledSend: { cancel(): void } | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  #flushRequests = 0;
  #idleWaiters: (() => void)[] = [];
  #spaceWaiters: (() => void)[] = [];
  #closed = false;
  #refuse: 'reject' | 'hold' = 'reject';
  #refused = 0;
  #closing: Promise<void> | undefined;
  #connected: Promise<void> | undefined;
  /** A disconnect of an idle producer, awaited before connecting again. */
  #releasing: Promise<void> | undefined;
  /** A request given up on while still in flight: the next one waits for its answer (sends must not overlap). */
  #unanswered: Promise<void> | undefined;
  readonly #lost: LostMessage[] = [];
  #lastLoss: JobsLostError | undefined;

  constructor(sender: MessageSender, options: DispatcherOptions = {}, hooks: DispatcherHooks = {}) {
    super();
    this.#sender = sender;
    this.#hooks = hooks;
    this.options = resolveDispatcherOptions(options);
  }

  /** Messages buffered and not yet acknowledged. */
  get buffered(): number {
    return this.#queue.length;
  }

  /** Messages accepted and not yet acknowledged or given up: buffered or in a request. */
  get undelivered(): number {
    return this.#queue.length + this.#inFlight;
  }

  /** Messages refused after `close({ refuse: 'hold' })`. */
  get refused(): number {
    return this.#refused;
  }

  /** Async messages this dispatcher gave up (not told to any caller or delivery scope). */
  get lost(): readonly LostMessage[] {
    return this.#lost;
  }

  /**
   * Sends now and resolves with each message's delivery once the broker acknowledged it. Inside a
   * transaction block the messages join the transaction instead (visible when it commits). A
   * sender's error reaches the caller as it was thrown; a message not acknowledged within
   * `deliveryTimeoutMs` rejects with `JobsLostError`.
   */
  async produceSync(messages: readonly OutboundMessage[]): Promise<Delivery[]> {
    if (this.#closed) return this.#refuseMessages(messages.length, 'The dispatcher is closed; messages can no longer be sent');
    const entries = this.#admit(messages);
    const transaction = activeTransaction();
    if (transaction) return transaction.send(messages);
    const deliveries = entries.map(
      (entry) => new Promise<Delivery>((resolve, reject) => (entry.settle = { resolve, reject })),
    );
    this.#track(entries);
    this.#accept(entries);
    return Promise.all(deliveries);
  }

  /**
   * Buffers messages for a batched send; resolves once they are buffered. Inside a transaction
   * block the messages join the transaction instead, and this resolves once they are sent into it.
   * Once a full batch waits, each call yields to the event loop, so that a tight
   * `await performLater` loop lets requests go out while it enqueues.
   */
  async produceAsync(messages: readonly OutboundMessage[]): Promise<void> {
    if (this.#closed) return this.#refuseMessages(messages.length, 'The dispatcher is closed; messages can no longer be sent');
    const entries = this.#admit(messages);
    const transaction = activeTransaction();
    if (transaction) {
      await transaction.send(messages);
      return;
    }
    this.#track(entries);
    while (this.#queue.length >= this.options.maxBufferedMessages && !this.#closed) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
    if (this.#closed) {
      const error = new DispatcherClosedError('The dispatcher was closed while waiting for buffer space; the messages were not accepted');
      for (const entry of entries) entry.report?.({ lost: lostMessageOf(entry.message), error });
      return this.#refuseMessages(entries.length, error.message);
    }
    this.#accept(entries);
    if (this.#queue.length >= this.options.batchSize) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Sends everything buffered now and resolves when it was acknowledged (or given up). */
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

  /**
   * Refuses new messages, delivers what is buffered, then disconnects the producer. Rejects with
   * `JobsLostError` (naming every lost job) when async messages of this dispatcher were lost.
   * Calling it again returns the same outcome.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#refuse = options.refuse ?? 'reject';
      for (const wake of this.#spaceWaiters.splice(0)) wake();
    }
    this.#closing ??= this.#drainAndDisconnect();
    return this.#closing;
  }

  async #drainAndDisconnect(): Promise<void> {
    await this.flush();
    let disconnectError: unknown;
    if (this.#connected) await this.#sender.disconnect().catch((error: unknown) => (disconnectError = error));
    if (this.#lost.length > 0) {
      throw new JobsLostError(this.#lost, 'The dispatcher could not deliver them (see its delivery.failed events); enqueue them again.', { cause: this.#lastLoss });
    }
    if (disconnectError !== undefined) throw disconnectError;
  }

  /**
   * Disconnects the producer while the dispatcher has nothing to deliver; the next message
   * connects again. kafkajs keeps a timer per open connection, so an idle producer's connections
   * would keep a process alive. @internal
   */
  async release(): Promise<void> {
    while (this.#unanswered) await this.#unanswered;
    if (this.#queue.length > 0 || this.#sending || !this.#connected) return;
    const connected = this.#connected;
    this.#connected = undefined;
    const releasing = connected.then(
      () => this.#sender.disconnect().catch(() => undefined),
      () => undefined,
    );
    this.#releasing = releasing;
    await releasing;
    if (this.#releasing === releasing) this.#releasing = undefined;
  }

  #refuseMessages(count: number, reason: string): Promise<never> {
    if (this.#refuse === 'reject') throw new DispatcherClosedError(reason);
    this.#refused += count;
    return new Promise<never>(() => {});
  }

  #admit(messages: readonly OutboundMessage[]): Entry[] {
    return messages.map((message) => {
      const bytes = messageBytes(message);
      if (bytes > this.options.maxMessageBytes) {
        throw new MessageTooLargeError(
          `A message for topic "${message.topic}" (key ${JSON.stringify(message.key)}) is ${bytes} bytes, ` +
            `over maxMessageBytes (${this.options.maxMessageBytes}); make the payload smaller or raise ` +
            'maxMessageBytes together with the broker/topic max.message.bytes.',
        );
      }
      return { message, bytes, deadline: Infinity };
    });
  }

  /** Inside a delivery scope (a worker's lane), the scope learns how each message's delivery ends. */
  #track(entries: Entry[]): void {
    const scope = currentDeliveryScope();
    if (scope) for (const entry of entries) entry.report = scope.track();
  }

  #accept(entries: Entry[]): void {
    const deadline = Date.now() + this.options.deliveryTimeoutMs;
    for (const entry of entries) {
      entry.deadline = deadline;
      this.#queuedBytes += entry.bytes;
      if (entry.settle) this.#queuedSync += 1;
      this.#queue.push(entry);
    }
    this.#pump();
  }

  /** Takes `count` buffered entries from position `start` off the queue, keeping the buffered counts in step. */
  #dequeue(start: number, count: number): Entry[] {
    const taken = this.#queue.splice(start, count);
    for (const entry of taken) {
      this.#queuedBytes -= entry.bytes;
      if (entry.settle) this.#queuedSync -= 1;
    }
    return taken;
  }

  /** Starts a send now, at the end of this event-loop turn, or after the linger, as {@link decideSend} says. */
  #pump(): void {
    this.#updateBusy();
    const decision = decideSend(
      {
        buffered: this.#queue.length,
        bufferedBytes: this.#queuedBytes,
        inFlight: this.#sending,
        urgent: this.#closed || this.#flushRequests > 0 || this.#queuedSync > 0,
      },
      this.options,
    );
    if (decision === 'idle') {
      if (!this.#sending) this.#wakeIdle();
    } else if (decision === 'now') {
      this.#scheduledSend?.cancel();
      this.#scheduledSend = undefined;
      void this.#sendLoop();
    } else if (decision !== 'after-answer' && !this.#scheduledSend) {
      this.#scheduledSend = this.#scheduleSend(decision === 'linger' ? this.options.lingerMs : undefined);
    }
  }

  /** Runs the send loop at the end of this event-loop turn, or after `delayMs`. */
  #scheduleSend(delayMs: number | undefined): { cancel(): void } {
    const run = () => {
      this.#scheduledSend = undefined;
      void this.#sendLoop();
    };
    if (delayMs === undefined) {
      const immediate = setImmediate(run);
      return { cancel: () => clearImmediate(immediate) };
    }
    const timer = setTimeout(run, delayMs);
    return { cancel: () => clearTimeout(timer) };
  }

  async #sendLoop(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      while (this.#queue.length > 0) {
        this.#expireQueued();
        if (this.#queue.length === 0) break;
        const batch = this.#takeBatch();
        this.#inFlight = batch.length;
        try {
          await this.#deliver(batch);
        } finally {
          this.#inFlight = 0;
        }
        for (const wake of this.#spaceWaiters.splice(0)) wake();
      }
    } finally {
      this.#sending = false;
      this.#wakeIdle();
      this.#updateBusy();
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
    return this.#dequeue(0, count);
  }

  /** Gives up buffered messages whose deadline passed while earlier requests were waited for. */
  #expireQueued(): void {
    const now = Date.now();
    if (this.#queue[0]!.deadline > now) return;
    const expired: Entry[] = [];
    for (let index = this.#queue.length - 1; index >= 0; index -= 1) {
      if (this.#queue[index]!.deadline <= now) expired.unshift(...this.#dequeue(index, 1));
    }
    this.#giveUp(expired, this.#lastLoss?.cause, 0);
  }

  /**
   * Sync entries get the sender's answer as it is; async entries are retried with backoff. Entries
   * not acknowledged by their deadline are given up.
   */
  async #deliver(batch: Entry[]): Promise<void> {
    let pending = batch;
    for (let attempt = 1; ; attempt += 1) {
      const deadline = Math.min(...pending.map((entry) => entry.deadline));
      const result = await this.#attempt(pending, deadline);
      if ('sent' in result) {
        pending.forEach((entry, index) => {
          entry.settle?.resolve(result.sent[index]!);
          entry.report?.(undefined);
        });
        this.emit('delivery.sent', { messages: pending.length, bytes: pending.reduce((n, e) => n + e.bytes, 0) });
        return;
      }
      if ('expired' in result) {
        this.#giveUp(pending, undefined, attempt);
        return;
      }
      const { error } = result;
      for (const entry of pending) {
        if (!entry.settle) continue;
        entry.settle.reject(error);
        entry.report?.({ lost: lostMessageOf(entry.message), error });
      }
      pending = pending.filter((entry) => entry.settle === undefined);
      if (pending.length === 0) return;
      const waitMs = this.options.retryBackoffMs * 2 ** (attempt - 1);
      if (Date.now() + waitMs >= deadline) {
        this.#giveUp(pending, error, attempt);
        return;
      }
      this.emit('delivery.retry', { messages: pending.length, error, attempt, waitMs });
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  /**
   * One request (after the answer to an earlier request given up on, and a connection): its
   * result, or `expired` at `deadline`. An expired request stays unanswered; the next waits for it.
   */
  async #attempt(entries: Entry[], deadline: number): Promise<AttemptResult> {
    const request = (async () => {
      if (this.#unanswered) await this.#unanswered;
      await this.#ensureConnected();
      return this.#sender.send(entries.map((entry) => entry.message));
    })().then(
      (sent): AttemptResult => ({ sent }),
      (cause: unknown): AttemptResult => ({ error: toError(cause) }),
    );
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<AttemptResult>((resolve) => {
      timer = setTimeout(() => resolve({ expired: true }), Math.max(0, deadline - Date.now()));
    });
    try {
      const result = await Promise.race([request, expired]);
      if ('expired' in result) {
        const unanswered = request.then(() => undefined);
        this.#unanswered = unanswered;
        void unanswered.then(() => {
          if (this.#unanswered === unanswered) this.#unanswered = undefined;
        });
      }
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reports entries lost: sync callers and delivery scopes are told; the others are this dispatcher's (and the process's) losses. */
  #giveUp(entries: Entry[], cause: unknown, attempts: number): void {
    if (entries.length === 0) return;
    const lost = entries.map((entry) => lostMessageOf(entry.message));
    const reason = cause instanceof Error ? `; last error: ${cause.message}` : '';
    const error = new JobsLostError(
      lost,
      `The broker did not acknowledge them within deliveryTimeoutMs (${this.options.deliveryTimeoutMs} ms) of being accepted ` +
        `(${attempts} attempt${attempts === 1 ? '' : 's'})${reason}. Is Kafka reachable? They may have reached the broker if a request was in flight; enqueue them again.`,
      { cause },
    );
    const untold: LostMessage[] = [];
    entries.forEach((entry, index) => {
      entry.settle?.reject(error);
      entry.report?.({ lost: lost[index]!, error });
      if (!entry.settle && !entry.report) untold.push(lost[index]!);
    });
    this.#lastLoss = error;
    if (untold.length > 0) {
      this.#lost.push(...untold);
      // Nobody listening for delivery.failed: the loss is the process's, and sets its exit status.
      if (this.listenerCount('delivery.failed') === 0) reportLost(untold);
    }
    const async = entries.filter((entry) => !entry.settle);
    if (async.length > 0) {
      this.emit('delivery.failed', { messages: async.map((e) => e.message), lost: async.map((entry) => lostMessageOf(entry.message)), error, attempts });
      this.emit('error', { error });
    }
  }

  #ensureConnected(): Promise<void> {
    const releasing = this.#releasing;
    this.#connected ??= (releasing ? releasing.then(() => this.#sender.connect()) : this.#sender.connect()).catch((error: unknown) => {
      this.#connected = undefined;
      throw error;
    });
    return this.#connected;
  }

  /** Busy while messages wait: a timer keeps the process alive for them, and the owner is told (its sockets may follow). */
  #updateBusy(): void {
    const busy = this.#queue.length > 0 || this.#sending;
    if (busy === (this.#keepAlive !== undefined)) return;
    if (busy) this.#keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    else {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
    watchUndelivered(this, busy);
    this.#hooks.onBusyChange?.(busy);
  }

  #wakeIdle(): void {
    if (this.#queue.length > 0 || this.#sending) return;
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }
}

/** A message as a lost-message record: its job's id and class from the job headers, when it is a job. */
function lostMessageOf(message: OutboundMessage): LostMessage {
  const jobId = message.headers[JobHeaders.jobId];
  const jobClass = message.headers[JobHeaders.jobClass];
  return { topic: message.topic, ...(jobId === undefined ? {} : { jobId }), ...(jobClass === undefined ? {} : { jobClass }) };
}

/**
 * Validates dispatcher bounds and fills in {@link DISPATCHER_DEFAULTS}: an unknown name or a value
 * that is not a number in range is an {@link InvalidOptionError} naming `<option>.<name>`.
 * @param option the name errors start with, e.g. `createApp.dispatch`
 */
export function resolveDispatcherOptions(options: DispatcherOptions, option = 'dispatch'): Required<DispatcherOptions> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError(option, `expected an object, got ${String(options)}`);
  refuseUnknownOptions(option, options, Object.keys(DISPATCHER_DEFAULTS));
  const resolved = { ...DISPATCHER_DEFAULTS, ...options };
  for (const [name, value] of Object.entries(resolved)) {
    const min = name === 'lingerMs' || name === 'retryBackoffMs' ? 0 : 1;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new InvalidOptionError(`${option}.${name}`, `expected a number >= ${min}, got ${String(value)}`);
    }
  }
  return resolved;
}
