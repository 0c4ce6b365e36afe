import { expect } from 'chai';
// The code under test is written as for BullMQ; only this import differs.
import { Queue, QueueEvents, Worker, type Job } from 'partita/bullmq';
import { closeDispatcher } from '../../lib/dispatch/default-dispatcher.ts';
import { createTopic, readAll, testBrokers, unique, waitFor } from '../support/kafka.ts';

describe('partita/bullmq: a BullMQ-style app on Kafka (broker)', function () {
  let connection: { brokers: string[] };
  before(() => (connection = { brokers: testBrokers() }));
  const opened: { close(): Promise<void> }[] = [];

  function open<T extends { close(): Promise<void> }>(closable: T): T {
    opened.push(closable);
    return closable;
  }

  async function startedWorker<D, R>(name: string, processor: (job: Job<D, R>) => Promise<R>, concurrency = 1): Promise<Worker<D, R>> {
    const worker = open(new Worker<D, R>(name, processor, { connection, concurrency }));
    await worker.waitUntilReady();
    return worker;
  }

  afterEach(async () => {
    for (const closable of opened.splice(0).reverse()) await closable.close();
    await closeDispatcher();
  });

  it('B1: retries a failing job per its attempts and exponential backoff; events fire with the result', async () => {
    const name = unique('bull-retry');
    const starts: { attemptsMade: number; at: number }[] = [];
    const worker = await startedWorker<{ to: string }, string>(name, async (job) => {
      starts.push({ attemptsMade: job.attemptsMade, at: Date.now() });
      if (job.attemptsMade < 2) throw new Error(`attempt ${job.attemptsMade + 1} of ${job.data.to} fails`);
      return `sent to ${job.data.to}`;
    });
    const events: string[] = [];
    let completed: { id: string; result: string; attemptsMade: number } | undefined;
    worker.on('active', (job) => events.push(`active:${job.attemptsMade}`));
    worker.on('failed', (job, error) => events.push(`failed:${job?.attemptsMade}:${error.message}`));
    worker.on('completed', (job, result) => {
      events.push('completed');
      completed = { id: job.id, result, attemptsMade: job.attemptsMade };
    });
    const queue = open(new Queue<{ to: string }, string>(name, { connection }));
    const added = await queue.add('welcome', { to: 'ada' }, { jobId: 'welcome-ada', attempts: 3, backoff: { type: 'exponential', delay: 400 } });
    expect(added.id).to.equal('welcome-ada');
    expect(added.name).to.equal('welcome');

    await waitFor(() => completed !== undefined, { what: 'the job to complete on its third attempt', timeoutMs: 60_000 });
    expect(completed).to.deep.equal({ id: 'welcome-ada', result: 'sent to ada', attemptsMade: 2 });
    expect(events).to.deep.equal([
      'active:0', 'failed:1:attempt 1 of ada fails',
      'active:1', 'failed:2:attempt 2 of ada fails',
      'active:2', 'completed',
    ]);
    // Exponential backoff: the second attempt waits at least 400 ms, the third at least 800 ms.
    expect(starts[1]!.at - starts[0]!.at).to.be.at.least(400);
    expect(starts[2]!.at - starts[1]!.at).to.be.at.least(800);
  });

  it('B1: a job whose attempts are spent runs exactly that often, also failing beside other lanes, and is a dead letter', async () => {
    const name = await createTopic(unique('bull-fail'), 1);
    const queue = open(new Queue(name, { connection }));
    // Added before the worker starts, so that its first batch holds them all, split into lanes:
    // doomed-once's only attempt (the default attempts: 1) fails while its siblings run.
    await queue.addBulk([1, 2, 3, 4, 5, 6].map((n) => ({ name: n === 3 ? 'doomed-once' : `fine-${n}`, data: { n } })));
    await queue.add('doomed-twice', { n: 7 }, { attempts: 2, backoff: 200 });
    const runs = new Map<string, number>();
    const failures: string[] = [];
    const worker = open(new Worker<{ n: number }, number>(name, async (job) => {
      runs.set(job.name, (runs.get(job.name) ?? 0) + 1);
      if (job.name.startsWith('doomed')) throw new Error(`${job.name} always fails`);
      return job.data.n;
    }, { connection, concurrency: 4 }));
    worker.on('failed', (job) => failures.push(`${job!.name}:${job!.attemptsMade}`));
    let lanes = 0;
    worker.app.on('batch.started', (batch) => void (batch.topic === name && (lanes = Math.max(lanes, batch.lanes))));
    await worker.waitUntilReady();

    const deadLetters = await readAll(`${name}.failed`, 2);
    expect(deadLetters.map((m) => m.headers['error-class'])).to.deep.equal(['UnrecoverableError', 'UnrecoverableError']);
    const messages = deadLetters.map((m) => m.headers['error-message']!.replace(/^partita\.bullmq \S+ /, '')).sort();
    expect(messages).to.deep.equal(['failed 1 times with Error: doomed-once always fails', 'failed 2 times with Error: doomed-twice always fails']);
    expect(lanes, 'lanes of the first batch').to.be.greaterThan(1);
    expect(Object.fromEntries(runs)).to.deep.equal({ 'fine-1': 1, 'fine-2': 1, 'doomed-once': 1, 'fine-4': 1, 'fine-5': 1, 'fine-6': 1, 'doomed-twice': 2 });
    expect(failures.sort()).to.deep.equal(['doomed-once:1', 'doomed-twice:1', 'doomed-twice:2']);
  });

  it('B1: a delayed job does not start before its delay; addBulk adds every job', async () => {
    const name = unique('bull-delay');
    const started = new Map<string, number>();
    await startedWorker<{ n: number }, number>(name, async (job) => {
      started.set(job.name, Date.now());
      return job.data.n;
    }, 2);
    const queue = open(new Queue(name, { connection }));
    const addedAt = Date.now();
    const [late] = await queue.addBulk([
      { name: 'late', data: { n: 0 }, opts: { delay: 2_000 } },
      { name: 'now-1', data: { n: 1 } },
      { name: 'now-2', data: { n: 2 } },
    ]);
    expect(late!.delay).to.equal(2_000);
    await waitFor(() => started.size === 3, { what: 'all three jobs to start', timeoutMs: 60_000 });
    expect(started.get('late')! - addedAt).to.be.at.least(2_000);
  });

  it('B1: pause() starts no job until resume(); group ids keep their order; progress and drained fire', async () => {
    const name = unique('bull-pause');
    const ran: string[] = [];
    const worker = await startedWorker<{ group: string; n: number }, void>(name, async (job) => {
      await job.updateProgress(100);
      ran.push(`${job.data.group}${job.data.n}`);
    }, 4);
    let progressEvents = 0;
    let drained = 0;
    worker.on('progress', (_job, progress) => void (progress === 100 && (progressEvents += 1)));
    worker.on('drained', () => (drained += 1));
    await worker.pause();
    expect(worker.isPaused()).to.equal(true);

    const queue = open(new Queue(name, { connection }));
    const jobs = ['a', 'b', 'c'].flatMap((group) => [0, 1, 2, 3].map((n) => ({ name: 'step', data: { group, n }, opts: { group: { id: group } } })));
    await queue.addBulk(jobs);
    // The jobs are on the topic, fetched by the paused worker, and not started.
    await readAll(name, jobs.length);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(ran, 'jobs that ran while the worker was paused').to.deep.equal([]);

    await worker.resume();
    await waitFor(() => ran.length === jobs.length, { what: 'every job to run after resume()', timeoutMs: 60_000 });
    for (const group of ['a', 'b', 'c']) {
      expect(ran.filter((step) => step.startsWith(group)), `order of group ${group}`).to.deep.equal([0, 1, 2, 3].map((n) => `${group}${n}`));
    }
    expect(progressEvents).to.equal(jobs.length);
    await waitFor(() => drained > 0, { what: 'the drained event' });
  });

  it('B1: drained waits for a slow job of an earlier batch while later batches finish around it', async () => {
    const name = unique('bull-drained');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started = new Set<string>();
    const done = new Set<string>();
    const worker = await startedWorker<{ n: number }, void>(name, async (job) => {
      started.add(job.name);
      if (job.name === 'slow') await gate;
      done.add(job.name);
    }, 4);
    let drained = 0;
    worker.on('drained', () => (drained += 1));
    const queue = open(new Queue(name, { connection }));
    await queue.add('slow', { n: 0 }, { group: { id: 'slow' } });
    await waitFor(() => started.has('slow'), { what: 'the slow job to start', timeoutMs: 60_000 });
    // Fetched after the slow job started: a later batch, whose lanes run while the slow one holds.
    // Groups fast-1, fast-3 and fast-4 hash to lanes 1, 3 and 2 of 4; "slow" is on lane 0.
    await queue.addBulk([1, 3, 4].map((n) => ({ name: `fast-${n}`, data: { n }, opts: { group: { id: `fast-${n}` } } })));
    await waitFor(() => done.size === 3, { what: 'the three fast jobs to finish', timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(drained, 'drained events while the slow job still runs').to.equal(0);
    release();
    await waitFor(() => drained > 0, { what: 'the drained event after the slow job' });
    expect(done.has('slow')).to.equal(true);
  });

  it('B1: getJobCounts counts waiting, active, delayed and failed jobs; QueueEvents reports failures and running jobs', async () => {
    const name = unique('bull-counts');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await startedWorker<{ n: number }, void>(name, async (job) => {
      if (job.name === 'doomed') throw new Error('doomed fails');
      if (job.name === 'slow') await gate;
    });
    const queueEvents = open(new QueueEvents(name, { connection }));
    await queueEvents.waitUntilReady();
    const failed: { jobId: string; failedReason: string }[] = [];
    const active = new Set<string>();
    queueEvents.on('failed', ({ jobId, failedReason }) => failed.push({ jobId, failedReason }));
    queueEvents.on('active', ({ jobId }) => active.add(jobId));

    const queue = open(new Queue(name, { connection }));
    const doomed = await queue.add('doomed', { n: 0 });
    await readAll(`${name}.failed`, 1);
    const slow = await queue.add('slow', { n: 1 });
    await queue.addBulk([2, 3, 4].map((n) => ({ name: 'later', data: { n } })));
    await queue.add('tomorrow', { n: 5 }, { delay: 24 * 3_600_000 });

    const expected = { waiting: 3, active: 1, delayed: 1, failed: 1 };
    await waitFor(async () => JSON.stringify(await queue.getJobCounts()) === JSON.stringify(expected), { what: `job counts ${JSON.stringify(expected)}`, timeoutMs: 60_000, intervalMs: 1_000 });
    expect(await queue.getJobCounts('failed', 'delayed')).to.deep.equal({ failed: 1, delayed: 1 });

    await waitFor(() => failed.length > 0 && active.has(slow.id), { what: 'QueueEvents failed and active', timeoutMs: 60_000 });
    expect(failed[0]).to.deep.equal({ jobId: doomed.id, failedReason: 'doomed fails' });
    release();
  });
});
