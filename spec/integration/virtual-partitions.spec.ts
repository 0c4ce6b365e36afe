import { expect } from 'chai';
import type { WorkerEvents } from '../../lib/consume/worker-events.ts';
import { Consumer } from '../../lib/consume/consumer.ts';
import type { Message, PartitionerInput } from '../../lib/kafka/inbound-message.ts';
import { BadMessageError } from '../../lib/errors.ts';
import { encodeEnvelope } from '../../lib/job/envelope.ts';
import { Job } from '../../lib/job/job.ts';
import { stopApps, testApp } from '../support/app.ts';
import { committedOffsets, createTopic, rawKafka, unique, waitFor } from '../support/kafka.ts';
import { produceRaw } from '../support/produce.ts';

/** Produces job messages for `jobClass` directly, bypassing Partita's dispatcher. */
async function produceJobs(topic: string, jobClass: string, items: { key: string; args: unknown[] }[], perRequest = items.length): Promise<void> {
  const producer = rawKafka().producer();
  await producer.connect();
  for (let start = 0; start < items.length; start += perRequest) {
    const messages = items.slice(start, start + perRequest).map(({ key, args }, i) => {
      const encoded = encodeEnvelope(
        { job_class: jobClass, job_id: `${topic}-${start + i}`, queue_name: topic, arguments: args, executions: 0, exception_executions: {}, enqueued_at: new Date().toISOString() },
        key,
      );
      return { key: encoded.key, value: encoded.value, headers: encoded.headers, partition: 0 };
    });
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
}

const byJobKey = (m: PartitionerInput) => m.headers['job-key'];

describe('virtual partitions (broker)', function () {
  afterEach(stopApps);

  it('V1: every message is consumed and several lanes run at the same time', async () => {
    const topic = await createTopic(unique('v1'), 1);
    const spans: { lane: number; start: number; end: number }[] = [];
    class Sleepy extends Job<[n: number]> {
      async perform() {
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    }
    await produceJobs(topic, 'Sleepy', Array.from({ length: 200 }, (_, n) => ({ key: `k${n % 20}`, args: [n] })));
    const app = testApp({ jobs: [Sleepy] }).routes((r) => r.activeJobTopic(topic, (t) => t.virtualPartitions({ partitioner: byJobKey, maxPartitions: 8 })));
    app.on('job.performed', (e) => spans.push({ lane: e.lane, start: e.startedAt, end: e.finishedAt }));
    await app.run();
    await waitFor(() => spans.length === 200, { what: '200 jobs', timeoutMs: 60_000 });
    const lanes = new Set(spans.map((s) => s.lane));
    expect(lanes.size).to.be.greaterThan(1);
    let overlapping = 0;
    for (const a of spans) for (const b of spans) if (a.lane < b.lane && a.start < b.end && b.start < a.end) overlapping += 1;
    expect(overlapping, 'pairs of jobs in different lanes that ran at the same time').to.be.greaterThan(50);
    const wall = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
    expect(wall, 'wall time well under the serial 200 × 15 ms').to.be.lessThan(200 * 15 * 0.6);
  });

  it('V2: with consistent distribution one key always runs in the same lane, across batches', async () => {
    const topic = await createTopic(unique('v2'), 1);
    class Tagged extends Job<[key: string]> {
      perform() {}
    }
    const laneOfKey = new Map<string, Set<number>>();
    let batches = 0;
    let performed = 0;
    const app = testApp({ jobs: [Tagged] }).routes((r) =>
      r.activeJobTopic(topic, (t) => t.virtualPartitions({ partitioner: byJobKey, maxPartitions: 5, distribution: 'consistent' })),
    );
    app.on('job.performed', (e) => {
      performed += 1;
      const key = `k${Number(e.jobId.split('-').pop()) % 30}`;
      laneOfKey.set(key, (laneOfKey.get(key) ?? new Set()).add(e.lane));
    });
    app.on('batch.started', () => (batches += 1));
    await app.run();
    let produced = 0;
    for (let wave = 0; wave < 6; wave += 1) {
      await produceJobs(topic, 'Tagged', Array.from({ length: 60 }, (_, i) => ({ key: `k${(produced + i) % 30}`, args: [`k${(produced + i) % 30}`] })));
      produced += 60;
      const target = produced;
      await waitFor(() => performed >= target, { what: `wave ${wave}` });
    }
    expect(laneOfKey.size).to.equal(30);
    expect(batches, 'several batches').to.be.greaterThan(3);
    for (const [key, lanes] of laneOfKey) expect([...lanes], `lanes of ${key}`).to.have.length(1);
    expect(new Set([...laneOfKey.values()].map((s) => [...s][0])).size).to.be.greaterThan(1);
  });

  it('V4: a constant key gives one lane only', async () => {
    const topic = await createTopic(unique('v4'), 1);
    class Same extends Job<[n: number]> {
      perform() {}
    }
    await produceJobs(topic, 'Same', Array.from({ length: 100 }, (_, n) => ({ key: 'always', args: [n] })));
    const lanesPerBatch: number[] = [];
    const performedLanes = new Set<number>();
    let performed = 0;
    const app = testApp({ jobs: [Same] }).routes((r) => r.activeJobTopic(topic, (t) => t.virtualPartitions({ partitioner: byJobKey, maxPartitions: 8 })));
    app.on('batch.started', (e) => lanesPerBatch.push(e.lanes));
    app.on('job.performed', (e) => {
      performed += 1;
      performedLanes.add(e.lane);
    });
    await app.run();
    await waitFor(() => performed === 100, { what: '100 jobs' });
    expect(lanesPerBatch.every((n) => n === 1)).to.equal(true);
    expect(performedLanes.size).to.equal(1);
  });

  it('V5: the partitioner never sees the value; a corrupt value is routed and fails only when run', async () => {
    const topic = await createTopic(unique('v5'), 1);
    const seenByPartitioner: PartitionerInput[] = [];
    class Fine extends Job<[n: number]> {
      perform() {}
    }
    const producer = rawKafka().producer();
    await producer.connect();
    const good = (n: number) => {
      const e = encodeEnvelope({ job_class: 'Fine', job_id: `fine-${n}`, queue_name: topic, arguments: [n], executions: 0, exception_executions: {}, enqueued_at: new Date().toISOString() }, `key-${n % 4}`);
      return { key: e.key, value: e.value, headers: e.headers };
    };
    await producer.send({
      topic,
      messages: [good(0), good(1), { key: 'key-3', value: '{"json": corrupt', headers: { 'job-class': 'Fine', 'job-id': 'corrupt', 'job-key': 'key-3' } }, good(2), good(3), good(4)],
    });
    await producer.disconnect();
    const app = testApp({ jobs: [Fine] }).routes((r) =>
      r.activeJobTopic(topic, (t) =>
        t.virtualPartitions({
          maxPartitions: 4,
          partitioner: (m) => {
            seenByPartitioner.push(m);
            return m.headers['job-key'];
          },
        }),
      ),
    );
    const performed: number[] = [];
    const failures: WorkerEvents['job.failed'][] = [];
    app.on('job.performed', (e) => performed.push(e.offset));
    app.on('job.failed', (e) => failures.push(e));
    await app.run();
    await waitFor(() => failures.length > 0 && performed.length >= 4, { what: 'healthy jobs and the failure' });
    // offset 4 shares key-3 (and so the lane) with the corrupt message: it waits behind it.
    const corruptSeen = seenByPartitioner.find((m) => m.offset === 2)!;
    expect(corruptSeen, 'the corrupt message was routed').to.not.equal(undefined);
    expect(corruptSeen).to.not.have.property('value');
    expect(corruptSeen).to.not.have.property('payload');
    expect(corruptSeen.headers['job-key']).to.equal('key-3');
    expect(failures[0]!.offset).to.equal(2);
    expect(failures[0]!.error).to.be.instanceOf(BadMessageError);
    expect((failures[0]!.error as BadMessageError).kind).to.equal('not-json');
    expect(performed.sort()).to.deep.equal([0, 1, 3, 5]);
  });

  it('V9, plain consumer: lanes that returned are marked even when a sibling failed; the collapsed retry runs only the failed lane', async () => {
    const topic = await createTopic(unique('v9-plain'), 1);
    await produceRaw(topic, Array.from({ length: 300 }, (_, n) => ({ key: `k${n % 4}`, value: String(n), partition: 0 })));
    const runs = new Map<number, number>();
    let failed = false;
    class FailsOnce extends Consumer {
      consume(messages: Message[]) {
        for (const message of messages) runs.set(message.offset, (runs.get(message.offset) ?? 0) + 1);
        if (!failed && messages.some((message) => message.key === 'k0')) {
          failed = true;
          throw new Error('lane k0 fails once');
        }
      }
    }
    const app = testApp({ maxBufferedMessages: 10_000, backoff: { timeout: 50, maxTimeout: 50 } }).routes((r) =>
      r.topic(topic, FailsOnce, (t) => t.virtualPartitions({ partitioner: (m) => m.key, maxPartitions: 4, reducer: (key) => Number(key.slice(1)) })),
    );
    let collapsedRuns = 0;
    app.on('batch.started', (e) => e.collapsed && (collapsedRuns += 1));
    await app.run();
    await waitFor(async () => collapsedRuns > 0 && (await committedOffsets(app.groupId, topic)).get(0)?.offset === 300, { what: 'a collapsed retry and offset 300 committed' });
    const twice = [...runs].filter(([offset, count]) => offset % 4 !== 0 && count > 1).map(([offset]) => offset);
    expect(twice, 'messages of the lanes that returned, run again').to.deep.equal([]);
    expect([...runs].filter(([offset, count]) => offset % 4 === 0 && count === 2).length, 'the failed lane ran twice').to.be.greaterThan(0);
  });

  it('V11: without marks, the last offset is committed once, after every lane finished', async () => {
    const topic = await createTopic(unique('v11'), 1);
    const producer = rawKafka().producer();
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 64 }, (_, n) => ({ key: `k${n % 8}`, value: JSON.stringify({ n }), partition: 0 })) });
    await producer.disconnect();
    const laneEnds: number[] = [];
    class Slow extends Consumer {
      async consume(messages: Message[]) {
        await new Promise((resolve) => setTimeout(resolve, 20 * messages.length + (this.lane % 3) * 100));
      }
    }
    const app = testApp({ maxBufferedMessages: 10_000 }).routes((r) =>
      r.topic(topic, Slow, (t) => t.virtualPartitions({ partitioner: (m) => m.key, maxPartitions: 4 })),
    );
    const commits: { offset: number; at: number }[] = [];
    const batches: { first: number; last: number }[] = [];
    app.on('lane.finished', (e) => laneEnds.push(e.at));
    app.on('batch.started', (e) => batches.push({ first: e.firstOffset, last: e.lastOffset }));
    app.on('batch.committed', (e) => {
      for (const o of e.offsets) if (o.topic === topic) commits.push({ offset: o.offset, at: e.at });
    });
    await app.run();
    await waitFor(() => commits.some((c) => c.offset === 64), { what: 'the commit of offset 64' });
    for (const batch of batches) {
      const batchCommits = commits.filter((c) => c.offset > batch.first && c.offset <= batch.last + 1);
      expect(batchCommits.map((c) => c.offset), `commits inside batch ${batch.first}..${batch.last}`).to.deep.equal([batch.last + 1]);
    }
    expect(batches.length).to.be.greaterThan(0);
    const last = commits.find((c) => c.offset === 64)!;
    expect(laneEnds.length).to.be.greaterThan(1);
    expect(last.at).to.be.at.least(Math.max(...laneEnds));
  });
});
