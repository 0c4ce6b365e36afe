import { EventEmitter } from 'node:events';
import { InvalidOptionError } from '../index.ts';
import { subscribeReports, type TopicTail } from '../reports/index.ts';
import { kafkaConnectionOf, type ConnectionOptions } from './connection.ts';
import { BULLMQ_JOB_NAME } from './job.ts';

/** Options of {@link QueueEvents}. */
export interface QueueEventsOptions {
  /** The Kafka brokers. @defaultValue `KAFKA_BROKERS`, else `127.0.0.1:9092` */
  connection?: ConnectionOptions;
  /** Start listening in the constructor; with `false`, call `run()`. @defaultValue true */
  autorun?: boolean;
  /** No effect: the queue's topic is its name. */
  prefix?: string;
}

/** The events of {@link QueueEvents}, BullMQ's names and arguments (those the worker reports carry). */
export interface QueueEventsListener {
  /**
   * A worker's attempt of a job failed (every failed attempt, from the errors topic, as it is
   * reported; the job is retried while its attempts last, then dead-lettered).
   */
  failed: (args: { jobId: string; failedReason: string; prev?: string }, id: string) => void;
  /**
   * A job was seen running in a worker's periodic report (sampled: a job shorter than the report
   * interval may not be seen).
   */
  active: (args: { jobId: string; prev?: string }, id: string) => void;
  /** Reading the reports failed. */
  error: (error: Error) => void;
}

/**
 * BullMQ's `QueueEvents`, fed from the worker reports (`partita/reports`): the failures the queue's
 * workers report, and the jobs their periodic reports show running, from any process. Per-job
 * `completed` and `progress` are not in the reports: listen to them on the `Worker`.
 */
export class QueueEvents extends EventEmitter {
  /** The queue's name: its Kafka topic. */
  readonly name: string;
  /** The options given to the constructor. */
  readonly opts: QueueEventsOptions;
  readonly #connection: ReturnType<typeof kafkaConnectionOf>;
  #tail: TopicTail | undefined;
  /** Jobs already reported `active` (the latest report's running jobs). */
  #seenRunning = new Set<string>();

  /**
   * @param name the queue whose workers' reports are followed
   * @param opts the connection and `autorun`
   */
  constructor(name: string, opts: QueueEventsOptions = {}) {
    super();
    if (opts === null || typeof opts !== 'object') throw new InvalidOptionError(`QueueEvents(${name}).opts`, 'expected an object');
    this.name = name;
    this.opts = opts;
    this.#connection = kafkaConnectionOf(opts.connection, `QueueEvents(${name}).connection`);
    if (opts.autorun !== false) void this.run();
  }

  /** Starts following the reports; resolves once reports written from now on are received. Idempotent. */
  async run(): Promise<void> {
    this.#tail ??= subscribeReports(this.#connection, {
      error: (report) => {
        if (report.topic !== this.name || report.kind !== 'job.failed' || report.jobClass !== BULLMQ_JOB_NAME || report.jobId === null) return;
        this.emit('failed', { jobId: report.jobId, failedReason: report.message, prev: 'active' }, `${report.at}`);
      },
      report: (report) => {
        const running = report.runningJobs.filter((job) => job.topic === this.name && job.jobClass === BULLMQ_JOB_NAME);
        for (const job of running) {
          if (!this.#seenRunning.has(job.jobId)) this.emit('active', { jobId: job.jobId, prev: 'waiting' }, `${report.at}`);
        }
        this.#seenRunning = new Set(running.map((job) => job.jobId));
      },
      failure: (error) => {
        if (this.listenerCount('error') > 0) this.emit('error', error);
      },
    });
    await this.#tail.ready;
  }

  /** Resolves once listening (see `run()`). */
  waitUntilReady(): Promise<void> {
    return this.run();
  }

  /** Stops listening. Idempotent. */
  async close(): Promise<void> {
    await this.#tail?.close();
  }
}

export interface QueueEvents {
  /** Listens to a queue event (BullMQ's names and arguments). */
  on<U extends keyof QueueEventsListener>(event: U, listener: QueueEventsListener[U]): this;
  /** Listens to a queue event once. */
  once<U extends keyof QueueEventsListener>(event: U, listener: QueueEventsListener[U]): this;
  /** Stops listening. */
  off<U extends keyof QueueEventsListener>(event: U, listener: QueueEventsListener[U]): this;
  /** Emits a queue event. */
  emit<U extends keyof QueueEventsListener>(event: U, ...args: Parameters<QueueEventsListener[U]>): boolean;
}
