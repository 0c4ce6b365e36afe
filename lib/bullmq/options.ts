import { InvalidOptionError, UnsupportedOptionError } from '../index.ts';

/** BullMQ's backoff settings: `fixed` waits `delay` ms before each retry, `exponential` `delay × 2^(attempt − 1)`. */
export interface BackoffOptions {
  /** The strategy. Custom strategies (a worker's `settings.backoffStrategy`) are not supported. */
  type: 'fixed' | 'exponential';
  /** Milliseconds. @defaultValue 0 */
  delay?: number;
  /** Fraction (0..1) of the wait taken at random: the wait is between `wait × (1 − jitter)` and `wait`. @defaultValue 0 */
  jitter?: number;
}

/** BullMQ Pro's group: jobs of one group id run one after the other, in order. */
export interface GroupOptions {
  /** The group id: the job's Kafka key, so one group is one partition and one lane. */
  id: string;
}

/** BullMQ's bounds on kept jobs (`removeOnComplete`, `removeOnFail`): accepted, without effect on Kafka. */
export interface KeepJobs {
  /** Keep jobs up to this many seconds old. */
  age?: number;
  /** Keep at most this many jobs. */
  count?: number;
  /** Remove at most this many jobs per cleanup. */
  limit?: number;
}

/**
 * Options of `queue.add`, BullMQ's names. Honoured: `delay`, `attempts`, `backoff`, `jobId`,
 * `timestamp`, `group` (BullMQ Pro's ordering key). Accepted and without effect:
 * `removeOnComplete`, `removeOnFail`, `keepLogs`, `stackTraceLimit`, `telemetry` (Kafka keeps
 * messages by retention, not per job; logs are not stored). Refused (typed `never`, and an
 * {@link UnsupportedOptionError} at run time): `priority`, `lifo`, `parent` and the other flow
 * options, `deduplication`, `repeat`.
 */
export interface JobsOptions {
  /** Milliseconds to wait before the job may run (it waits in the delay tiers). @defaultValue 0 */
  delay?: number;
  /** Attempts in all, the first included; then the job is failed for good (a dead letter). @defaultValue 1 */
  attempts?: number;
  /** Wait before each retry: milliseconds (fixed), or `{ type, delay, jitter }`. @defaultValue no wait */
  backoff?: number | BackoffOptions;
  /** The job's id (BullMQ's `job.id`). Not deduplicated: adding one id twice runs two jobs. @defaultValue a uuid */
  jobId?: string;
  /** When the job was created, ms since the epoch; `delay` counts from it. @defaultValue `Date.now()` at `add` */
  timestamp?: number;
  /** BullMQ Pro's group: jobs with one `group.id` run in order, one at a time. @defaultValue no group: no order */
  group?: GroupOptions;
  /** No effect: Kafka keeps every message for the topic's retention. */
  removeOnComplete?: boolean | number | KeepJobs;
  /** No effect: failed jobs are kept in the dead-letter topic for its retention. */
  removeOnFail?: boolean | number | KeepJobs;
  /** No effect: `job.log` lines go to the worker's logger, not to a store. */
  keepLogs?: number;
  /** No effect: the dead letter carries the error's message. */
  stackTraceLimit?: number;
  /** No effect here (trace context travels in the job's headers where tracing is set up). */
  telemetry?: {
    /** BullMQ's serialized trace context. */
    metadata?: string;
    /** BullMQ's switch to leave the context out. */
    omitContext?: boolean;
  };
  /** Largest JSON size of `data` in bytes; a larger job is refused at `add`. @defaultValue no limit below the dispatcher's `maxMessageBytes` */
  sizeLimit?: number;
  /** Refused: a Kafka partition is read in offset order, so no job can overtake another. */
  priority?: never;
  /** Refused: a Kafka partition is appended to at its end only. */
  lifo?: never;
  /** Refused: flows (parent and child jobs) are not supported. */
  parent?: never;
  /** Refused: flows are not supported. */
  failParentOnFailure?: never;
  /** Refused: flows are not supported. */
  continueParentOnFailure?: never;
  /** Refused: flows are not supported. */
  ignoreDependencyOnFailure?: never;
  /** Refused: flows are not supported. */
  removeDependencyOnFailure?: never;
  /** Refused: Kafka has no lookup by job id to find a duplicate. */
  deduplication?: never;
  /** Refused: repeatable jobs are declared on the worker app (recurring jobs), not per add. */
  repeat?: never;
}

/** Why each refused option cannot be honoured, and what to do instead. */
const REFUSED: Record<string, string> = {
  priority:
    'Kafka cannot honour priorities: a partition is read in offset order, so no job overtakes another. Send urgent jobs to a queue ' +
    'of their own (another topic) with its own worker',
  lifo: 'Kafka cannot honour lifo: a partition is appended to at its end and read from its start. Leave it out (jobs run in the order added)',
  parent: 'flows (parent and child jobs) are not supported on Kafka. Add the child jobs from the parent job\'s processor instead',
  failParentOnFailure: 'flows (parent and child jobs) are not supported on Kafka. Leave it out',
  continueParentOnFailure: 'flows (parent and child jobs) are not supported on Kafka. Leave it out',
  ignoreDependencyOnFailure: 'flows (parent and child jobs) are not supported on Kafka. Leave it out',
  removeDependencyOnFailure: 'flows (parent and child jobs) are not supported on Kafka. Leave it out',
  deduplication:
    'Kafka has no lookup by job id, so a duplicate cannot be found before it is written. Make the processor idempotent (use job.id) instead',
  repeat: 'repeatable jobs are not added per job here. Declare a recurring job on the worker app instead (see the README)',
};
const HONOURED = ['delay', 'attempts', 'backoff', 'jobId', 'timestamp', 'group', 'sizeLimit'];
const NO_OPS = ['removeOnComplete', 'removeOnFail', 'keepLogs', 'stackTraceLimit', 'telemetry'];

/**
 * Validates `opts` of `add` (merged over the queue's `defaultJobOptions`) and returns them with
 * `timestamp` set. `where` names the call in errors (`Queue(mail).add(welcome).opts`).
 */
export function checkJobsOptions(where: string, opts: JobsOptions): JobsOptions & { timestamp: number } {
  if (opts === null || typeof opts !== 'object') throw new InvalidOptionError(where, `expected an object, got ${String(opts)}`);
  for (const [name, value] of Object.entries(opts)) {
    if (value === undefined) continue;
    const refusal = REFUSED[name];
    if (refusal) throw new UnsupportedOptionError(`${where}.${name}`, refusal);
    if (!HONOURED.includes(name) && !NO_OPS.includes(name)) {
      throw new InvalidOptionError(`${where}.${name}`, `unknown option (known: ${[...HONOURED, ...NO_OPS].join(', ')})`);
    }
  }
  const { delay, attempts, jobId, timestamp, group, sizeLimit } = opts;
  nonNegative(`${where}.delay`, delay);
  nonNegative(`${where}.timestamp`, timestamp);
  nonNegative(`${where}.sizeLimit`, sizeLimit);
  if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < 1)) {
    throw new InvalidOptionError(`${where}.attempts`, `expected an integer >= 1 (attempts in all, the first included), got ${String(attempts)}`);
  }
  if (jobId !== undefined && (typeof jobId !== 'string' || jobId.length === 0)) {
    throw new InvalidOptionError(`${where}.jobId`, `expected a non-empty string, got ${String(jobId)}`);
  }
  if (group !== undefined && (group === null || typeof group !== 'object' || typeof group.id !== 'string' || group.id.length === 0)) {
    throw new InvalidOptionError(`${where}.group`, 'expected { id: string } (a non-empty group id)');
  }
  checkBackoff(`${where}.backoff`, opts.backoff);
  return { ...opts, timestamp: timestamp ?? Date.now() };
}

function checkBackoff(option: string, backoff: JobsOptions['backoff']): void {
  if (backoff === undefined || typeof backoff === 'number') return nonNegative(option, backoff);
  if (backoff === null || typeof backoff !== 'object') throw new InvalidOptionError(option, `expected milliseconds or { type, delay }, got ${String(backoff)}`);
  if (backoff.type !== 'fixed' && backoff.type !== 'exponential') {
    throw new UnsupportedOptionError(
      `${option}.type`,
      `backoff strategy ${JSON.stringify(backoff.type)} is not supported (custom strategies are not); use 'fixed' or 'exponential'`,
    );
  }
  nonNegative(`${option}.delay`, backoff.delay);
  const { jitter } = backoff;
  if (jitter !== undefined && (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1))) {
    throw new InvalidOptionError(`${option}.jitter`, `expected a fraction between 0 and 1, got ${String(jitter)}`);
  }
}

function nonNegative(option: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
    throw new InvalidOptionError(option, `expected a number >= 0, got ${String(value)}`);
  }
}

/**
 * The wait before the next attempt after `attemptsMade` failed attempts (this one included), as
 * BullMQ defines its strategies. `random` returns a number in [0, 1).
 */
export function backoffWaitMs(backoff: JobsOptions['backoff'], attemptsMade: number, random: () => number = Math.random): number {
  if (backoff === undefined) return 0;
  const { type, delay = 0, jitter = 0 } = typeof backoff === 'number' ? { type: 'fixed' as const, delay: backoff } : backoff;
  const wait = type === 'exponential' ? 2 ** (attemptsMade - 1) * delay : delay;
  return Math.round(wait * (1 - jitter) + random() * wait * jitter);
}
