import { v4 as uuidv4 } from 'uuid';
import type { OutboundMessage } from '../kafka/outbound-message.ts';
import { InvalidOptionError, TransactionError } from '../errors.ts';
import { retryWaitSettings, type RetryOnOptions, type RetryWaitSettings } from '../schedule/retry-wait.ts';
import { routeScheduled } from '../schedule/tiers.ts';
import { ancestorsFirst } from './class-chain.ts';
import { addHook, runWithCallbacks } from './callbacks.ts';
import { addAfterDiscard, addDiscardRule, addRetryRule, type ErrorClass } from './error-handling.ts';
import { injectTraceContext, inProducerSpan } from '../tracing/index.ts';
import { encodeEnvelope, type JobEnvelope } from './envelope.ts';
import { installedJobSender, jobSender, type TransactionHandle, type TransactionRunner } from './ports.ts';
import { refuseUnknownOptions, validateInteger, validateTopicName } from '../validation.ts';
import { resolveJobOptions, type DispatchMethod, type JobOptionsFor, type ResolvedJobOptionsFor } from './options.ts';

/** Static options of a job class (`static options = {...}`). */
export type JobOptions = JobOptionsFor<Job<any[]>>;

/** A job class's options after defaults and validation. */
type ResolvedJobOptions = ResolvedJobOptionsFor<Job<any[]>>;

/** Runs before or after an action; throwing from a `before` hook cancels the action. */
export type JobHook = (job: Job<any[]>) => void | Promise<void>;
/** Wraps an action: call `next()` to run it (or do not, to skip it). */
export type AroundHook = (job: Job<any[]>, next: () => Promise<void>) => void | Promise<void>;

/** The argument tuple of a job type. */
export type JobArguments<J> = J extends {
  /** The arguments `perform` gets. */
  arguments: infer A extends unknown[];
}
  ? A
  : never;

/** A concrete job class, as seen by the static methods and the registry. */
export interface JobClass<J extends Job<any[]> = Job<any[]>> {
  new (...args: JobArguments<J>): J;
  /** The class's name. */
  readonly name: string;
  /** The class's options (topic, dispatch method, partitioner). */
  options?: JobOptions;
  /** The name messages give the class (`job-class`), when it is not the class's name. */
  jobName?: string;
}

/** Per-enqueue overrides given to `X.set({...})`. */
export interface EnqueueOverrides {
  /** Send to this topic instead of the class's. */
  topic?: string;
  /** Use this dispatch method for this enqueue. */
  dispatchMethod?: DispatchMethod;
  /** Run no earlier than this many milliseconds from now (the job waits in the delay tiers). */
  wait?: number;
  /** Run no earlier than this time (the job waits in the delay tiers). */
  waitUntil?: Date;
}

/**
 * What `performLater` resolves with. `partition` and `offset` are set for produceSync only; for a
 * scheduled job they locate the message in `delayTopic` when it was sent to a delay tier.
 */
export interface Enqueued {
  /** The job's id. */
  jobId: string;
  /** The job's class name. */
  jobClass: string;
  /** The job's topic (its queue). */
  topic: string;
  /** The job's key (from its partitioner); undefined when it has none. */
  key: string | undefined;
  /** The partition the job went to, when the dispatch waited for the broker (`produceSync`). */
  partition?: number;
  /** Its offset there, when the dispatch waited for the broker (`produceSync`). */
  offset?: number;
  /** When the job is due, for a scheduled job. */
  scheduledAt?: Date;
  /** The delay topic a scheduled job was sent to first (unset when it was already due). */
  delayTopic?: string;
}

const NEVER_ABORTED = new AbortController().signal;
/** The id the job being rebuilt by {@link Job.rebuild} takes, instead of a new uuid made to be replaced. */
let rebuildingJobId: string | undefined;

/** A new job's id: the rebuilt job's own (taken once, so a job its constructor makes gets a new one), else a uuid v4. */
function newJobId(): string {
  const id = rebuildingJobId;
  if (id === undefined) return uuidv4();
  rebuildingJobId = undefined;
  return id;
}
const resolvedOptions = new WeakMap<object, ResolvedJobOptions>();

/**
 * Base class of every job. Subclass it, give the argument types, and implement `perform`:
 *
 * ```ts
 * class SendEmail extends Job<[userId: string]> {
 *   static options = { topic: 'mail', partitioner: (job) => String(job.arguments[0]) };
 *   async perform(userId: string) { ... }
 * }
 * await SendEmail.performLater('u-1');
 * ```
 *
 * Arguments travel as superjson (Date, Map, Set, BigInt, RegExp, undefined survive). A constructor
 * must only pass its arguments on; the worker rebuilds jobs with `new X(...arguments)`.
 */
export abstract class Job<Args extends unknown[] = unknown[]> {
  /** Options of this job class; subclasses inherit and override them. */
  static options: JobOptions = {};
  /** The name in the `job-class` header; defaults to the class name. Set it if your build renames classes. */
  static jobName?: string;

  /** Unique id (uuid v4), kept across retries. */
  jobId: string = newJobId();
  /** The arguments given to `performLater` / `perform`. */
  arguments: Args;
  /** How many times `perform` has been started for this job, this run included. */
  executions = 0;
  /** Per error class, how many executions failed with it (ActiveJob's `exception_executions`). */
  exceptionExecutions: Record<string, number> = {};
  /** When the job was enqueued; undefined before. */
  enqueuedAt: Date | undefined;
  /**
   * When the job is due (ActiveJob's `scheduled_at`); set by `X.set({ wait })`. A job with a
   * scheduledAt set before it is enqueued (e.g. for `performAllLater`) waits until then.
   */
  scheduledAt: Date | undefined;
  /** The topic the job was enqueued to (or will be). */
  topic: string | undefined;
  /**
   * Aborts when the worker loses this job's partition or stops beyond its grace period. Long jobs
   * should check it between steps; marks made after revocation are ignored.
   */
  signal: AbortSignal = NEVER_ABORTED;

  #transactionRunner: TransactionRunner | undefined;

  constructor(...args: Args) {
    this.arguments = args;
  }

  /**
   * Runs `body` in a Kafka transaction: jobs enqueued and messages produced inside it, and this
   * job's completion (its message's offset, when the partition is not split into lanes), commit
   * together — exactly once for read_committed readers. Only available while a worker runs the job.
   */
  transaction<T>(body: (tx: TransactionHandle) => Promise<T>): Promise<T> {
    if (!this.#transactionRunner) {
      return Promise.reject(new TransactionError(`${this.jobClass}.transaction() needs a worker: it is not available in performNow or outside perform`));
    }
    return this.#transactionRunner(body);
  }

  /**
   * Builds `new jobClass(...args)` with the id `jobId` from the start (its constructor already sees
   * it): how a worker rebuilds a job from its envelope. @internal
   */
  static rebuild<J extends Job<any[]>>(jobClass: JobClass<J>, jobId: string, args: JobArguments<J>): J {
    rebuildingJobId = jobId;
    try {
      return new jobClass(...args);
    } finally {
      rebuildingJobId = undefined;
    }
  }

  /** Lets the worker running this job provide its transactions. @internal */
  static attachTransactionRunner(job: Job<any[]>, runner: TransactionRunner): void {
    job.#transactionRunner = runner;
  }

  /** The job's work. Runs on a worker (or in-process with `performNow`). */
  abstract perform(...args: Args): unknown;

  /** True once this job's partition was revoked (same as `signal.aborted`). */
  revoked(): boolean {
    return this.signal.aborted;
  }

  /** The job class's name as written in the `job-class` header. */
  get jobClass(): string {
    return jobNameOf(this.constructor as JobClass);
  }

  /** Enqueues `new X(...args)` with the class's dispatch method. */
  static performLater<J extends Job<any[]>>(this: JobClass<J>, ...args: JobArguments<J>): Promise<Enqueued> {
    return new this(...args).enqueue();
  }

  /** Runs `new X(...args)` in this process, with perform callbacks; resolves with perform's result. */
  static performNow<J extends Job<any[]>>(this: JobClass<J>, ...args: JobArguments<J>): Promise<unknown> {
    return new this(...args).performNow();
  }

  /** Overrides for one enqueue: `X.set({ topic: 'urgent' }).performLater(...)`. */
  static set<J extends Job<any[]>>(this: JobClass<J>, overrides: EnqueueOverrides): ConfiguredJob<J> {
    return new ConfiguredJob(this, overrides);
  }

  /**
   * Enqueues many jobs (of any classes) in as few requests as possible, using each class's
   * `dispatchManyMethod`. Enqueue callbacks do not run, as in ActiveJob's `perform_all_later`.
   */
  static async performAllLater(jobs: readonly Job<any[]>[]): Promise<Enqueued[]> {
    const prepared = jobs.map((job) => job.#prepare({}));
    const syncIndexes: number[] = [];
    const asyncIndexes: number[] = [];
    prepared.forEach((p, index) => (p.options.dispatchManyMethod === 'produceManySync' ? syncIndexes : asyncIndexes).push(index));
    const sender = jobSender();
    const results: Enqueued[] = prepared.map((p) => p.enqueued);
    await Promise.all([
      syncIndexes.length === 0
        ? undefined
        : sender.produceSync(syncIndexes.map((i) => prepared[i]!.message)).then((deliveries) => {
            deliveries.forEach((d, n) => Object.assign(results[syncIndexes[n]!]!, { partition: d.partition, offset: d.offset }));
          }),
      asyncIndexes.length === 0 ? undefined : sender.produceAsync(asyncIndexes.map((i) => prepared[i]!.message)),
    ]);
    return results;
  }

  /** Registers a callback that runs before each enqueue; throwing cancels the enqueue. */
  static beforeEnqueue(hook: JobHook): void {
    addHook(this, 'enqueue', 'before', hook);
  }
  /** Registers a callback that runs after each successful enqueue. */
  static afterEnqueue(hook: JobHook): void {
    addHook(this, 'enqueue', 'after', hook);
  }
  /** Registers a callback around each enqueue; it must call `next()` for the enqueue to happen. */
  static aroundEnqueue(hook: AroundHook): void {
    addHook(this, 'enqueue', 'around', hook);
  }
  /** Registers a callback that runs before each perform; throwing fails the execution. */
  static beforePerform(hook: JobHook): void {
    addHook(this, 'perform', 'before', hook);
  }
  /** Registers a callback that runs after each successful perform. */
  static afterPerform(hook: JobHook): void {
    addHook(this, 'perform', 'after', hook);
  }
  /** Registers a callback around each perform; it must call `next()` for perform to run. */
  static aroundPerform(hook: AroundHook): void {
    addHook(this, 'perform', 'around', hook);
  }

  /**
   * Retries the job when `perform` throws `errorClass`, up to `attempts` executions in all; then the
   * job fails for good: it goes to the route's dead-letter queue, like an {@link UnrecoverableError}
   * (which no `retryOn` rule retries).
   *
   * Without `wait` the job is retried in place (the engine's backoff; its partition waits and keeps
   * its order). With `wait` (ms, a function of executions and the job, or `'polynomiallyLonger'`)
   * the job is enqueued again through the delay tiers, carrying its executions and failure counts,
   * and its partition moves on: the retry runs after later jobs of the same key (it gives up its
   * order). `attempts` may be a function of the failed job, for per-job settings.
   */
  static retryOn<J extends Job<any[]>>(this: abstract new (...args: any[]) => J, errorClass: ErrorClass, options: RetryOnOptions<J> = {}): void {
    const owner = `${this.name}.retryOn`;
    if (typeof errorClass !== 'function') throw new InvalidOptionError(owner, 'expected an error class');
    if (options === null || typeof options !== 'object') throw new InvalidOptionError(owner, 'expected options { attempts?, wait?, jitter? }');
    refuseUnknownOptions(owner, options, ['attempts', 'wait', 'jitter']);
    const attempts = options.attempts ?? 5;
    if (typeof attempts !== 'function') validateInteger(`${owner}.attempts`, attempts, 1);
    addRetryRule(
      this,
      errorClass,
      attempts as number | ((job: Job<any[]>) => number),
      retryWaitSettings(owner, options) as RetryWaitSettings<Job<any[]>> | undefined,
    );
  }

  /** Drops the job (marks it done, no retry, no dead letter) when `perform` throws `errorClass`. */
  static discardOn(errorClass: ErrorClass): void {
    if (typeof errorClass !== 'function') throw new InvalidOptionError(`${this.name}.discardOn`, 'expected an error class');
    addDiscardRule(this, errorClass);
  }

  /** Runs after a job was discarded by `discardOn` (or gave up). */
  static afterDiscard(hook: (job: Job<any[]>, error: Error) => void | Promise<void>): void {
    addAfterDiscard(this, hook);
  }

  /**
   * Enqueues this job instance (with enqueue callbacks). Called while a worker runs a job, the
   * enqueue is a follow-up: the running job's offset is not committed before it was delivered.
   */
  enqueue(overrides: EnqueueOverrides = {}): Promise<Enqueued> {
    const enqueuing = this.#enqueue(overrides);
    installedJobSender()?.trackEnqueue(enqueuing);
    return enqueuing;
  }

  async #enqueue(overrides: EnqueueOverrides): Promise<Enqueued> {
    let result: Enqueued | undefined;
    const topic = overrides.topic ?? jobOptionsOf(this.constructor as JobClass).topic;
    await runWithCallbacks(this, 'enqueue', () => inProducerSpan({ topic, jobClass: this.jobClass, jobId: this.jobId }, async () => {
      const { message, enqueued, options } = this.#prepare(overrides);
      const method = overrides.dispatchMethod ?? options.dispatchMethod;
      const sender = jobSender();
      if (method === 'produceSync') {
        const [delivery] = await sender.produceSync([message]);
        result = { ...enqueued, partition: delivery!.partition, offset: delivery!.offset };
      } else {
        await sender.produceAsync([message]);
        result = enqueued;
      }
    }));
    if (!result) throw new InvalidOptionError(`${this.jobClass} enqueue callbacks`, 'an around callback did not call next(); the job was not enqueued');
    return result;
  }

  /** Runs this job now, in this process, with perform callbacks. */
  async performNow(): Promise<unknown> {
    let value: unknown;
    this.executions += 1;
    await runWithCallbacks(this, 'perform', async () => {
      value = await this.perform(...this.arguments);
    });
    return value;
  }

  /** The envelope a worker receives for this job. */
  serialize(): JobEnvelope {
    return {
      job_class: this.jobClass,
      job_id: this.jobId,
      queue_name: this.topic ?? jobOptionsOf(this.constructor as JobClass).topic,
      arguments: this.arguments,
      executions: this.executions,
      exception_executions: this.exceptionExecutions,
      enqueued_at: (this.enqueuedAt ?? new Date()).toISOString(),
      ...(this.scheduledAt === undefined ? {} : { scheduled_at: this.scheduledAt.toISOString() }),
    };
  }

  #prepare(overrides: EnqueueOverrides): { message: OutboundMessage; enqueued: Enqueued; options: ResolvedJobOptions } {
    const jobClass = this.constructor as JobClass;
    const options = jobOptionsOf(jobClass);
    validateOverrides(this.jobClass, overrides);
    const now = Date.now();
    this.topic = overrides.topic ?? options.topic;
    this.enqueuedAt = new Date(now);
    if (overrides.wait !== undefined) this.scheduledAt = new Date(now + overrides.wait);
    if (overrides.waitUntil !== undefined) this.scheduledAt = new Date(overrides.waitUntil.getTime());
    const key = partitionKeyOf(this, options);
    const encoded = encodeEnvelope(this.serialize(), key);
    injectTraceContext(encoded.headers);
    const enqueued: Enqueued = { jobId: this.jobId, jobClass: this.jobClass, topic: this.topic, key };
    if (this.scheduledAt === undefined) return { options, message: { topic: this.topic, ...encoded }, enqueued };
    const message = routeScheduled(encoded, this.topic, this.scheduledAt.getTime(), now, now);
    enqueued.scheduledAt = this.scheduledAt;
    if (message.topic !== this.topic) enqueued.delayTopic = message.topic;
    return { options, message, enqueued };
  }
}

/** A job class with per-enqueue overrides, from `X.set({...})`. */
export class ConfiguredJob<J extends Job<any[]>> {
  constructor(
    /** The job class the overrides apply to. */
    readonly jobClass: JobClass<J>,
    /** What `set()` was given. */
    readonly overrides: EnqueueOverrides,
  ) {
    validateOverrides(jobNameOf(jobClass), overrides);
  }

  /** Enqueues `new X(...args)` with the overrides. */
  performLater(...args: JobArguments<J>): Promise<Enqueued> {
    return new this.jobClass(...args).enqueue(this.overrides);
  }

  /** Runs `new X(...args)` now, in this process. */
  performNow(...args: JobArguments<J>): Promise<unknown> {
    return new this.jobClass(...args).performNow();
  }
}

/** The name a job class is registered and sent under. */
export function jobNameOf(jobClass: JobClass): string {
  const name = Object.prototype.hasOwnProperty.call(jobClass, 'jobName') ? jobClass.jobName : jobClass.name;
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidOptionError('jobName', 'a job class needs a name: give the class a name or set static jobName');
  }
  return name;
}

/** A job class's options with inherited values and defaults, validated once per class. */
export function jobOptionsOf(jobClass: JobClass): ResolvedJobOptions {
  let resolved = resolvedOptions.get(jobClass);
  if (!resolved) {
    const chain = ancestorsFirst(jobClass)
      .filter((c) => Object.prototype.hasOwnProperty.call(c, 'options'))
      .map((c) => (c as { options: JobOptions }).options);
    const owner = `${jobNameOf(jobClass)}.options`;
    for (const options of chain) {
      if (options === null || typeof options !== 'object') throw new InvalidOptionError(owner, 'expected an object');
    }
    resolved = resolveJobOptions(owner, Object.assign({}, ...chain) as JobOptions);
    resolvedOptions.set(jobClass, resolved);
  }
  return resolved;
}

function partitionKeyOf(job: Job<any[]>, options: ResolvedJobOptions): string | undefined {
  if (!options.partitioner) return undefined;
  const key = options.partitioner(job);
  if (key !== undefined && typeof key !== 'string') {
    throw new InvalidOptionError(`${job.jobClass}.options.partitioner`, `must return a string or undefined, returned ${typeof key}`);
  }
  return key;
}

function validateOverrides(owner: string, overrides: EnqueueOverrides): void {
  if (overrides === null || typeof overrides !== 'object') throw new InvalidOptionError(`${owner}.set()`, 'expected an object');
  refuseUnknownOptions(`${owner}.set()`, overrides, ['topic', 'dispatchMethod', 'wait', 'waitUntil']);
  const { wait, waitUntil } = overrides;
  if (wait !== undefined && (typeof wait !== 'number' || !Number.isFinite(wait) || wait < 0)) {
    throw new InvalidOptionError(`${owner}.set().wait`, `expected milliseconds >= 0, got ${typeof wait === 'number' ? wait : typeof wait}`);
  }
  if (waitUntil !== undefined && !(waitUntil instanceof Date && Number.isFinite(waitUntil.getTime()))) {
    throw new InvalidOptionError(`${owner}.set().waitUntil`, 'expected a valid Date');
  }
  if (wait !== undefined && waitUntil !== undefined) {
    throw new InvalidOptionError(`${owner}.set()`, 'give wait or waitUntil, not both');
  }
  if (overrides.topic !== undefined) validateTopicName(`${owner}.set().topic`, overrides.topic);
  if (overrides.dispatchMethod !== undefined) {
    resolveJobOptions(`${owner}.set()`, { dispatchMethod: overrides.dispatchMethod });
  }
}
