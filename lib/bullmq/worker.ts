import { EventEmitter } from 'node:events';
import { createApp, InvalidOptionError, UnsupportedOptionError, type App, type Logger } from '../index.ts';
import { toError } from '../errors.ts';
import { kafkaConnectionOf, type ConnectionOptions } from './connection.ts';
import { BULLMQ_JOB_NAME, BullMQJob, Job, type JobProgress, type JobReporter } from './job.ts';
import type { KeepJobs } from './options.ts';

/** BullMQ's processor: gets the job, returns (a promise of) its result; a throw fails the attempt. */
export type Processor<DataType = any, ResultType = any, NameType extends string = string> = (
  job: Job<DataType, ResultType, NameType>,
  token?: string,
  signal?: AbortSignal,
) => Promise<ResultType>;

/** Options of a {@link Worker}. */
export interface WorkerOptions {
  /** The Kafka brokers. @defaultValue `KAFKA_BROKERS`, else `127.0.0.1:9092` */
  connection?: ConnectionOptions;
  /**
   * Jobs run at once per partition of the queue's topic: the lanes of each partition. Jobs of one
   * `group.id` never run at once. @defaultValue 1
   */
  concurrency?: number;
  /** Start consuming in the constructor; with `false`, call `run()`. @defaultValue true */
  autorun?: boolean;
  /**
   * Partitions of the queue's topic, created with it when it is missing (with its delay tiers and
   * its dead-letter topic `<queue>.failed`). More partitions let more worker processes share the
   * queue. An existing topic keeps its partitions. @defaultValue 1
   */
  partitions?: number;
  /** The consumer group; the worker processes of one queue share it. @defaultValue `bullmq-<queue>` */
  groupId?: string;
  /** Where the worker logs (any pino logger). @defaultValue Partita's process logger */
  logger?: Logger;
  /** No effect: Kafka keeps messages for the topic's retention. */
  removeOnComplete?: boolean | number | KeepJobs;
  /** No effect: failed jobs stay in the dead-letter topic for its retention. */
  removeOnFail?: boolean | number | KeepJobs;
  /** No effect: a job's partition stays assigned however long it runs (no locks to renew). */
  lockDuration?: number;
  /** No effect: there are no stalled jobs to look for; a lost partition's jobs run again on its next owner. */
  stalledInterval?: number;
  /** No effect (see `stalledInterval`). */
  maxStalledCount?: number;
  /** No effect: the worker fetches as soon as the topic has messages. */
  drainDelay?: number;
  /** No effect: the queue's topic is its name. */
  prefix?: string;
  /** No effect: the worker's client id is its group id. */
  name?: string;
  /** Refused: rate limits are not supported; bound the work with `concurrency` and partitions. */
  limiter?: never;
  /** Refused: processors run in the worker's own thread (give a function, not a file). */
  useWorkerThreads?: never;
}

/** The events of a {@link Worker}, BullMQ's names and arguments. */
export interface WorkerListener<DataType = any, ResultType = any, NameType extends string = string> {
  /** An attempt started. */
  active: (job: Job<DataType, ResultType, NameType>, prev: string) => void;
  /** An attempt succeeded, with the processor's result. */
  completed: (job: Job<DataType, ResultType, NameType>, result: ResultType, prev: string) => void;
  /** An attempt failed (it is retried while `attempts` last, then dead-lettered). */
  failed: (job: Job<DataType, ResultType, NameType> | undefined, error: Error, prev: string) => void;
  /** The processor called `job.updateProgress`. */
  progress: (job: Job<DataType, ResultType, NameType>, progress: JobProgress) => void;
  /** The worker ran every job it had fetched and none is running. */
  drained: () => void;
  /** Something went wrong outside a job (the broker, a commit, a bad message). */
  error: (failedReason: Error) => void;
  /** The worker joined its group and consumes. */
  ready: () => void;
  /** `pause()` took effect. */
  paused: () => void;
  /** `resume()` took effect. */
  resumed: () => void;
  /** `close()` began. */
  closing: (msg: string) => void;
  /** `close()` ended. */
  closed: () => void;
}

const REFUSED_WORKER_OPTIONS: Record<string, string> = {
  limiter: 'rate limits are not supported on Kafka here. Bound the work with concurrency (lanes) and the topic\'s partitions instead',
  useWorkerThreads: 'processors run in the worker\'s own thread. Give the processor as a function',
};
const WORKER_OPTIONS = [
  'connection', 'concurrency', 'autorun', 'partitions', 'groupId', 'logger', 'removeOnComplete', 'removeOnFail',
  'lockDuration', 'stalledInterval', 'maxStalledCount', 'drainDelay', 'prefix', 'name',
];

/**
 * BullMQ's `Worker` on Kafka: a Partita worker app consuming the queue's topic in the group
 * `bullmq-<queue>`, running `processor` for each job. `concurrency` is the lanes of each
 * partition; jobs of one `group.id` run in order. A failed attempt is retried as the job's
 * `attempts` and `backoff` say (through the delay tiers); then the job is a dead letter in
 * `<queue>.failed`.
 *
 * ```ts
 * const worker = new Worker('mail', async (job) => send(job.data), { concurrency: 8 });
 * worker.on('completed', (job, result) => console.log(job.id, result));
 * ```
 */
export class Worker<DataType = any, ResultType = any, NameType extends string = string> extends EventEmitter {
  /** The queue's name: its Kafka topic. */
  readonly name: string;
  /** The options given to the constructor. */
  readonly opts: WorkerOptions;
  /** The Partita app underneath: its events, `logger` and `stop()`. */
  readonly app: App;
  #running: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #closed!: () => void;
  readonly #whenClosed = new Promise<void>((resolve) => (this.#closed = resolve));
  #ready: Promise<void> | undefined;
  /** Batches started and not completed, per partition of the queue's topic. */
  readonly #openBatches = new Map<number, number>();

  /**
   * @param name the queue, which is the Kafka topic
   * @param processor runs each attempt of a job; its result is the `completed` event's, a throw fails the attempt
   * @param opts the connection, `concurrency`, `autorun` and the topic's `partitions`
   */
  constructor(name: string, processor: Processor<DataType, ResultType, NameType>, opts: WorkerOptions = {}) {
    super();
    const where = `Worker(${name})`;
    if (typeof processor !== 'function') {
      throw new UnsupportedOptionError(`${where}.processor`, 'sandboxed processors (a file path) are not supported; give the processor as a function');
    }
    if (opts === null || typeof opts !== 'object') throw new InvalidOptionError(`${where}.opts`, 'expected an object');
    for (const [option, value] of Object.entries(opts)) {
      if (value === undefined) continue;
      const refusal = REFUSED_WORKER_OPTIONS[option];
      if (refusal) throw new UnsupportedOptionError(`${where}.opts.${option}`, refusal);
      if (!WORKER_OPTIONS.includes(option)) throw new InvalidOptionError(`${where}.opts.${option}`, `unknown option (known: ${WORKER_OPTIONS.join(', ')})`);
    }
    const concurrency = positiveInteger(`${where}.opts.concurrency`, opts.concurrency ?? 1);
    const partitions = positiveInteger(`${where}.opts.partitions`, opts.partitions ?? 1);
    this.name = name;
    this.opts = opts;
    const groupId = opts.groupId ?? `bullmq-${name}`;
    const reporter = this.#reporter();
    const worker = this;
    class ProcessedJob extends BullMQJob {
      static override jobName = BULLMQ_JOB_NAME;
      override async perform(): Promise<unknown> {
        return worker.#process(new Job<DataType, ResultType, NameType>(this, reporter), processor, this.signal);
      }
    }
    this.app = createApp({
      clientId: groupId,
      groupId,
      kafka: kafkaConnectionOf(opts.connection, `${where}.connection`),
      jobs: [ProcessedJob],
      ...(opts.logger ? { logger: opts.logger } : {}),
    }).routes((r) => {
      r.activeJobTopic(name, (t) => {
        t.config({ partitions })
          // Bad input (a message that is no job) is retried once, then dead-lettered; jobs' own
          // failures follow their attempts and backoff.
          .deadLetterQueue({ topic: `${name}.failed`, maxRetries: 1 });
        if (concurrency > 1) t.virtualPartitions({ partitioner: (message) => message.headers['job-key'], maxPartitions: concurrency });
      });
    });
    this.#followBatches();
    this.app.on('error', ({ error }) => this.#emitError(error));
    if (opts.autorun !== false) this.run().catch((error: unknown) => this.#emitError(toError(error)));
  }

  /**
   * Joins the group and consumes until `close()`. Resolves when the worker is closed (as BullMQ's
   * main loop does); `waitUntilReady()` resolves once it consumes. Rejects when the worker cannot
   * start (the broker unreachable, the topic unusable).
   */
  run(): Promise<void> {
    if (this.#running) return Promise.reject(new InvalidOptionError(`Worker(${this.name}).run`, 'the worker is already running'));
    if (this.#closing) return Promise.reject(new InvalidOptionError(`Worker(${this.name}).run`, 'the worker is closed'));
    const started = this.app.run().then(() => void this.emit('ready'));
    this.#ready = started;
    this.#running = started.then(() => this.#whenClosed);
    return this.#running;
  }

  /** Resolves once the worker consumes (after `run()`, or at once with `autorun`); rejects when it could not start. */
  async waitUntilReady(): Promise<void> {
    if (!this.#ready) throw new InvalidOptionError(`Worker(${this.name}).waitUntilReady`, 'the worker is not running; call run() first');
    await this.#ready;
  }

  /** True between `run()` and `close()`. */
  isRunning(): boolean {
    return this.#running !== undefined && this.#closing === undefined;
  }

  /**
   * Starts no further job until `resume()`; running jobs finish (and are committed). The worker
   * keeps its partitions; fetching stops once `maxBufferedMessages` wait. `doNotWaitActive` is
   * accepted: this resolves at once either way.
   */
  async pause(_doNotWaitActive?: boolean): Promise<void> {
    if (this.app.paused) return;
    this.app.pause();
    this.emit('paused');
  }

  /** Lets jobs start again after `pause()`. */
  async resume(): Promise<void> {
    if (!this.app.paused) return;
    this.app.resume();
    this.emit('resumed');
  }

  /** True between `pause()` and `resume()`. */
  isPaused(): boolean {
    return this.app.paused;
  }

  /**
   * Stops gracefully: no new job starts, running jobs finish within the app's `shutdownTimeoutMs`,
   * what finished is committed, the worker leaves its group. Jobs not started run on the next
   * worker. `force` is accepted; the stop is graceful either way. Idempotent.
   */
  close(_force?: boolean): Promise<void> {
    this.#closing ??= (async () => {
      this.emit('closing', 'closing the worker');
      try {
        await this.app.stop();
      } finally {
        this.#closed();
        this.emit('closed');
      }
    })();
    return this.#closing;
  }

  async #process(job: Job<DataType, ResultType, NameType>, processor: Processor<DataType, ResultType, NameType>, signal: AbortSignal): Promise<unknown> {
    job.processedOn = Date.now();
    this.emit('active', job, 'waiting');
    try {
      const result = await processor(job, undefined, signal);
      job.returnvalue = result;
      job.finishedOn = Date.now();
      this.emit('completed', job, result, 'active');
      return result;
    } catch (cause) {
      const error = toError(cause);
      job.failedReason = error.message;
      job.attemptsMade += 1;
      job.finishedOn = Date.now();
      this.emit('failed', job, error, 'active');
      throw cause;
    }
  }

  #reporter(): JobReporter {
    return {
      progress: (job, progress) => void this.emit('progress', job, progress),
      log: (job, row) => this.app.logger.info({ event: 'job.log', jobId: job.id, topic: this.name }, row),
    };
  }

  /**
   * `drained`: the last batch of the queue's topic running on this worker ended and no other started
   * meanwhile. Batches of one partition overlap (lanes take the next batch's runs while slower lanes
   * still run), so each partition counts its open batches.
   */
  #followBatches(): void {
    const open = this.#openBatches;
    const ended = (partition: number, all: boolean) => {
      const count = open.get(partition);
      if (count === undefined) return;
      if (all || count <= 1) open.delete(partition);
      else open.set(partition, count - 1);
      if (open.size > 0) return;
      setImmediate(() => {
        if (open.size === 0 && !this.#closing) this.emit('drained');
      });
    };
    this.app.on('batch.started', ({ topic, partition }) => void (topic === this.name && open.set(partition, (open.get(partition) ?? 0) + 1)));
    this.app.on('batch.completed', ({ topic, partition }) => void (topic === this.name && ended(partition, false)));
    this.app.on('partition.revoked', ({ topic, partition }) => void (topic === this.name && ended(partition, true)));
  }

  /** BullMQ's `error` event; without a listener the app's logger has already logged it. */
  #emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

export interface Worker<DataType, ResultType, NameType extends string> {
  /** Listens to a worker event (BullMQ's names and arguments). */
  on<U extends keyof WorkerListener<DataType, ResultType, NameType>>(event: U, listener: WorkerListener<DataType, ResultType, NameType>[U]): this;
  /** Listens to a worker event once. */
  once<U extends keyof WorkerListener<DataType, ResultType, NameType>>(event: U, listener: WorkerListener<DataType, ResultType, NameType>[U]): this;
  /** Stops listening. */
  off<U extends keyof WorkerListener<DataType, ResultType, NameType>>(event: U, listener: WorkerListener<DataType, ResultType, NameType>[U]): this;
  /** Emits a worker event. */
  emit<U extends keyof WorkerListener<DataType, ResultType, NameType>>(event: U, ...args: Parameters<WorkerListener<DataType, ResultType, NameType>[U]>): boolean;
}

function positiveInteger(option: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1) throw new InvalidOptionError(option, `expected an integer >= 1, got ${String(value)}`);
  return value as number;
}
