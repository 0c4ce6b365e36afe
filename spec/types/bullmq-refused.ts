/**
 * BullMQ options and calls Partita cannot honour on Kafka, refused by `tsc` (each marked line must
 * be a type error). The type test (spec/unit/bullmq/types.spec.ts) also compiles this file against
 * `bullmq` with the markers removed, proving every line is valid BullMQ.
 */
import { Queue, QueueEvents, Worker } from 'partita/bullmq';

const connection = { host: '127.0.0.1', port: 9092 };
const queue = new Queue('mail', { connection });

export async function refused(): Promise<void> {
  // @ts-expect-error priorities: a Kafka partition is read in offset order
  await queue.add('urgent', { to: 'ada' }, { priority: 1 });
  // @ts-expect-error lifo: a Kafka partition is appended to at its end only
  await queue.add('last', { to: 'ada' }, { lifo: true });
  // @ts-expect-error flows (parent and child jobs) are not supported
  await queue.add('child', { to: 'ada' }, { parent: { id: 'parent-1', queue: 'bull:mail' } });
  // @ts-expect-error deduplication: Kafka has no lookup by job id
  await queue.add('once', { to: 'ada' }, { deduplication: { id: 'once' } });
  // @ts-expect-error completed jobs are not counted: Kafka keeps no per-job state
  await queue.getJobCounts('completed');
  // @ts-expect-error rate limiters are not supported
  const limited = new Worker('mail', async () => 'done', { connection, limiter: { max: 10, duration: 1000 } });
  await limited.close();
  const events = new QueueEvents('mail', { connection });
  // @ts-expect-error per-job completions are not in the worker reports: listen on the Worker
  events.on('completed', ({ jobId }) => console.log(jobId));
  await events.close();
}
