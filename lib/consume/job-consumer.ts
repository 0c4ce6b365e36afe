import { currentDeliveryScope } from '../dispatch/delivery-scope.ts';
import type { OutboundMessage } from '../kafka/outbound-message.ts';
import { BadMessageError, errorClassName, SchedulingError, UnrecoverableError, toError } from '../errors.ts';
import { runWithCallbacks } from '../job/callbacks.ts';
import { decodeEnvelope, encodeEnvelope, JobHeaders, type JobEnvelope } from '../job/envelope.ts';
import { decideOnError, runAfterDiscard } from '../job/error-handling.ts';
import { Job } from '../job/job.ts';
import type { JobRegistry } from '../job/registry.ts';
import { retryWaitMs, type RetryWaitSettings } from '../schedule/retry-wait.ts';
import { routeScheduled } from '../schedule/tiers.ts';
import { inConsumerSpan } from '../tracing/index.ts';
import { Consumer } from './consumer.ts';
import { JobHold } from './job-hold.ts';
import type { Message } from '../kafka/inbound-message.ts';

/**
 * The consumer of job topics: each message is one job, run in lane order and marked when done.
 * A job that fails stops its lane (the engine retries in place); `discardOn` drops it, `retryOn`
 * bounds its attempts, or with a wait enqueues it again through the delay tiers; a job after a stop
 * request does not start. A job whose `scheduled_at` is still ahead (a replay, a clock step, a
 * producer that wrote it straight to the job topic) is sent back to the delay tiers, never run early.
 * While the app's `hold` is on (`app.pause()`), the lane waits before its next job.
 */
export class JobConsumer extends Consumer {
  readonly #registry: JobRegistry;
  readonly #hold: JobHold;
  readonly #groupId: string | undefined;

  /** `groupId` names the consumer group in each job's span (see `partita/tracing`). */
  constructor(registry: JobRegistry, hold: JobHold = new JobHold(), groupId?: string) {
    super();
    this.#registry = registry;
    this.#hold = hold;
    this.#groupId = groupId;
  }

  async consume(messages: Message[]): Promise<void> {
    const followUps = currentDeliveryScope();
    for (const message of messages) {
      if (this.#hold.held) await this.#hold.whenReleased(this.context.stopSignal);
      if (this.shouldStop()) return;
      // A follow-up job of an earlier job was lost: fail here, so that job (unmarked) runs again.
      const lost = followUps?.failure;
      if (lost) throw lost;
      await this.#perform(message);
      this.markAsConsumed(message);
    }
  }

  async #perform(message: Message): Promise<void> {
    const { events, lane } = this.context;
    // The message is its own coordinates (topic, partition, offset): no object is made for them.
    const at = message;
    const memory = this.context.attemptsOf(message.offset);
    if (memory.unrecoverable) throw memory.unrecoverable;
    let job: Job<any[]> | undefined;
    try {
      const envelope = decodeEnvelope(message.value, message.headers, at);
      if (envelope.scheduled_at !== undefined && (await this.#delayIfEarly(message, envelope, envelope.scheduled_at))) return;
      job = this.#registry.instantiate(envelope, at);
      job.signal = this.signal;
      Job.attachTransactionRunner(job, (body) =>
        this.transaction(async (tx) => {
          const result = await body(tx);
          this.markAsConsumed(message);
          return result;
        }),
      );
      job.executions += memory.executions + 1;
      for (const handler in memory.exceptionExecutions) {
        job.exceptionExecutions[handler] = (job.exceptionExecutions[handler] ?? 0) + memory.exceptionExecutions[handler]!;
      }
      memory.executions += 1;
      const startedAt = Date.now();
      // Payloads are built only for listeners, field by field: this runs once per job.
      if (events.listenerCount('job.started') > 0) {
        events.emit('job.started', { topic: at.topic, partition: at.partition, offset: at.offset, lane, jobId: job.jobId, jobClass: job.jobClass, executions: job.executions, startedAt });
      }
      const running = job;
      await inConsumerSpan(message, this.#groupId, running, () => runWithCallbacks(running, 'perform', () => performOf(running)));
      if (events.listenerCount('job.performed') > 0) {
        events.emit('job.performed', {
          topic: at.topic,
          partition: at.partition,
          offset: at.offset,
          lane,
          jobId: job.jobId,
          jobClass: job.jobClass,
          executions: job.executions,
          startedAt,
          finishedAt: Date.now(),
        });
      }
    } catch (cause) {
      const error = toError(cause);
      const jobId = job?.jobId ?? message.headers[JobHeaders.jobId];
      const jobClass = job?.jobClass ?? message.headers[JobHeaders.jobClass];
      memory.failures += 1;
      const attempt = memory.failures;
      if (error instanceof BadMessageError) {
        events.emit('job.failed', { ...at, lane, jobId, jobClass, attempt, revoked: this.revoked(), error });
        events.emit('error', { error, ...at, kind: error.kind });
        throw error;
      }
      const decision = job ? decideOnError(job, error) : { action: 'raise' as const };
      if (decision.action === 'discard') {
        events.emit('job.discarded', { ...at, lane, jobId, jobClass, error });
        await runAfterDiscard(job!, error);
        return;
      }
      events.emit('job.failed', { ...at, lane, jobId, jobClass, attempt, revoked: this.revoked(), error });
      if (decision.action === 'retry' && decision.wait) {
        await this.#retryLater(message, job!, decision.handler, decision.wait);
        return;
      }
      if (decision.action === 'retry') {
        memory.exceptionExecutions[decision.handler] = (memory.exceptionExecutions[decision.handler] ?? 0) + 1;
        throw error;
      }
      if (decision.action === 'give-up') {
        await runAfterDiscard(job!, error);
        memory.unrecoverable = new UnrecoverableError(`${jobClass} ${jobId} failed ${decision.attempts} times with ${errorClassName(error)}: ${error.message}`, { cause: error });
        throw memory.unrecoverable;
      }
      if (error instanceof UnrecoverableError) memory.unrecoverable = error;
      throw error;
    }
  }

  /** Sends a job whose `scheduled_at` is still ahead back to the delay tiers (unchanged); true when it did. */
  async #delayIfEarly(message: Message, envelope: JobEnvelope, scheduledAtText: string): Promise<boolean> {
    const scheduledAt = Date.parse(scheduledAtText);
    const now = Date.now();
    if (scheduledAt <= now) return false;
    const early = routeScheduled({ key: message.rawKey, value: message.value, headers: message.headers }, message.topic, scheduledAt, now, now);
    await this.#send(early, `send ${envelope.job_class} ${envelope.job_id}, due at ${envelope.scheduled_at}, back to the delay tiers`);
    this.#reportScheduled(message, envelope.job_id, envelope.job_class, scheduledAt, early.topic, 'early');
    return true;
  }

  /**
   * `retryOn` with a wait: enqueues the job again (same id, executions and failure counts carried
   * in the envelope) through the delay tiers; the failed message is then marked and the lane goes on.
   */
  async #retryLater(message: Message, job: Job<any[]>, handler: string, wait: RetryWaitSettings<Job<any[]>>): Promise<void> {
    const waitMs = retryWaitMs(`${job.jobClass}.retryOn`, wait, job.executions, job);
    const now = Date.now();
    job.exceptionExecutions[handler] = (job.exceptionExecutions[handler] ?? 0) + 1;
    job.enqueuedAt = new Date(now);
    job.scheduledAt = new Date(now + waitMs);
    const encoded = encodeEnvelope(job.serialize(), message.headers[JobHeaders.jobKey]);
    const retry = routeScheduled(
      { key: message.rawKey, value: encoded.value, headers: { ...message.headers, ...encoded.headers } },
      message.topic,
      job.scheduledAt.getTime(),
      now,
      now,
    );
    await this.#send(retry, `enqueue the retry of ${job.jobClass} ${job.jobId} (execution ${job.executions + 1}, in ${waitMs} ms)`);
    this.#reportScheduled(message, job.jobId, job.jobClass, job.scheduledAt.getTime(), retry.topic, 'retry');
  }

  async #send(message: OutboundMessage, what: string): Promise<void> {
    try {
      await this.context.dispatcher().produceSync([message]);
    } catch (cause) {
      throw new SchedulingError(`Could not ${what}: ${toError(cause).message}`, { cause });
    }
  }

  #reportScheduled(message: Message, jobId: string, jobClass: string, scheduledAt: number, delayTopic: string, reason: 'early' | 'retry'): void {
    const at = { topic: message.topic, partition: message.partition, offset: message.offset };
    this.context.events.emit('job.scheduled', { ...at, lane: this.context.lane, jobId, jobClass, scheduledAt: new Date(scheduledAt), delayTopic, reason });
  }
}

const SETTLED = Promise.resolve();

/**
 * Runs `perform` and resolves when it is done: its own promise when it returns one, else one shared
 * settled promise (a no-op job makes no promise of its own). A synchronous throw is thrown here.
 */
function performOf(job: Job<any[]>): Promise<void> {
  const result: unknown = job.perform(...job.arguments);
  return isThenable(result) ? Promise.resolve(result).then(() => undefined) : SETTLED;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
