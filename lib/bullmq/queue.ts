import { ClusterReader, DeadLetters } from '../admin/index.ts';
import { configure, closeDispatcher, InvalidOptionError, UnsupportedOptionError, type Dispatcher } from '../index.ts';
import { liveProcesses } from '../reports/index.ts';
import { currentDispatcher, hasDispatcher } from '../dispatch/default-dispatcher.ts';
import { validateTopicName } from '../validation.ts';
import { kafkaConnectionOf, type ConnectionOptions } from './connection.ts';
import { BullMQJob, Job } from './job.ts';
import { checkJobsOptions, type JobsOptions } from './options.ts';

/** Options of a {@link Queue}. */
export interface QueueOptions {
  /** The Kafka brokers. @defaultValue `KAFKA_BROKERS`, else `127.0.0.1:9092` */
  connection?: ConnectionOptions;
  /** Options every `add` starts from; its own `opts` override them. */
  defaultJobOptions?: JobsOptions;
  /** No effect: the queue's topic is its name. */
  prefix?: string;
  /** The consumer group of the queue's workers, which `getJobCounts` reads (set it when their `groupId` is set). @defaultValue `bullmq-<queue>` */
  groupId?: string;
}

/** One job of `addBulk`. */
export interface BulkJob<DataType = any, NameType extends string = string> {
  /** The job's name. */
  name: NameType;
  /** The job's data (it must survive superjson, as Partita job arguments do). */
  data: DataType;
  /** The job's options. */
  opts?: JobsOptions;
}

/** Job states `getJobCounts` can count. */
export type JobType = 'waiting' | 'active' | 'delayed' | 'failed';

const JOB_TYPES: readonly JobType[] = ['waiting', 'active', 'delayed', 'failed'];

/**
 * The dispatcher queues configured because the process had none; shared by every queue of the
 * process and closed by `close()` of the queue that configured it.
 */
let configured: { dispatcher: Promise<Dispatcher>; owner: Queue } | undefined;

/**
 * BullMQ's `Queue` on Kafka: the queue is the Kafka topic of its name; `add` writes one message
 * (a Partita job) and resolves once the broker acknowledged it.
 *
 * ```ts
 * import { Queue } from 'partita/bullmq';
 * const queue = new Queue('mail', { connection: { brokers: ['127.0.0.1:9092'] } });
 * await queue.add('welcome', { to: 'ada@example.com' }, { attempts: 3, backoff: { type: 'exponential', delay: 1000 } });
 * ```
 *
 * Jobs are sent through the process's dispatcher (`configure()`); when the process has none, the
 * first `add` configures it from this queue's connection.
 */
export class Queue<DataType = any, ResultType = any, NameType extends string = string> {
  /** The queue's name: its Kafka topic. */
  readonly name: string;
  /** The options given to the constructor. */
  readonly opts: QueueOptions;
  readonly #connection: ReturnType<typeof kafkaConnectionOf>;
  readonly #adding = new Set<Promise<unknown>>();
  #closed = false;

  /**
   * @param name the queue, which is the Kafka topic (a valid topic name)
   * @param opts the connection and the options every `add` starts from
   */
  constructor(name: string, opts: QueueOptions = {}) {
    validateTopicName('Queue.name', name);
    if (opts === null || typeof opts !== 'object') throw new InvalidOptionError(`Queue(${name}).opts`, 'expected an object');
    this.name = name;
    this.opts = opts;
    this.#connection = kafkaConnectionOf(opts.connection, `Queue(${name}).connection`);
    if (opts.defaultJobOptions !== undefined) checkJobsOptions(`Queue(${name}).defaultJobOptions`, opts.defaultJobOptions);
  }

  /** The options `add` starts from. */
  get defaultJobOptions(): JobsOptions {
    return { ...this.opts.defaultJobOptions };
  }

  /**
   * Adds a job and resolves once the broker acknowledged it. `delay` makes it wait in the delay
   * tiers; `attempts` and `backoff` say how it is retried; `group.id` keys it (one group runs in
   * order). Options Kafka cannot honour are refused with an `UnsupportedOptionError`.
   */
  add(name: NameType, data: DataType, opts?: JobsOptions): Promise<Job<DataType, ResultType, NameType>> {
    return this.#track(this.#add(name, data, opts));
  }

  /** Adds several jobs in as few requests as possible; resolves once the broker acknowledged all of them. */
  addBulk(jobs: BulkJob<DataType, NameType>[]): Promise<Job<DataType, ResultType, NameType>[]> {
    if (!Array.isArray(jobs)) return Promise.reject(new InvalidOptionError(`Queue(${this.name}).addBulk`, 'expected an array of { name, data, opts? }'));
    return this.#track(Promise.all(jobs.map((job) => this.#add(job.name, job.data, job.opts))));
  }

  /**
   * How many jobs are in each state, read from Kafka and the worker reports (all four without
   * arguments). `waiting`: on the topic and not yet committed by the queue's consumer group (its
   * lag), less those running; `active`: running in live workers (their latest reports);
   * `delayed`: in the delay tiers, scheduled or waiting for a retry; `failed`: dead letters in
   * `<queue>.failed` not replayed yet. BullMQ's `completed`, `paused` and `prioritized` have no Kafka counterpart
   * and are refused.
   */
  async getJobCounts(...types: JobType[]): Promise<{ [index: string]: number }> {
    for (const type of types) {
      if (!JOB_TYPES.includes(type)) {
        throw new UnsupportedOptionError(
          `Queue(${this.name}).getJobCounts(${JSON.stringify(type)})`,
          `Kafka keeps no per-job state for "${type}"; count one of ${JOB_TYPES.join(', ')}`,
        );
      }
    }
    const cluster = new ClusterReader(this.#connection);
    const deadLetters = new DeadLetters({ kafka: this.#connection });
    const groupId = this.opts.groupId ?? `bullmq-${this.name}`;
    const [topics, groups, tiers, processes, failed] = await Promise.all([
      cluster.topics([this.name]),
      cluster.groups([groupId]),
      cluster.delayTiers({ jobTopics: [this.name], groupIds: [groupId] }),
      liveProcesses(this.#connection, { groupId, sinceMs: 60_000 }),
      deadLetters.counts(`${this.name}.failed`).finally(() => deadLetters.close()),
    ]);
    const queueTopic = topics.find((topic) => topic.topic === this.name);
    const lags = groups.flatMap((group) => group.topics.filter((topic) => topic.topic === this.name).map((topic) => topic.lag));
    const active = processes
      .filter((process) => process.state === 'live')
      .reduce((sum, process) => sum + process.report.runningJobs.filter((job) => job.topic === this.name).length, 0);
    const lag = lags.length > 0 ? Math.max(...lags) : (queueTopic?.records ?? 0);
    const counts: Record<JobType, number> = {
      waiting: Math.max(0, lag - active),
      active,
      delayed: tiers.filter((tier) => tier.jobTopic === this.name).reduce((sum, tier) => sum + tier.waiting, 0),
      failed: failed.waiting,
    };
    return Object.fromEntries((types.length === 0 ? JOB_TYPES : types).map((type) => [type, counts[type]]));
  }

  /**
   * Waits for the jobs being added, then closes the process's dispatcher if this queue configured
   * it (another queue configures it again on its next `add`). Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#adding]);
    if (configured?.owner !== this) return;
    const dispatcher = await configured.dispatcher.catch(() => undefined);
    configured = undefined;
    if (dispatcher && hasDispatcher() && currentDispatcher() === dispatcher) await closeDispatcher();
  }

  async #add(name: NameType, data: DataType, opts: JobsOptions | undefined): Promise<Job<DataType, ResultType, NameType>> {
    const where = `Queue(${this.name}).add(${String(name)})`;
    if (this.#closed) throw new InvalidOptionError(where, 'the queue is closed');
    if (typeof name !== 'string') throw new InvalidOptionError(`${where}.name`, `expected a string, got ${typeof name}`);
    const options = checkJobsOptions(`${where}.opts`, { ...this.opts.defaultJobOptions, ...opts });
    if (options.sizeLimit !== undefined) {
      const bytes = Buffer.byteLength(JSON.stringify(data) ?? '');
      if (bytes > options.sizeLimit) throw new InvalidOptionError(`${where}.data`, `is ${bytes} bytes as JSON, above opts.sizeLimit ${options.sizeLimit}`);
    }
    const job = new BullMQJob(name, data, options);
    if (options.jobId !== undefined) job.jobId = options.jobId;
    await this.#dispatcherReady();
    const runsAt = options.timestamp + (options.delay ?? 0);
    await job.enqueue({ topic: this.name, dispatchMethod: 'produceSync', ...(runsAt > Date.now() ? { waitUntil: new Date(runsAt) } : {}) });
    return new Job<DataType, ResultType, NameType>(job);
  }

  async #dispatcherReady(): Promise<void> {
    if (hasDispatcher()) return;
    if (configured) {
      await configured.dispatcher.catch(() => undefined);
      if (hasDispatcher()) return;
    }
    configured = { dispatcher: configure({ kafka: this.#connection }), owner: this };
    await configured.dispatcher;
  }

  #track<T>(adding: Promise<T>): Promise<T> {
    this.#adding.add(adding);
    const forget = () => this.#adding.delete(adding);
    adding.then(forget, forget);
    return adding;
  }
}
