import { expect } from 'chai';
import { PartitionerError } from '../../lib/errors.ts';
import { encodeEnvelope } from '../../lib/job/envelope.ts';
import { Job } from '../../lib/job/job.ts';
import { stopApps, testApp } from '../support/app.ts';
import { committedOffsets, createTopic, rawKafka, unique, waitFor } from '../support/kafka.ts';

async function produceJobs(topic: string, jobClass: string, count: number, keyOf: (n: number) => string): Promise<void> {
  const producer = rawKafka().producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, n) => {
      const e = encodeEnvelope({ job_class: jobClass, job_id: `job-${n}`, queue_name: topic, arguments: [n], executions: 0, exception_executions: {}, enqueued_at: new Date().toISOString() }, keyOf(n));
      return { key: e.key, value: e.value, headers: e.headers, partition: 0 };
    }),
  });
  await producer.disconnect();
}

describe('shutdown and partitioner errors (broker)', function () {
  afterEach(stopApps);

  it('stop() lets running jobs finish, starts no new one, commits, and leaves the rest to the next worker', async () => {
    const topic = await createTopic(unique('stop'), 1);
    const groupId = unique('group');
    const ranIn = new Map<number, string>();
    let worker = 'A';
    class Work extends Job<[n: number]> {
      async perform(n: number) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        ranIn.set(n, worker);
      }
    }
    await produceJobs(topic, 'Work', 40, (n) => `k${n % 4}`);
    const first = testApp({ groupId, jobs: [Work] }).routes((r) => r.activeJobTopic(topic, (t) => t.virtualPartitions({ partitioner: (m) => m.headers['job-key'], maxPartitions: 4 })));
    const startedInA = new Set<number>();
    const performedInA = new Set<number>();
    let stopCalledAt = Infinity;
    const startTimes: number[] = [];
    first.on('job.started', (e) => {
      startedInA.add(e.offset);
      startTimes.push(Date.now());
    });
    first.on('job.performed', (e) => performedInA.add(e.offset));
    await first.run();
    await waitFor(() => performedInA.size >= 8, { what: 'a few jobs in worker A' });
    stopCalledAt = Date.now();
    await first.stop();
    expect(startTimes.filter((t) => t > stopCalledAt), 'jobs started after stop()').to.deep.equal([]);
    const startedAtStop = new Set(startedInA);
    expect([...startedAtStop].filter((o) => !performedInA.has(o)), 'jobs running at stop that did not finish').to.deep.equal([]);
    expect(performedInA.size, 'not every job ran in A').to.be.lessThan(40);
    const committed = (await committedOffsets(groupId, topic)).get(0)!.offset;
    for (let o = 0; o < committed; o += 1) expect(performedInA.has(o), `offset ${o} is below the commit ${committed}`).to.equal(true);

    worker = 'B';
    const second = testApp({ groupId, jobs: [Work] }).routes((r) => r.activeJobTopic(topic, (t) => t.virtualPartitions({ partitioner: (m) => m.headers['job-key'], maxPartitions: 4 })));
    const performedInB = new Set<number>();
    second.on('job.performed', (e) => performedInB.add(e.offset));
    await second.run();
    await waitFor(() => new Set([...performedInA, ...performedInB]).size === 40, { what: 'all 40 jobs across both workers' });
    expect([...performedInB].filter((o) => o < committed), 'B reran committed jobs').to.deep.equal([]);
  });

  it('stop() gives up on a job after shutdownTimeoutMs: its signal aborts and its offset is not committed', async () => {
    const topic = await createTopic(unique('stop-bound'), 1);
    let sawAbort = false;
    class Endless extends Job<[n: number]> {
      async perform() {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 120_000);
          this.signal.addEventListener('abort', () => {
            sawAbort = true;
            clearTimeout(timer);
            resolve();
          });
        });
      }
    }
    await produceJobs(topic, 'Endless', 1, () => 'k');
    const app = testApp({ jobs: [Endless], shutdownTimeoutMs: 300 }).routes((r) => r.activeJobTopic(topic));
    let started = false;
    app.on('job.started', () => (started = true));
    await app.run();
    await waitFor(() => started, { what: 'the endless job to start' });
    await app.stop();
    expect(sawAbort).to.equal(true);
    const committed = await committedOffsets(app.groupId, topic);
    expect(committed.get(0)!.offset).to.equal(-1);
  });

  it('V6: a throwing partitioner sends the batch to one lane, reports the error, and work goes on', async () => {
    const topic = await createTopic(unique('v6'), 1);
    let performed = 0;
    class Plain extends Job<[n: number]> {
      perform() {
        performed += 1;
      }
    }
    await produceJobs(topic, 'Plain', 30, (n) => `k${n}`);
    const app = testApp({ jobs: [Plain] }).routes((r) =>
      r.activeJobTopic(topic, (t) =>
        t.virtualPartitions({
          maxPartitions: 4,
          partitioner: (m) => {
            if (m.offset === 7) throw new Error('no key for you');
            return m.headers['job-key'];
          },
        }),
      ),
    );
    const errors: { error: Error; kind?: string; offset?: number }[] = [];
    const lanes: number[] = [];
    app.on('error', (e) => errors.push(e));
    app.on('batch.started', (e) => lanes.push(e.lanes));
    await app.run();
    await waitFor(() => performed === 30, { what: '30 jobs' });
    expect(errors.some((e) => e.error instanceof PartitionerError && e.kind === 'partitioner')).to.equal(true);
    expect(errors[0]!.error.message).to.contain(`${topic}/0`).and.contain('no key for you');
    expect(lanes, 'the batch holding offset 7 ran as one lane').to.include(1);
  });
});
