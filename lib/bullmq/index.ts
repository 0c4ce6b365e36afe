/**
 * `partita/bullmq`: BullMQ's `Queue`, `Worker` and `QueueEvents` over Partita's engine, so that a
 * BullMQ app moves to Kafka by changing its import. See the README's "Coming from BullMQ" for what
 * maps and what differs.
 */
export { Queue, type QueueOptions, type BulkJob, type JobType } from './queue.ts';
export { Worker, type WorkerOptions, type WorkerListener, type Processor } from './worker.ts';
export { QueueEvents, type QueueEventsOptions, type QueueEventsListener } from './queue-events.ts';
export { Job, type JobProgress } from './job.ts';
export type { JobsOptions, BackoffOptions, GroupOptions, KeepJobs } from './options.ts';
export type { ConnectionOptions, HostPortConnection } from './connection.ts';
export { UnrecoverableError, UnsupportedOptionError } from '../errors.ts';
