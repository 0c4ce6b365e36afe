import { InvalidOptionError, Job as PartitaJob } from '../index.ts';
import { backoffWaitMs, type JobsOptions } from './options.ts';

/** The `job-class` name every BullMQ-shaped job travels under. */
export const BULLMQ_JOB_NAME = 'partita.bullmq';

/** What a job reports progress with (BullMQ's `JobProgress`). */
export type JobProgress = string | boolean | number | object;

/**
 * The Partita job a BullMQ-shaped job travels as: its arguments are BullMQ's name, data and
 * options. Its key is the options' `group.id`. Failures are retried per job as its `attempts` and
 * `backoff` say, through the delay tiers (a retry waits its backoff, then runs after the jobs
 * added meanwhile); when its attempts are spent it is dead-lettered.
 * @internal
 */
export class BullMQJob extends PartitaJob<[name: string, data: unknown, opts: JobsOptions & { timestamp: number }]> {
  static override jobName = BULLMQ_JOB_NAME;
  static override options = {
    partitioner: (job: PartitaJob<any[]>) => (job as BullMQJob).arguments[2].group?.id,
  };

  static {
    this.retryOn(Error, {
      attempts: (job) => job.arguments[2].attempts ?? 1,
      wait: (executions, job) => backoffWaitMs(job.arguments[2].backoff, executions),
      jitter: 0,
    });
  }

  /** Runs only on a `partita/bullmq` Worker, whose processor it calls (see `Worker`). */
  perform(): unknown {
    throw new InvalidOptionError(
      'createApp.jobs',
      `${BULLMQ_JOB_NAME} job ${this.jobId} runs on a partita/bullmq Worker, which calls its processor; ` +
        `create new Worker('${this.topic ?? 'queue'}', processor) instead of registering the class in createApp({ jobs })`,
    );
  }
}

/** What a BullMQ-shaped job tells about its progress and logs, on a worker. @internal */
export interface JobReporter {
  progress(job: Job<any, any, any>, progress: JobProgress): void;
  log(job: Job<any, any, any>, row: string): void;
}

/**
 * A job as BullMQ shows it: to the processor and to worker listeners, and as `queue.add` returns it.
 *
 * ```ts
 * const worker = new Worker('mail', async (job) => {
 *   await job.updateProgress(50);
 *   return send(job.data);
 * });
 * ```
 */
export class Job<DataType = any, ReturnType = any, NameType extends string = string> {
  /** The job's id: `opts.jobId`, else a uuid. Kept across retries. */
  readonly id: string;
  /** The name given to `add`. */
  readonly name: NameType;
  /** The data given to `add`, after its superjson round trip on a worker. */
  readonly data: DataType;
  /** The options given to `add` (over the queue's `defaultJobOptions`), `timestamp` set. */
  readonly opts: JobsOptions;
  /** When the job was added, ms since the epoch (`opts.timestamp`). */
  readonly timestamp: number;
  /** When the job may run first: `timestamp + opts.delay`. */
  readonly delay: number;
  /** The queue (Kafka topic) the job is in. */
  readonly queueName: string;
  /** Failed attempts so far: 0 while the first attempt runs. */
  attemptsMade: number;
  /** Attempts started, this one included (0 on a job `add` returned). */
  attemptsStarted: number;
  /** The last value given to `updateProgress`. @defaultValue 0 */
  progress: JobProgress = 0;
  /** What the processor returned, once it completed. */
  returnvalue: ReturnType | undefined;
  /** The message of the last failure. */
  failedReason: string | undefined;
  /** When the current attempt started, ms since the epoch. */
  processedOn: number | undefined;
  /** When the job completed or failed last, ms since the epoch. */
  finishedOn: number | undefined;
  readonly #reporter: JobReporter | undefined;
  #logs = 0;

  /** @internal */
  constructor(job: BullMQJob, reporter?: JobReporter) {
    const [name, data, opts] = job.arguments;
    this.id = job.jobId;
    this.name = name as NameType;
    this.data = data as DataType;
    this.opts = opts;
    this.timestamp = opts.timestamp;
    this.delay = opts.delay ?? 0;
    this.queueName = job.topic ?? '';
    this.attemptsStarted = job.executions;
    this.attemptsMade = Math.max(0, job.executions - 1);
    this.#reporter = reporter;
  }

  /** Sets `progress` and, on a worker, emits the worker's `progress` event. */
  async updateProgress(progress: JobProgress): Promise<void> {
    this.progress = progress;
    this.#reporter?.progress(this, progress);
  }

  /**
   * On a worker, writes `row` to the worker's logger (level info, with the job's id and queue);
   * resolves with the number of rows this attempt logged. Rows are not stored.
   */
  async log(row: string): Promise<number> {
    this.#logs += 1;
    this.#reporter?.log(this, row);
    return this.#logs;
  }
}
