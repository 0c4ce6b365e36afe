import { BadMessageError } from '../errors.ts';
import { runWithCallbacks } from '../job/callbacks.ts';
import { decodeEnvelope, JobHeaders } from '../job/envelope.ts';
import type { JobRegistry } from '../job/registry.ts';
import { Consumer } from './consumer.ts';
import type { Message } from './message.ts';

/**
 * The consumer of job topics: each message is one job, run in lane order and marked when done.
 * A job that fails stops its lane (the engine retries); a job after a stop request does not start.
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
    let jobId: string | undefined = message.headers[JobHeaders.jobId];
    let jobClass: string | undefined = message.headers[JobHeaders.jobClass];
    try {
      const envelope = decodeEnvelope(message.value, message.headers, at);
      const job = this.#registry.instantiate(envelope, at);
      jobId = job.jobId;
      jobClass = job.jobClass;
      job.signal = this.signal;
      job.executions += 1;
      const startedAt = Date.now();
      events.emit('job.started', { ...at, lane, jobId: job.jobId, jobClass: job.jobClass, executions: job.executions });
      await runWithCallbacks(job, 'perform', async () => {
        await job.perform(...job.arguments);
      });
      events.emit('job.performed', { ...at, lane, jobId: job.jobId, jobClass: job.jobClass, executions: job.executions, startedAt, finishedAt: Date.now() });
    } catch (cause) {
      const error = cause instanceof Error ? cause : new Error(String(cause));
      events.emit('job.failed', { ...at, lane, jobId, jobClass, error });
      if (error instanceof BadMessageError) events.emit('error', { error, ...at, kind: error.kind });
      throw error;
    }
  }
}
