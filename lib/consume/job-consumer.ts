import { BadMessageError, errorClassName, UnrecoverableError } from '../errors.ts';
import { runWithCallbacks } from '../job/callbacks.ts';
import { decodeEnvelope, JobHeaders } from '../job/envelope.ts';
import { decideOnError, runAfterDiscard } from '../job/error-handling.ts';
import { Job } from '../job/job.ts';
import type { JobRegistry } from '../job/registry.ts';
import { Consumer } from './consumer.ts';
import type { Message } from './message.ts';

/**
 * The consumer of job topics: each message is one job, run in lane order and marked when done.
 * A job that fails stops its lane (the engine retries in place); `discardOn` drops it, `retryOn`
 * bounds its attempts; a job after a stop request does not start.
 */
export class JobConsumer extends Consumer {
  readonly #registry: JobRegistry;

  constructor(registry: JobRegistry) {
    super();
    this.#registry = registry;
  }

  async consume(messages: Message[]): Promise<void> {
    for (const message of messages) {
      if (this.shouldStop()) return;
      await this.#perform(message);
      this.markAsConsumed(message);
    }
  }

  async #perform(message: Message): Promise<void> {
    const { events, lane } = this.context;
    const at = { topic: message.topic, partition: message.partition, offset: message.offset };
    const memory = this.context.attemptsOf(message.offset);
    let job: Job<any[]> | undefined;
    try {
      const envelope = decodeEnvelope(message.value, message.headers, at);
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
      job.exceptionExecutions = { ...job.exceptionExecutions, ...memory.exceptionExecutions };
      memory.executions += 1;
      const startedAt = Date.now();
      // Payloads are built only for listeners, field by field: this runs once per job.
      if (events.listenerCount('job.started') > 0) {
        events.emit('job.started', { topic: at.topic, partition: at.partition, offset: at.offset, lane, jobId: job.jobId, jobClass: job.jobClass, executions: job.executions });
      }
      const running = job;
      await runWithCallbacks(running, 'perform', async () => {
        await running.perform(...running.arguments);
      });
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
      const error = cause instanceof Error ? cause : new Error(String(cause));
      const jobId = job?.jobId ?? message.headers[JobHeaders.jobId];
      const jobClass = job?.jobClass ?? message.headers[JobHeaders.jobClass];
      if (error instanceof BadMessageError) {
        events.emit('job.failed', { ...at, lane, jobId, jobClass, error });
        events.emit('error', { error, ...at, kind: error.kind });
        throw error;
      }
      const decision = job ? decideOnError(job.constructor, error, memory.exceptionExecutions) : { action: 'raise' as const };
      if (decision.action === 'discard') {
        events.emit('job.discarded', { ...at, lane, jobId, jobClass, error });
        await runAfterDiscard(job!, error);
        return;
      }
      events.emit('job.failed', { ...at, lane, jobId, jobClass, error });
      if (decision.action === 'retry') {
        memory.exceptionExecutions[decision.handler] = (memory.exceptionExecutions[decision.handler] ?? 0) + 1;
        throw error;
      }
      if (decision.action === 'give-up') {
        await runAfterDiscard(job!, error);
        throw new UnrecoverableError(`${jobClass} ${jobId} failed ${decision.attempts} times with ${errorClassName(error)}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
}
