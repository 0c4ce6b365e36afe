/**
 * The job every workload uses, and the raw Kafka message Partita would send for it, so that the
 * raw kafkajs baselines move byte-for-byte equal messages.
 */
import type { Message } from 'kafkajs';
import superjson from 'superjson';
import { ENVELOPE_CONTENT_TYPE, Job, JobHeaders, type JobClass } from '../lib/index.ts';

/** `[sequence number, enqueue time (ms, sub-ms precision), filler]`. */
export type BenchArgs = [n: number, sentAt: number, filler: string];

/** What a worker does with a job. */
export type Perform = (n: number, sentAt: number) => unknown;

/** A job class named `BenchJob` for `topic`, keyed by `n % keys`, running `perform`. */
export function benchJob(topic: string, keys: number, perform: Perform = () => undefined) {
  return class BenchJob extends Job<BenchArgs> {
    static override jobName = 'BenchJob';
    static override options = { topic, partitioner: (job: Job<any[]>) => keyOf(Number(job.arguments[0]), keys) };
    perform(n: number, sentAt: number): unknown {
      return perform(n, sentAt);
    }
  };
}

function keyOf(n: number, keys: number): string {
  return `k${n % keys}`;
}

/** The message Partita produces for `new BenchJob(n, sentAt, filler)`: same key, value and headers. */
export function rawJobMessage(jobClass: JobClass<Job<BenchArgs>>, keys: number, args: BenchArgs): Message {
  const job = new jobClass(...args);
  const key = keyOf(args[0], keys);
  return {
    key,
    value: superjson.stringify(job.serialize()),
    headers: {
      [JobHeaders.jobClass]: job.jobClass,
      [JobHeaders.jobId]: job.jobId,
      [JobHeaders.contentType]: ENVELOPE_CONTENT_TYPE,
      [JobHeaders.jobKey]: key,
    },
  };
}
