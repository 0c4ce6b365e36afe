/**
 * Every error Partita throws or reports is a {@link PartitaError}. Subclasses name the kind of
 * failure; messages say what was wrong, where, and what to do about it.
 */
export class PartitaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `value` itself when it is an Error, else an Error whose message is `String(value)` (a thrown string, a rejection reason). */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** An option has an invalid value. `option` is its path, e.g. `SendEmail.options.topic`. */
export class InvalidOptionError extends PartitaError {
  constructor(
    /** The option's path, e.g. `SendEmail.options.topic` or `createApp.consumer.sessionTimeout`. */
    readonly option: string,
    problem: string,
  ) {
    super(`Invalid option ${option}: ${problem}`);
  }
}

/**
 * An option of a BullMQ-shaped call (`partita/bullmq`) that Kafka cannot honour, such as `priority`
 * or `lifo`. The message says why and what to do instead; the option's type refuses it too.
 */
export class UnsupportedOptionError extends InvalidOptionError {}

/** Routes that cannot work together (refused before anything is consumed). */
export class RouteValidationError extends PartitaError {}

/** `performLater` was called before any dispatcher was configured. */
export class DispatcherNotConfiguredError extends PartitaError {
  constructor() {
    super(
      'No dispatcher is configured: call configure({ kafka: { brokers: [...] } }) before performLater, ' +
        'or enqueue from inside a worker created with createApp().',
    );
  }
}

/** A message was given to a dispatcher after `close()`. */
export class DispatcherClosedError extends PartitaError {}

/** A message is larger than the producer may send. */
export class MessageTooLargeError extends PartitaError {}

/** Where a consumed message came from; used in error messages and events. */
export interface MessageCoordinates {
  /** The topic. */
  topic: string;
  /** The partition of the topic. */
  partition: number;
  /** The offset in the partition. */
  offset: number;
}

export function describeCoordinates(at: MessageCoordinates): string {
  return `${at.topic}/${at.partition}@${at.offset}`;
}

/** The kinds of bad input a job topic can carry. */
export type BadInputKind =
  | 'tombstone'
  | 'not-json'
  | 'not-envelope'
  | 'missing-header'
  | 'header-mismatch'
  | 'unknown-job-class';

/** A consumed message could not be turned into a job. */
export class BadMessageError extends PartitaError {
  constructor(
    /** What was wrong with the message. */
    readonly kind: BadInputKind,
    /** Where the message is. */
    readonly at: MessageCoordinates,
    problem: string,
  ) {
    super(`Bad message at ${describeCoordinates(at)} (${kind}): ${problem}`);
  }
}

/** The message names a job class that is not in the worker's registry. */
export class UnknownJobClassError extends BadMessageError {
  constructor(
    /** The class name the message gives (`job-class`). */
    readonly jobClass: string,
    at: MessageCoordinates,
    known: readonly string[],
  ) {
    super(
      'unknown-job-class',
      at,
      `job class "${jobClass}" is not registered in this worker (registered: ${known.join(', ') || 'none'}). ` +
        'Add the class to createApp({ jobs: [...] }).',
    );
  }
}

/** A virtual-partition partitioner threw; the batch ran as one lane. */
export class PartitionerError extends PartitaError {}

/**
 * The reason of a consumer's or job's `signal` (`signal.reason`) when its partition was taken
 * away (a rebalance, a lost partition, the worker stopping): work in flight for it should stop.
 */
export class PartitionRevokedError extends PartitaError {
  constructor(
    /** The revoked partition's topic. */
    readonly topic: string,
    /** The revoked partition. */
    readonly partition: number,
  ) {
    super(`${topic}/${partition} was revoked`);
  }
}

/** Offset metadata exceeds what the broker stores. */
export class OffsetMetadataTooLargeError extends PartitaError {}

/**
 * A partition holds more delivered messages not marked as consumed than its bound (ten times
 * `maxBufferedMessages`): fetching it is paused until marks bring it to half the bound. Reported as
 * an `error` event of kind `unmarked-offsets`; nothing is lost.
 */
export class UnmarkedOffsetsError extends PartitaError {}

/** A send resolved without the broker's acknowledgement of some of its messages. */
export class DeliveryError extends PartitaError {}

/**
 * No Kafka broker could be reached (nothing listening, unknown host, no answer in time), or the
 * local broker could not be started. `brokers` lists the addresses tried.
 */
export class BrokerUnavailableError extends PartitaError {
  /** The broker addresses tried. */
  readonly brokers: readonly string[];

  constructor(message: string, options: { brokers?: readonly string[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.brokers = options.brokers ?? [];
  }
}

/** An address answered, but not as a Kafka broker (an HTTP server, another service, a TLS listener spoken to in plain text). */
export class NotKafkaBrokerError extends BrokerUnavailableError {}

/** An error about some topics, which it names in `topics`. */
export class TopicsError extends PartitaError {
  constructor(
    /** The topics the error is about. */
    readonly topics: readonly string[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Dead letters asked for are not there: the dead-letter topic or partition does not exist, or
 * offsets chosen for a replay hold no dead letter (`missing`; nothing was replayed then).
 */
export class DeadLetterNotFoundError extends TopicsError {
  constructor(
    topic: string,
    /** The chosen offsets that hold no dead letter (empty when the topic or partition is missing). */
    readonly missing: readonly {
      /** The partition chosen. */
      partition: number;
      /** The offset chosen. */
      offset: number;
    }[],
    message: string,
  ) {
    super([topic], message);
  }
}

/**
 * A replay of a dead-letter topic was fenced by another replay of the same topic that started
 * while it ran. Its transaction was aborted: what it committed before (`replayed`) stays replayed
 * and marked, nothing else of it was sent. Replay again once the other one finished.
 */
export class ReplayConflictError extends TopicsError {
  constructor(
    topic: string,
    /** The dead letters this replay had replayed (and marked) before it was fenced. */
    readonly replayed: readonly {
      /** Where the dead letter is. */
      deadLetter: MessageCoordinates;
      /** Where its copy went in the source topic. */
      to: MessageCoordinates;
    }[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super([topic], message, options);
  }
}

/** Topics a route consumes or a message is sent to do not exist, and nothing will create them. */
export class MissingTopicError extends TopicsError {}

/** Topics Partita created did not get a leader for every partition in time (an unhealthy cluster). */
export class TopicNotReadyError extends TopicsError {}

/** Kafka refused or failed a produce request; `cause` is the client's error. */
export class ProduceError extends TopicsError {}

/**
 * A job argument cannot travel in an envelope: superjson would drop it or change it on the way
 * (a function, an unregistered symbol or class instance). `path` names it, e.g. `arguments[1].user.save`.
 */
export class SerializationError extends PartitaError {
  constructor(
    /** Where the argument is, e.g. `arguments[1].user.save`. */
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Throw it from `perform` (or `consume`) when retrying cannot help: the message skips its remaining
 * retries and goes to the dead-letter queue (with virtual partitions, after the collapsed retry
 * that tells which message failed). Without a dead-letter queue it is retried like any failure.
 */
export class UnrecoverableError extends PartitaError {}

/** The class name of an error: its constructor's name, which subclasses rarely copy into `name`. */
export function errorClassName(error: Error): string {
  const constructorName = (error.constructor as { name?: string } | undefined)?.name;
  return constructorName && constructorName !== 'Error' ? constructorName : error.name;
}

/** A transaction block could not run or commit (nested, partition revoked, producer fenced). */
export class TransactionError extends PartitaError {}

/**
 * A scheduled job could not be handled as scheduled: a delay-topic message without valid schedule
 * headers (it is sent on to its job topic at once, whose worker checks the envelope), or a job
 * found early on its job topic that could not be sent back to the delay tiers.
 */
export class SchedulingError extends PartitaError {}

/**
 * The worker could not bring a consumer back: a new consumer after kafkajs gave up on one, or a
 * worker restarted to pick up new topics, failed to start. It is tried again with a backoff.
 */
export class ConsumerRestartError extends PartitaError {}

/** Shutdown could not finish something within `shutdownTimeoutMs` (it was abandoned). */
export class ShutdownTimeoutError extends PartitaError {}

/** A message that was accepted for delivery and did not reach the broker: a job (from its headers) or a plain message. */
export interface LostMessage {
  /** The topic it was sent to. */
  topic: string;
  /** The `job-id` header, for a job. */
  jobId?: string;
  /** The `job-class` header, for a job. */
  jobClass?: string;
}

/** At most this many lost messages are named in a {@link JobsLostError}'s message (all are in `lost`). */
const LOST_NAMED_IN_MESSAGE = 10;

/**
 * Messages accepted by `performLater` / `produceAsync` were not delivered: the broker did not
 * acknowledge them within the dispatcher's `deliveryTimeoutMs`. `lost` names every one; `cause` is
 * the last delivery error. The messages may still have reached the broker if a request was in
 * flight when the time ran out (its answer never came): treat them as not delivered and enqueue
 * them again if they matter (jobs are delivered at least once anyway).
 */
export class JobsLostError extends PartitaError {
  constructor(
    /** Every message given up. */
    readonly lost: readonly LostMessage[],
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${describeLost(lost)} ${problem}`, options);
  }
}

/** "3 jobs (SendEmail 1f…, SendEmail 2a…, Charge 9c…)" or "1 job and 2 messages to topic t …". */
export function describeLost(lost: readonly LostMessage[]): string {
  const jobs = lost.filter((m) => m.jobId !== undefined);
  const named = lost.slice(0, LOST_NAMED_IN_MESSAGE).map((m) => (m.jobId === undefined ? `a message to ${m.topic}` : `${m.jobClass ?? 'job'} ${m.jobId} (${m.topic})`));
  const more = lost.length > LOST_NAMED_IN_MESSAGE ? `, and ${lost.length - LOST_NAMED_IN_MESSAGE} more` : '';
  const plain = lost.length - jobs.length;
  const counts = [jobs.length > 0 ? `${jobs.length} job${jobs.length === 1 ? '' : 's'}` : '', plain > 0 ? `${plain} message${plain === 1 ? '' : 's'}` : ''].filter(Boolean).join(' and ');
  return `${counts} lost: ${named.join(', ')}${more}.`;
}

/**
 * `performEnqueuedJobs()` of `partita/testing` performed its bound of jobs and jobs were still
 * enqueued: the jobs enqueue each other without end (or the bound is too low for the test).
 */
export class EndlessJobsError extends PartitaError {}

/**
 * The `partita` command line was wrong: an unknown command, subcommand or flag, a missing or bad
 * argument. The CLI prints the message and exits with status 2.
 */
export class UsageError extends PartitaError {
  constructor(
    /** The command that was wrong (`''` for `partita` itself). */
    readonly command: string,
    problem: string,
  ) {
    const name = command === '' ? 'partita' : `partita ${command}`;
    super(`${name}: ${problem} (see \`${name} --help\`)`);
  }
}

/** `partita worker` cannot load the worker file (it is missing, or TypeScript this Node cannot run). */
export class WorkerFileError extends PartitaError {}

/**
 * Partita Web was asked to listen on an address other hosts can reach without an auth option: it
 * would let anyone who reaches it read job arguments and replay dead letters. `host` is the address.
 */
export class WebAuthRequiredError extends PartitaError {
  constructor(
    /** The address asked for. */
    readonly host: string,
  ) {
    super(
      `Partita Web refuses to listen on ${host} without authentication: anyone who reaches that address could read job arguments and replay dead letters. ` +
        'Give an auth option (web: auth { token } or { basic }, or { hook } in a host app; partita web --token or --basic), or listen on 127.0.0.1.',
    );
  }
}
