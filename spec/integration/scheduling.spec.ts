import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { App } from '../../lib/app.ts';
import { closeDispatcher, configure, currentDispatcher } from '../../lib/dispatch/default-dispatcher.ts';
import { encodeEnvelope } from '../../lib/job/envelope.ts';
import { Job } from '../../lib/job/job.ts';
import { delayTopics } from '../../lib/schedule/tiers.ts';
import { stopApps, testApp } from '../support/app.ts';
import { createTopic, rawKafka, testBrokers, unique, waitFor, withAdmin } from '../support/kafka.ts';

interface Run {
  jobId: string;
  n: number;
  startedAt: number;
  scheduledAt: number;
  wait: number;
  executions: number;
  worker: string;
}

/** Every run of a scheduling spec's jobs, in start order. */
const runs: Run[] = [];
let worker = 'A';

/** The spec's job class; a child worker process runs a class of the same name. */
class Timed extends Job<[n: number]> {
  static override options = { partitioner: (job: Job<any[]>) => `key-${(job.arguments[0] as number) % 40}` };
  perform(n: number) {
    const scheduledAt = this.scheduledAt!.getTime();
    runs.push({ jobId: this.jobId, n, startedAt: Date.now(), scheduledAt, wait: scheduledAt - this.enqueuedAt!.getTime(), executions: this.executions, worker });
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function lateness(list: Run[]): { p50: number; p99: number; max: number } {
  const sorted = list.map((run) => run.startedAt - run.scheduledAt).sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]! };
}

function expectNoneEarly(list: Run[]): void {
  const early = list.filter((run) => run.startedAt < run.scheduledAt);
  expect(early.map((run) => `${run.n} ran ${run.scheduledAt - run.startedAt} ms early in ${run.worker}`)).to.deep.equal([]);
}

/** Enqueues jobs 0..count-1 on `topic` with the given waits; returns their ids by number. */
async function enqueue(topic: string, waits: number[]): Promise<string[]> {
  const sent = await Promise.all(waits.map((wait, n) => Timed.set({ topic, wait }).performLater(n)));
  await currentDispatcher().flush();
  return sent.map((enqueued) => enqueued.jobId);
}

/** Runs a spec/support script in a child process; resolves with its stdout once it exited with 0. */
function childOutput(script: string, args: string[]): Promise<string> {
  const path = fileURLToPath(new URL(`../support/${script}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', path, ...args], { env: { ...process.env, KAFKA_BROKERS: testBrokers().join(',') }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${script} exited with ${code}`)))));
}

function timedApp(topic: string, groupId = unique('group')): App {
  return testApp({ groupId, jobs: [Timed] }).routes((r) => r.activeJobTopic(topic));
}

describe('scheduling (broker)', function () {
  beforeEach(async () => {
    runs.length = 0;
    worker = 'A';
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
  });
  afterEach(async () => {
    await stopApps();
    await closeDispatcher();
  });

  it('S1: 1 000 jobs with random waits of 0-20 s all run, none early (lateness reported)', async function () {
    this.timeout(120_000);
    const topic = await createTopic(unique('s1'), 3);
    const app = timedApp(topic);
    await app.run();
    const tiers = await withAdmin((admin) => admin.fetchTopicMetadata({ topics: delayTopics(topic) }));
    expect(tiers.topics.map((t) => t.partitions.length), 'tiers have the job topic partition count').to.deep.equal(delayTopics(topic).map(() => 3));
    // the jobs come from an application process, as in production: preparing and sending 1 000
    // jobs takes the enqueuing process's CPU for about half a second, which is not the worker's
    const ids = await childOutput('enqueue-scheduled.ts', [topic, '1000', '20000']).then((out) => JSON.parse(out) as string[]);
    await waitFor(() => new Set(runs.map((run) => run.jobId)).size === 1000, { timeoutMs: 60_000, what: `1000 jobs (ran ${runs.length})` });
    expectNoneEarly(runs);
    expect(new Set(runs.map((run) => run.jobId))).to.deep.equal(new Set(ids));
    expect(runs, 'no job ran twice').to.have.length(1000);
    const late = lateness(runs);
    const settled = lateness(runs.filter((run) => run.wait >= 2000));
    console.log(`      lateness of 1000 jobs (waits 0-20 s): p50 ${late.p50} ms, p99 ${late.p99} ms, max ${late.max} ms`);
    console.log(`      of the ${runs.filter((run) => run.wait >= 2000).length} with waits of 2 s or more: p50 ${settled.p50} ms, p99 ${settled.p99} ms, max ${settled.max} ms`);
    // The target (p99 under 1 s on an idle machine) is reported above; the assertion only catches a
    // job held a whole tier too long, so a loaded CI machine does not fail it on noise.
    expect(late.p99, 'p99 lateness').to.be.below(5000);
  });

  it('S2: a worker stopped and restarted in the middle loses none and runs none early', async function () {
    this.timeout(120_000);
    const topic = await createTopic(unique('s2'), 2);
    const groupId = unique('group');
    const first = timedApp(topic, groupId);
    await first.run();
    const ids = await enqueue(topic, Array.from({ length: 300 }, (_, n) => 500 + ((n * 37) % 12_000)));
    await waitFor(() => runs.length >= 100, { timeoutMs: 30_000, what: 'a third of the jobs' });
    await first.stop();
    const ranInA = runs.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    worker = 'B';
    await timedApp(topic, groupId).run();
    await waitFor(() => new Set(runs.map((run) => run.jobId)).size === 300, { timeoutMs: 60_000, what: `300 jobs (ran ${new Set(runs.map((r) => r.jobId)).size})` });
    expectNoneEarly(runs);
    expect(new Set(runs.map((run) => run.jobId))).to.deep.equal(new Set(ids));
    expect(ranInA).to.be.below(300);
    expect(runs.filter((run) => run.worker === 'B').length).to.be.greaterThan(0);
    console.log(`      ran ${ranInA} before the stop, ${runs.length - ranInA} after the restart; ${runs.length - 300} twice`);
  });

  it('S3: a worker killed with SIGKILL in the middle: its replacement loses none and runs none early', async function () {
    this.timeout(120_000);
    const topic = await createTopic(unique('s3'), 2);
    const groupId = unique('group');
    const script = fileURLToPath(new URL('../support/schedule-worker.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, topic, groupId], {
      env: { ...process.env, KAFKA_BROKERS: testBrokers().join(',') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    try {
      await waitFor(() => output.includes('ready'), { timeoutMs: 60_000, what: 'the child worker' });
      const ids = await enqueue(topic, Array.from({ length: 300 }, (_, n) => 500 + ((n * 53) % 10_000)));
      const childRuns = () =>
        output
          .split('\n')
          .filter((line) => line.startsWith('ran '))
          .map((line) => {
            const [, jobId, startedAt, scheduledAt] = line.split(' ');
            return { jobId: jobId!, n: -1, startedAt: Number(startedAt), scheduledAt: Number(scheduledAt), wait: -1, executions: 1, worker: 'child' };
          });
      await waitFor(() => childRuns().length >= 100, { timeoutMs: 30_000, what: 'a third of the jobs in the child' });
      child.kill('SIGKILL');
      expect(await exited).to.equal('SIGKILL');
      const beforeKill = childRuns();
      worker = 'replacement';
      await timedApp(topic, groupId).run();
      const all = () => new Set([...beforeKill, ...runs].map((run) => run.jobId));
      await waitFor(() => all().size === 300, { timeoutMs: 90_000, what: `300 jobs (ran ${all().size})` });
      expectNoneEarly([...beforeKill, ...runs]);
      expect(all()).to.deep.equal(new Set(ids));
      console.log(`      ran ${beforeKill.length} in the killed worker, ${runs.length} in its replacement; ${beforeKill.length + runs.length - 300} twice`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('S4: retryOn with wait 2000 and 3 attempts runs 3 times about 2 s apart while later jobs of its partition run', async function () {
    this.timeout(60_000);
    const topic = await createTopic(unique('s4'), 1);
    class Boom extends Error {}
    const attempts: { at: number; executions: number; counts: Record<string, number> }[] = [];
    const healthy: number[] = [];
    class Flaky extends Job<[mode: string]> {
      static {
        this.retryOn(Boom, { wait: 2000, attempts: 3 });
      }
      perform(mode: string) {
        if (mode !== 'fail') return void healthy.push(Date.now());
        attempts.push({ at: Date.now(), executions: this.executions, counts: { ...this.exceptionExecutions } });
        throw new Boom('not now');
      }
    }
    const app = testApp({ jobs: [Flaky] }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: false, maxRetries: 0 })));
    const scheduled: string[] = [];
    const skipped: number[] = [];
    app.on('job.scheduled', (e) => scheduled.push(`${e.reason} ${e.delayTopic}`));
    app.on('message.skipped', (e) => skipped.push(e.offset));
    await app.run();
    await Flaky.set({ topic }).performLater('fail');
    for (let n = 0; n < 5; n += 1) await Flaky.set({ topic }).performLater('ok');
    await waitFor(() => skipped.length === 1, { timeoutMs: 30_000, what: 'the third failure to give up' });
    expect(attempts.map((a) => a.executions)).to.deep.equal([1, 2, 3]);
    expect(attempts.map((a) => a.counts['[Boom]'] ?? 0)).to.deep.equal([0, 1, 2]);
    const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    gaps.forEach((gap) => expect(gap, `gaps ${gaps.join(', ')} ms`).to.be.at.least(2000).and.below(10_000));
    expect(healthy).to.have.length(5);
    expect(Math.max(...healthy), 'the later jobs ran before the first retry').to.be.below(attempts[1]!.at);
    expect(scheduled).to.have.length(2);
    expect(scheduled.every((s) => s.startsWith('retry '))).to.equal(true);
    console.log(`      attempts ${gaps.join(' ms, ')} ms apart; later jobs done ${Math.max(...healthy) - attempts[0]!.at} ms after the first failure`);
  });

  it('S5: one key keeps its order among jobs due at the same time (same wait, and one waitUntil given together)', async function () {
    this.timeout(60_000);
    const topic = await createTopic(unique('s5'), 3);
    const order: string[] = [];
    class Step extends Job<[key: string, step: number]> {
      static override options = { topic, partitioner: (job: Job<any[]>) => job.arguments[0] as string };
      perform(key: string, step: number) {
        if (this.scheduledAt!.getTime() > Date.now()) throw new Error('early');
        order.push(`${key}:${step}`);
      }
    }
    const app = testApp({ jobs: [Step] }).routes((r) => r.activeJobTopic(topic));
    await app.run();
    // one due time for every step of "d", enqueued together (performAllLater prepares them in one
    // go, within the same 100 ms step of remaining wait, so they take the same path: README, Scheduling)
    const dueAt = new Date(Date.now() + 2_395);
    await Job.performAllLater(Array.from({ length: 30 }, (_, step) => Object.assign(new Step('d', step), { scheduledAt: dueAt })));
    const sends: Promise<unknown>[] = [];
    for (let step = 0; step < 30; step += 1) {
      for (const key of ['a', 'b', 'c']) sends.push(Step.set({ wait: 1500 }).performLater(key, step));
    }
    await Promise.all(sends);
    await waitFor(() => order.length === 120, { timeoutMs: 30_000, what: `120 steps (have ${order.length})` });
    for (const key of ['a', 'b', 'c', 'd']) {
      const steps = order.filter((entry) => entry.startsWith(`${key}:`)).map((entry) => Number(entry.split(':')[1]));
      expect(steps, `order of key ${key}`).to.deep.equal(Array.from({ length: 30 }, (_, n) => n));
    }
  });

  it('S6: a job found on its topic before its time (replayed, or produced there directly) is sent back, not run early', async function () {
    this.timeout(30_000);
    const topic = await createTopic(unique('s6'), 1);
    const app = timedApp(topic);
    const early: string[] = [];
    app.on('job.scheduled', (e) => early.push(`${e.reason} ${e.delayTopic}`));
    await app.run();
    const scheduledAt = new Date(Date.now() + 1_730);
    const encoded = encodeEnvelope(
      { job_class: 'Timed', job_id: unique('direct'), queue_name: topic, arguments: [1], executions: 0, exception_executions: {}, enqueued_at: new Date().toISOString(), scheduled_at: scheduledAt.toISOString() },
      'k',
    );
    const producer = rawKafka().producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: encoded.key, value: encoded.value, headers: encoded.headers }] });
    await producer.disconnect();
    await waitFor(() => runs.length === 1, { timeoutMs: 20_000, what: 'the job' });
    expectNoneEarly(runs);
    expect(early).to.have.length(1);
    expect(early[0]).to.match(new RegExp(`^early ${topic}\\.delay\\.`));
    expect(runs[0]!.startedAt - scheduledAt.getTime(), 'ran on time, not a tier late').to.be.below(5000);
  });

  it('S8: a delay-topic message without schedule headers goes on to its job topic with an error event; the envelope still rules', async function () {
    this.timeout(30_000);
    const topic = await createTopic(unique('s8'), 1);
    const app = timedApp(topic);
    const errors: string[] = [];
    app.on('error', (e) => errors.push(`${e.kind} ${e.error.name}`));
    await app.run();
    const scheduledAt = new Date(Date.now() + 1_500);
    const encoded = encodeEnvelope(
      { job_class: 'Timed', job_id: unique('bare'), queue_name: topic, arguments: [1], executions: 0, exception_executions: {}, enqueued_at: new Date().toISOString(), scheduled_at: scheduledAt.toISOString() },
      'k',
    );
    const producer = rawKafka().producer();
    await producer.connect();
    await producer.send({ topic: `${topic}.delay.5s`, messages: [{ key: encoded.key, value: encoded.value, headers: encoded.headers }] });
    await producer.disconnect();
    await waitFor(() => runs.length === 1, { timeoutMs: 20_000, what: 'the job' });
    expectNoneEarly(runs);
    expect(errors).to.deep.equal(['delay-headers SchedulingError']);
  });

  it('a delay-tier record with a far-future delay-until is held no longer than its tier\'s wait; the record behind it runs on time', async function () {
    this.timeout(30_000);
    const topic = await createTopic(unique('far'), 1);
    const app = timedApp(topic);
    const errors: string[] = [];
    app.on('error', (e) => errors.push(`${e.kind} ${e.topic}@${e.offset}`));
    let pauses = 0;
    app.on('partition.paused', (e) => e.topic === `${topic}.delay.1s` && (pauses += 1));
    await app.run();
    const job = (id: string, n: number, scheduledAt: Date, until: Date) => {
      const encoded = encodeEnvelope(
        { job_class: 'Timed', job_id: id, queue_name: topic, arguments: [n], executions: 0, exception_executions: {}, enqueued_at: new Date().toISOString(), scheduled_at: scheduledAt.toISOString() },
        'k',
      );
      return { key: encoded.key, value: encoded.value, headers: { ...encoded.headers, 'scheduled-at': scheduledAt.toISOString(), 'delay-until': until.toISOString() } };
    };
    const farAway = new Date('2100-01-01T00:00:00.000Z');
    const soon = Date.now() + 1_500;
    const producer = rawKafka().producer();
    await producer.connect();
    await producer.send({
      topic: `${topic}.delay.1s`,
      messages: [job(unique('far'), 1, farAway, farAway), job(unique('soon'), 2, new Date(soon), new Date(soon - 500))],
    });
    await producer.disconnect();
    await waitFor(() => runs.length === 1, { timeoutMs: 20_000, what: 'the job behind the far-future record' });
    expect(runs[0]!.n).to.equal(2);
    expectNoneEarly(runs);
    expect(errors).to.deep.equal([`delay-headers ${topic}.delay.1s@0`]);
    expect(pauses, 'pauses of the 1 s tier (a timer overflow pauses and resumes it without end)').to.be.below(10);
  });

  it('a tier record too large to forward is skipped with an error event; the records behind it go on', async function () {
    this.timeout(30_000);
    const topic = await createTopic(unique('tier-big'), 1);
    const app = timedApp(topic);
    const errors: string[] = [];
    app.on('error', (e) => errors.push(`${e.kind} ${e.topic}@${e.offset}`));
    await app.run();
    const scheduled = (id: string, n: number, padding: number) => {
      const at = new Date(Date.now() + 300).toISOString();
      const encoded = encodeEnvelope(
        { job_class: 'Timed', job_id: id, queue_name: topic, arguments: [n], executions: 0, exception_executions: {}, enqueued_at: new Date().toISOString(), scheduled_at: at },
        'k',
      );
      const value = padding > 0 ? Buffer.concat([Buffer.from(encoded.value), Buffer.alloc(padding, 32)]) : encoded.value;
      return { key: encoded.key, value, headers: { ...encoded.headers, 'scheduled-at': at, 'delay-until': at } };
    };
    const producer = rawKafka().producer();
    await producer.connect();
    // Accepted by the broker (under 1 048 588 bytes), over the dispatcher's 1 000 000.
    await producer.send({ topic: `${topic}.delay.500ms`, messages: [scheduled(unique('big'), 1, 1_000_500), scheduled(unique('small'), 2, 0)] });
    await producer.disconnect();
    await waitFor(() => runs.length === 1, { timeoutMs: 20_000, what: 'the job behind the too-large record' });
    expect(runs[0]!.n).to.equal(2);
    expect(errors).to.deep.equal([`delay-forward-too-large ${topic}.delay.500ms@0`]);
  });

  it('S7: a tier partition waiting for a far head is paused, and stop() does not wait for it', async function () {
    this.timeout(30_000);
    const topic = await createTopic(unique('s7'), 1);
    const app = timedApp(topic);
    const paused: string[] = [];
    app.on('partition.paused', (e) => paused.push(`${e.topic} ${e.reason}`));
    await app.run();
    await Timed.set({ topic, wait: 3_600_000 }).performLater(1);
    await waitFor(() => paused.includes(`${topic}.delay.1h hold:0`), { timeoutMs: 10_000, what: 'the 1 h tier to pause' });
    const stopping = Date.now();
    await app.stop();
    expect(Date.now() - stopping, 'stop() did not wait for the hour-long tier').to.be.below(10_000);
    expect(runs).to.deep.equal([]);
  });

  it('S9: a caught-up, idle long tier leaves the fetch between polls; short tiers and the job topic stay in it; a job through the long tiers runs, not early', async function () {
    this.timeout(60_000);
    const topic = await createTopic(unique('s9'), 1);
    const app = timedApp(topic);
    const idle: string[] = [];
    const resumed: string[] = [];
    app.on('partition.paused', (e) => void (e.reason === 'idle' && idle.push(e.topic)));
    app.on('partition.resumed', (e) => resumed.push(e.topic));
    await app.run();
    await waitFor(() => idle.includes(`${topic}.delay.5s`) && resumed.includes(`${topic}.delay.5s`), { timeoutMs: 15_000, what: 'the empty 5 s tier to be held and polled again' });
    expect(idle.filter((held) => held === topic || /\.delay\.(100ms|500ms|1s)$/.test(held)), 'short tiers and the job topic are never held as idle').to.deep.equal([]);
    await enqueue(topic, [6_500]);
    await waitFor(() => runs.length === 1, { timeoutMs: 30_000, what: 'the job through the 5 s tier' });
    expectNoneEarly(runs);
  });

  it('delay tiers are routed and created for job topics, unless a route opts out with delayTiers(false)', async function () {
    const [withTiers, without] = [await createTopic(unique('tiers-on'), 2), await createTopic(unique('tiers-off'), 1)];
    const app = testApp({ jobs: [Timed] }).routes((r) => {
      r.activeJobTopic(withTiers);
      r.activeJobTopic(without, (t) => t.delayTiers(false));
    });
    await app.run();
    const topics = new Set(await withAdmin((admin) => admin.listTopics()));
    expect(delayTopics(withTiers).every((t) => topics.has(t)), 'tiers of the default route').to.equal(true);
    expect(delayTopics(without).filter((t) => topics.has(t)), 'tiers of the opted-out route').to.deep.equal([]);
  });
});
