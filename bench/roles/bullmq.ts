/** BullMQ on the local Redis: bulk adds, and a worker with a given concurrency. */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { filler } from '../support/payload.ts';
import { now, sleep, throughput, waitUntil, type Throughput } from '../support/stats.ts';
import type { WorkerResult } from './partita-worker.ts';

export interface BullAddSpec {
  redisPort: number;
  queue: string;
  jobs: number;
  chunk: number;
  payloadChars: number;
}

export interface BullWorkerSpec {
  redisPort: number;
  queue: string;
  expected: number;
  concurrency: number;
  /** 0: no-op jobs; else each job awaits this many ms. */
  jobMs: number;
  deadlineMs: number;
}

function connect(port: number): Redis {
  return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
}

/** `addBulk` in chunks; the same arguments as the Partita jobs. Completed jobs are removed (the usual setting). */
export async function bullAdd(spec: BullAddSpec): Promise<Throughput> {
  const connection = connect(spec.redisPort);
  const queue = new Queue(spec.queue, { connection });
  await queue.waitUntilReady();
  const text = filler(spec.payloadChars);
  const started = now();
  for (let n = 0; n < spec.jobs; n += spec.chunk) {
    const size = Math.min(spec.chunk, spec.jobs - n);
    await queue.addBulk(
      Array.from({ length: size }, (_, i) => ({ name: 'BenchJob', data: { arguments: [n + i, 0, text] }, opts: { removeOnComplete: true } })),
    );
  }
  const measured = throughput(spec.jobs, started, now());
  await queue.close();
  connection.disconnect();
  return measured;
}

export async function bullWorker(spec: BullWorkerSpec, ready: () => void): Promise<WorkerResult> {
  const connection = connect(spec.redisPort);
  let lastAt = 0;
  let completed = 0;
  let errors = 0;
  const worker = new Worker(
    spec.queue,
    async () => {
      if (spec.jobMs > 0) await sleep(spec.jobMs);
    },
    { connection, concurrency: spec.concurrency, autorun: false },
  );
  worker.on('completed', () => {
    completed += 1;
    if (completed === spec.expected) lastAt = now();
  });
  worker.on('failed', () => (errors += 1));
  worker.on('error', () => (errors += 1));
  await worker.waitUntilReady();
  ready();
  const startedAt = now();
  void worker.run();
  const finished = await waitUntil(() => completed >= spec.expected, Date.now() + spec.deadlineMs);
  const end = finished ? lastAt : now();
  await worker.close();
  connection.disconnect();
  return { finished, startedAt, lastAt: end, ...throughput(finished ? spec.expected : completed, startedAt, end), errors };
}
