/**
 * BullMQ-style code in the shapes of BullMQ's quick-start examples (written for Partita's type
 * test, spec/unit/bullmq/types.spec.ts): it compiles against `bullmq` as it is, and against
 * `partita/bullmq` with only the import below changed.
 */
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';

interface Email {
  to: string;
  subject: string;
}

const connection = { host: '127.0.0.1', port: 9092 };

const mailQueue = new Queue<Email, string>('mail', {
  connection,
  defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true },
});

export async function addJobs(): Promise<string | undefined> {
  const welcome = await mailQueue.add('welcome', { to: 'ada@example.com', subject: 'Welcome' }, { jobId: 'welcome-ada', delay: 5000 });
  await mailQueue.add('reminder', { to: 'ada@example.com', subject: 'Reminder' }, { attempts: 5, backoff: 2000, timestamp: Date.now(), removeOnFail: 100 });
  await mailQueue.addBulk([
    { name: 'digest', data: { to: 'bob@example.com', subject: 'News' } },
    { name: 'digest', data: { to: 'eve@example.com', subject: 'News' }, opts: { backoff: { type: 'fixed', delay: 500 } } },
  ]);
  return welcome.id;
}

const worker = new Worker<Email, string>(
  'mail',
  async (job: Job<Email, string>) => {
    await job.updateProgress(10);
    await job.log(`sending ${job.name} to ${job.data.to} (attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1})`);
    await job.updateProgress({ step: 'sent' });
    return `${job.id} sent at ${new Date(job.timestamp).toISOString()}`;
  },
  { connection, concurrency: 8, autorun: false },
);

worker.on('active', (job) => console.log(`${job.id} started`));
worker.on('completed', (job: Job<Email, string>, result: string) => console.log(`${job.id} completed: ${result}`));
worker.on('failed', (job: Job<Email, string> | undefined, error: Error) => console.error(`${job?.id} failed: ${error.message}`));
worker.on('progress', (job, progress) => console.log(`${job.id} progress`, progress));
worker.on('error', (error) => console.error(error));
worker.on('drained', () => console.log('the queue is drained'));

const queueEvents = new QueueEvents('mail', { connection });
queueEvents.on('failed', ({ jobId, failedReason }: { jobId: string; failedReason: string }) => console.error(`${jobId} failed: ${failedReason}`));
queueEvents.on('active', ({ jobId }) => console.log(`${jobId} is running`));

export async function lifecycle(): Promise<number | undefined> {
  void worker.run();
  await worker.pause();
  console.log(worker.isPaused(), worker.isRunning());
  await worker.resume();
  const counts = await mailQueue.getJobCounts('waiting', 'active', 'delayed', 'failed');
  await worker.close();
  await queueEvents.close();
  await mailQueue.close();
  return counts.waiting;
}
