import { InvalidOptionError, UnknownJobClassError, type MessageCoordinates } from '../errors.ts';
import type { JobEnvelope } from './envelope.ts';
import { Job, jobNameOf, jobOptionsOf, type JobClass } from './job.ts';

/**
 * The job classes a worker may run, by name. A message can only ever select one of these: nothing
 * named in a message is imported or evaluated.
 */
export class JobRegistry {
  readonly #classes = new Map<string, JobClass>();

  constructor(jobs: readonly JobClass[] = []) {
    for (const jobClass of jobs) this.register(jobClass);
  }

  /** Adds a class; validates its options now so a bad definition fails at start, not mid-stream. */
  register(jobClass: JobClass): void {
    if (typeof jobClass !== 'function') {
      throw new InvalidOptionError('jobs', `expected job classes, got ${typeof jobClass}`);
    }
    const name = jobNameOf(jobClass);
    const existing = this.#classes.get(name);
    if (existing && existing !== jobClass) {
      throw new InvalidOptionError('jobs', `two different job classes are named "${name}"; set static jobName on one of them`);
    }
    jobOptionsOf(jobClass);
    this.#classes.set(name, jobClass);
  }

  /** Registered names. */
  get names(): string[] {
    return [...this.#classes.keys()];
  }

  /** The class for a name, or an {@link UnknownJobClassError} that says where the message was. */
  resolve(name: string, at: MessageCoordinates): JobClass {
    const jobClass = this.#classes.get(name);
    if (!jobClass) throw new UnknownJobClassError(name, at, this.names);
    return jobClass;
  }

  /** Rebuilds a job from its envelope. */
  instantiate(envelope: JobEnvelope, at: MessageCoordinates): Job<any[]> {
    const jobClass = this.resolve(envelope.job_class, at);
    const job = Job.rebuild(jobClass, envelope.job_id, envelope.arguments);
    job.executions = envelope.executions;
    // The envelope was just decoded for this job and nobody else holds it: its object is taken as it is.
    job.exceptionExecutions = envelope.exception_executions ?? {};
    job.enqueuedAt = new Date(envelope.enqueued_at);
    if (envelope.scheduled_at !== undefined) job.scheduledAt = new Date(envelope.scheduled_at);
    job.topic = at.topic;
    return job;
  }
}
