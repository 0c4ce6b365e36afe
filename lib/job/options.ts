import { InvalidOptionError } from '../errors.ts';
import { describeValue, refuseUnknownOptions, validateTopicName } from '../validation.ts';

/** How a single job is sent: await the broker's ack, or buffer and send in batches. */
export type DispatchMethod = 'produceAsync' | 'produceSync';
/** How `Job.performAllLater` sends a list of jobs. */
export type DispatchManyMethod = 'produceManyAsync' | 'produceManySync';

/**
 * Static options of a job class (`static options = {...}`) whose partitioner receives jobs of type
 * `J`; the public `JobOptions` (job.ts) sets `J` to `Job`.
 */
export interface JobOptionsFor<J> {
  /** The Kafka topic the job is enqueued to (the queue). Default `'default'`. */
  topic?: string;
  /** `'produceAsync'` (default): resolve once buffered. `'produceSync'`: resolve on the broker's ack. */
  dispatchMethod?: DispatchMethod;
  /** Used by `performAllLater`. Default `'produceManyAsync'`. */
  dispatchManyMethod?: DispatchManyMethod;
  /**
   * The job's partitioning key: the Kafka message key and the `job-key` header. Jobs with one key
   * land in one Kafka partition and, with a header partitioner, in one lane: they run in order.
   */
  partitioner?: (job: J) => string | undefined;
}

/** Options after defaults and validation. */
export interface ResolvedJobOptionsFor<J> {
  topic: string;
  dispatchMethod: DispatchMethod;
  dispatchManyMethod: DispatchManyMethod;
  partitioner: ((job: J) => string | undefined) | undefined;
}

const DISPATCH_METHODS: readonly DispatchMethod[] = ['produceAsync', 'produceSync'];
const DISPATCH_MANY_METHODS: readonly DispatchManyMethod[] = ['produceManyAsync', 'produceManySync'];
const KNOWN_OPTIONS = new Set(['topic', 'dispatchMethod', 'dispatchManyMethod', 'partitioner']);
/**
 * Applies defaults to a job class's options and validates them.
 * @param owner name used in error messages, e.g. `SendEmail.options`
 */
export function resolveJobOptions<J>(owner: string, options: JobOptionsFor<J>): ResolvedJobOptionsFor<J> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(owner, `expected an object, got ${describeValue(options)}`);
  }
  refuseUnknownOptions(owner, options, [...KNOWN_OPTIONS]);
  const topic = validateTopicName(`${owner}.topic`, options.topic ?? 'default');
  const dispatchMethod = options.dispatchMethod ?? 'produceAsync';
  if (!DISPATCH_METHODS.includes(dispatchMethod)) {
    throw new InvalidOptionError(
      `${owner}.dispatchMethod`,
      `expected one of ${DISPATCH_METHODS.join(', ')}, got ${describeValue(dispatchMethod)}`,
    );
  }
  const dispatchManyMethod = options.dispatchManyMethod ?? 'produceManyAsync';
  if (!DISPATCH_MANY_METHODS.includes(dispatchManyMethod)) {
    throw new InvalidOptionError(
      `${owner}.dispatchManyMethod`,
      `expected one of ${DISPATCH_MANY_METHODS.join(', ')}, got ${describeValue(dispatchManyMethod)}`,
    );
  }
  const partitioner = options.partitioner;
  if (partitioner !== undefined && typeof partitioner !== 'function') {
    throw new InvalidOptionError(
      `${owner}.partitioner`,
      `expected a function (job) => string | undefined, got ${describeValue(partitioner)}`,
    );
  }
  return { topic, dispatchMethod, dispatchManyMethod, partitioner };
}
