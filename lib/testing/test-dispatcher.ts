import { AssertionError } from 'node:assert';
import { isDeepStrictEqual, inspect } from 'node:util';
import { useDispatcher } from '../dispatch/default-dispatcher.ts';
import { Dispatcher } from '../dispatch/dispatcher.ts';
import type { Delivery, MessageSender, OutboundMessage } from '../kafka/outbound-message.ts';
import type { AttemptMemory } from '../consume/consumer.ts';
import { JobConsumer } from '../consume/job-consumer.ts';
import { WorkerEmitter } from '../consume/worker-events.ts';
import { BadMessageError, EndlessJobsError, InvalidOptionError } from '../errors.ts';
import { decodeEnvelope, JobHeaders, type JobEnvelope } from '../job/envelope.ts';
import { jobNameOf, type JobClass } from '../job/job.ts';
import { JobRegistry } from '../job/registry.ts';
import { parseDelayTopic, routeScheduled } from '../schedule/tiers.ts';
import { runTestLane, testMessage } from './lane.ts';
import type { OffsetAndMetadata } from '../kafka/records.ts';

/** A job the test dispatcher captured, decoded from its message with the real envelope codec. */
export interface EnqueuedJob {
  /** The `job-class` name. */
  jobClass: string;
  /** The job's id. */
  jobId: string;
  /** The job's topic (its queue), also for a scheduled job that waits in a delay tier. */
  topic: string;
  /** The delay topic the message was sent to, for a job scheduled ahead. */
  delayTopic: string | undefined;
  /** The partition key (`job-key`), when the class has a partitioner. */
  key: string | undefined;
  /** The arguments as a worker decodes them (after the superjson round trip). */
  args: unknown[];
  /** Executions so far (above 0 for a retry enqueued by `retryOn` with a wait). */
  executions: number;
  /** Failures so far per `retryOn` rule, by the rule's name. */
  exceptionExecutions: Record<string, number>;
  /** When the job was enqueued. */
  enqueuedAt: Date;
  /** When the job is due, for a scheduled job. */
  scheduledAt: Date | undefined;
  /** The decoded envelope. */
  envelope: JobEnvelope;
  /** The message as it was handed to the producer. */
  message: OutboundMessage;
}

/** What `assertEnqueuedWith` matches; every field given must match. */
export interface EnqueuedJobMatch {
  /** The arguments, compared deeply and strictly with the decoded ones. */
  args?: unknown[];
  /** The job topic. */
  topic?: string;
  /** The partition key. */
  key?: string;
  /** When the job is due: this exact time, or a window (inclusive bounds). */
  at?:
    | Date
    | {
        /** Due at or after this time. */
        from?: Date;
        /** Due at or before this time. */
        to?: Date;
      };
}

/** Options of `performEnqueuedJobs`. */
export interface PerformEnqueuedJobsOptions {
  /** Perform only jobs of these classes; the others stay enqueued. @defaultValue every job class */
  only?: readonly JobClass[];
  /**
   * Jobs scheduled ahead: `'keep'` leaves them enqueued (a job never runs before it is due);
   * `'wait'` waits for each to become due and performs it (for short waits, like `retryOn` waits).
   * @defaultValue 'keep'
   */
  scheduled?: 'keep' | 'wait';
  /** Most jobs performed by this call, follow-ups included; more throws {@link EndlessJobsError}. @defaultValue 1000 */
  maxJobs?: number;
}

/** Options of a {@link TestDispatcher}. */
export interface TestDispatcherOptions {
  /** The job classes a worker of this app may run (as in `createApp({ jobs })`). @defaultValue [] */
  jobs?: readonly JobClass[];
  /** Largest single message accepted, as in production. @defaultValue 1 000 000 bytes */
  maxMessageBytes?: number;
}

/** A producer that keeps what it is sent: each message gets the next offset of its partition. */
class InMemorySender implements MessageSender {
  readonly #offsets = new Map<string, number>();

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async send(messages: readonly OutboundMessage[]): Promise<Delivery[]> {
    return messages.map(({ topic, partition = 0 }) => {
      const name = `${topic}\u0000${partition}`;
      const offset = this.#offsets.get(name) ?? 0;
      this.#offsets.set(name, offset + 1);
      return { topic, partition, offset };
    });
  }
}

interface Captured {
  message: OutboundMessage;
  job: EnqueuedJob | undefined;
}

/**
 * A real {@link Dispatcher} over an in-memory producer: `performLater`, `performAllLater`,
 * `set({ wait })` and consumers' `produce*` take the production path (enqueue callbacks, envelope
 * encoding, size checks, delay-tier routing) and the messages are kept instead of sent to Kafka.
 * Install it with {@link useTestDispatcher}.
 */
export class TestDispatcher extends Dispatcher {
  /** The worker events of jobs performed here (`job.performed`, `job.failed`, `job.discarded`, ...). */
  readonly events = new WorkerEmitter();
  readonly #registry: JobRegistry;
  /** Every message accepted since the last clear, in acceptance order. */
  #messages: OutboundMessage[] = [];
  #pending: Captured[] = [];
  #performed: EnqueuedJob[] = [];
  /** Offsets of the messages performed (each run is its own one-message lane). */
  #performedMessages = 0;

  constructor(options: TestDispatcherOptions = {}) {
    super(new InMemorySender(), { lingerMs: 0, ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }) });
    this.#registry = new JobRegistry(options.jobs ?? []);
    // Failures reach the caller of performEnqueuedJobs; the event is there for listeners only.
    this.events.on('error', () => {});
  }

  override async produceSync(messages: readonly OutboundMessage[]): Promise<Delivery[]> {
    const deliveries = await super.produceSync(messages);
    this.#capture(messages);
    return deliveries;
  }

  override async produceAsync(messages: readonly OutboundMessage[]): Promise<void> {
    await super.produceAsync(messages);
    this.#capture(messages);
  }

  /** Every message accepted since the last clear (jobs and plain messages), in order. */
  messages(): readonly OutboundMessage[] {
    return [...this.#messages];
  }

  /** The jobs enqueued and not performed yet, in enqueue order. */
  enqueuedJobs(): EnqueuedJob[] {
    return this.#pending.flatMap((captured) => (captured.job ? [captured.job] : []));
  }

  /** The jobs `performEnqueuedJobs` ran (failed ones included), in order. */
  performedJobs(): EnqueuedJob[] {
    return [...this.#performed];
  }

  /** Forgets every captured message and performed job. */
  clearEnqueuedJobs(): void {
    this.#messages = [];
    this.#pending = [];
    this.#performed = [];
  }

  /**
   * Throws an `AssertionError` unless a job of `jobClass` is enqueued (and not performed yet) that
   * matches every field of `match`; the message lists what was enqueued. Returns the match.
   */
  assertEnqueuedWith(jobClass: JobClass, match: EnqueuedJobMatch = {}): EnqueuedJob {
    const name = jobNameOf(jobClass);
    const enqueued = this.enqueuedJobs();
    const found = enqueued.find((job) => job.jobClass === name && matches(job, match));
    if (found) return found;
    throw new AssertionError({
      message: `Expected a ${name} job enqueued with ${describeMatch(match)}; ${describeEnqueued(enqueued)}`,
      actual: enqueued.map(summary),
      expected: { jobClass: name, ...match },
      operator: 'assertEnqueuedWith',
      stackStartFn: this.assertEnqueuedWith,
    });
  }

  /** Throws an `AssertionError` naming the enqueued jobs (of `jobClass`, when given) when there are any. */
  assertNoEnqueuedJobs(jobClass?: JobClass): void {
    const name = jobClass === undefined ? undefined : jobNameOf(jobClass);
    const enqueued = this.enqueuedJobs().filter((job) => name === undefined || job.jobClass === name);
    if (enqueued.length === 0) return;
    throw new AssertionError({
      message: `Expected no ${name ?? ''}${name ? ' ' : ''}jobs enqueued; ${describeEnqueued(enqueued)}`,
      actual: enqueued.map(summary),
      expected: [],
      operator: 'assertNoEnqueuedJobs',
      stackStartFn: this.assertNoEnqueuedJobs,
    });
  }

  /**
   * Performs the enqueued jobs in enqueue order the way a worker does: each message is decoded with
   * the envelope codec, its class looked up in `jobs`, and run by the job consumer (perform
   * callbacks, `retryOn` in place without the engine's backoff wait, `retryOn` with a wait enqueuing
   * the retry, `discardOn`, `afterDiscard`). Jobs enqueued meanwhile are performed too, up to
   * `maxJobs`. A job that fails for good rejects with its error (an `UnrecoverableError` once its
   * `retryOn` attempts are spent; `BadMessageError` / `UnknownJobClassError` for bad input), as the
   * worker would before dead-lettering it. Resolves with the jobs performed.
   */
  async performEnqueuedJobs(options: PerformEnqueuedJobsOptions = {}): Promise<EnqueuedJob[]> {
    const maxJobs = options.maxJobs ?? 1000;
    if (!Number.isInteger(maxJobs) || maxJobs < 1) throw new InvalidOptionError('performEnqueuedJobs.maxJobs', `expected an integer >= 1, got ${String(maxJobs)}`);
    const scheduled = options.scheduled ?? 'keep';
    if (scheduled !== 'keep' && scheduled !== 'wait') throw new InvalidOptionError('performEnqueuedJobs.scheduled', `expected "keep" or "wait", got ${String(scheduled)}`);
    const only = options.only?.map((jobClass) => jobNameOf(jobClass));
    const performed: EnqueuedJob[] = [];
    for (;;) {
      await this.flush();
      const next = await this.#nextToPerform(only, scheduled);
      if (!next) return performed;
      if (performed.length >= maxJobs) {
        throw new EndlessJobsError(
          `performEnqueuedJobs performed ${maxJobs} jobs (maxJobs) and ${describeEnqueued(this.enqueuedJobs())}; ` +
            'do the jobs enqueue each other without end? Raise maxJobs if the test needs more.',
        );
      }
      this.#pending.splice(this.#pending.indexOf(next), 1);
      const job = next.job!;
      this.#performed.push(job);
      performed.push(job);
      await this.#perform(next.message, job);
    }
  }

  #capture(messages: readonly OutboundMessage[]): void {
    for (const message of messages) {
      this.#messages.push(message);
      this.#pending.push({ message, job: decodeJob(message) });
    }
  }

  /** The first enqueued job to perform now; with `'wait'`, waits for the first scheduled one. */
  async #nextToPerform(only: string[] | undefined, scheduled: 'keep' | 'wait'): Promise<Captured | undefined> {
    const candidates = this.#pending.filter((captured) => captured.job && (only === undefined || only.includes(captured.job.jobClass)));
    const due = candidates.find((captured) => (captured.job!.scheduledAt?.getTime() ?? 0) <= Date.now());
    if (due || scheduled === 'keep' || candidates.length === 0) return due;
    const first = candidates.reduce((a, b) => (a.job!.scheduledAt!.getTime() <= b.job!.scheduledAt!.getTime() ? a : b));
    await new Promise((resolve) => setTimeout(resolve, first.job!.scheduledAt!.getTime() - Date.now() + 1));
    return first;
  }

  /**
   * Runs one job message on its job topic, as the delay tiers deliver it when due. An in-place
   * `retryOn` rule (the attempt memory counts the failure) runs it again at once; any other throw is
   * the job's outcome.
   */
  async #perform(message: OutboundMessage, job: EnqueuedJob): Promise<void> {
    const arrived = job.delayTopic === undefined ? message : routeScheduled(message, job.topic, job.scheduledAt!.getTime(), Date.now(), Date.now());
    const partition = arrived.partition ?? 0;
    const offset = this.#performedMessages++;
    const consumed = testMessage({ ...arrived, partition, offset, timestamp: Date.now() });
    const consumer = new JobConsumer(this.#registry);
    const attempts = new Map<number, AttemptMemory>();
    const marks: OffsetAndMetadata[] = [];
    const settings = { topic: arrived.topic, partition, committedMetadata: null, dispatcher: this, events: this.events, marks, attempts };
    for (;;) {
      const retriesBefore = inPlaceRetries(attempts.get(offset));
      try {
        await runTestLane(consumer, [consumed], settings);
        return;
      } catch (error) {
        if (inPlaceRetries(attempts.get(offset)) > retriesBefore) continue;
        throw error;
      }
    }
  }
}

/**
 * Makes a new {@link TestDispatcher} the process's dispatcher (the one `performLater` uses),
 * closing the previous one. Call it in a `beforeEach`; `closeDispatcher()` removes it.
 */
export async function useTestDispatcher(options: TestDispatcherOptions = {}): Promise<TestDispatcher> {
  const dispatcher = new TestDispatcher(options);
  await useDispatcher(dispatcher);
  return dispatcher;
}

function inPlaceRetries(memory: AttemptMemory | undefined): number {
  return Object.values(memory?.exceptionExecutions ?? {}).reduce((sum, count) => sum + count, 0);
}

/**
 * The job in a captured message; undefined for a plain message, and for one that only claims to
 * be a job (a `job-class` header over a value that is no envelope): it stays in `messages()`.
 */
function decodeJob(message: OutboundMessage): EnqueuedJob | undefined {
  if (message.headers[JobHeaders.jobClass] === undefined) return undefined;
  const value = message.value === null ? null : Buffer.from(message.value);
  let envelope: JobEnvelope;
  try {
    envelope = decodeEnvelope(value, message.headers, { topic: message.topic, partition: message.partition ?? 0, offset: -1 });
  } catch (error) {
    if (error instanceof BadMessageError) return undefined;
    throw error;
  }
  const delay = parseDelayTopic(message.topic);
  return {
    jobClass: envelope.job_class,
    jobId: envelope.job_id,
    topic: delay?.target ?? message.topic,
    delayTopic: delay ? message.topic : undefined,
    key: message.headers[JobHeaders.jobKey],
    args: envelope.arguments,
    executions: envelope.executions,
    exceptionExecutions: { ...(envelope.exception_executions ?? {}) },
    enqueuedAt: new Date(envelope.enqueued_at),
    scheduledAt: envelope.scheduled_at === undefined ? undefined : new Date(envelope.scheduled_at),
    envelope,
    message,
  };
}

function matches(job: EnqueuedJob, match: EnqueuedJobMatch): boolean {
  if (match.args !== undefined && !isDeepStrictEqual(job.args, match.args)) return false;
  if (match.topic !== undefined && job.topic !== match.topic) return false;
  if (match.key !== undefined && job.key !== match.key) return false;
  if (match.at !== undefined) {
    const due = job.scheduledAt?.getTime();
    if (due === undefined) return false;
    if (match.at instanceof Date) return due === match.at.getTime();
    if (match.at.from !== undefined && due < match.at.from.getTime()) return false;
    if (match.at.to !== undefined && due > match.at.to.getTime()) return false;
  }
  return true;
}

function summary(job: EnqueuedJob): Record<string, unknown> {
  return {
    jobClass: job.jobClass,
    args: job.args,
    topic: job.topic,
    ...(job.key === undefined ? {} : { key: job.key }),
    ...(job.scheduledAt === undefined ? {} : { at: job.scheduledAt }),
  };
}

function describeMatch(match: EnqueuedJobMatch): string {
  return Object.keys(match).length === 0 ? 'any arguments' : inspect(match, { depth: 6, breakLength: Infinity });
}

function describeEnqueued(enqueued: readonly EnqueuedJob[]): string {
  if (enqueued.length === 0) return 'no jobs were enqueued';
  const lines = enqueued.map((job) => `  ${inspect(summary(job), { depth: 6, breakLength: Infinity })}`);
  return `enqueued (${enqueued.length}):\n${lines.join('\n')}`;
}
