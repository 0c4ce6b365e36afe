import { expect } from 'chai';
import { closeDispatcher, configure } from '../../lib/dispatch/default-dispatcher.ts';
import { Job } from '../../lib/job/job.ts';
import { stopApps, testApp } from '../support/app.ts';
import { committedOffsets, createTopic, endOffsets, testBrokers, unique, waitFor } from '../support/kafka.ts';

interface Run {
  jobId: string;
  partition: number;
  offset: number;
  lane: number;
  start: number;
  end: number;
}

describe('jobs end to end (broker)', function () {
  afterEach(async () => {
    await stopApps();
    await closeDispatcher();
  });

  it('runs 5 000 jobs over 100 keys exactly once, in key order, in overlapping lanes, committing only finished work', async () => {
    const topic = await createTopic(unique('e2e'), 4);
    const argsOf = new Map<string, { key: string; seq: number }>();

    class Step extends Job<[key: string, seq: number]> {
      static override options = { topic, partitioner: (job: Job<any[]>) => String(job.arguments[0]) };
      async perform(key: string, seq: number) {
        argsOf.set(this.jobId, { key, seq });
        await new Promise((resolve) => setTimeout(resolve, seq % 3));
      }
    }

    // Enqueue: 100 keys, sequence numbers per key, every other job sync, in one FIFO order.
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    const perKey = new Map<string, number>();
    const enqueues = [];
    for (let i = 0; i < 5000; i += 1) {
      const key = `key-${i % 100}`;
      const seq = perKey.get(key) ?? 0;
      perKey.set(key, seq + 1);
      enqueues.push(Step.set({ dispatchMethod: i % 2 === 0 ? 'produceSync' : 'produceAsync' }).performLater(key, seq));
    }
    await Promise.all(enqueues);
    await closeDispatcher();
    const ends = await endOffsets(topic);
    expect([...ends.values()].reduce((a, b) => a + b, 0)).to.equal(5000);

    const app = testApp({ jobs: [Step], maxBufferedMessages: 500 }).routes((r) =>
      r.activeJobTopic(topic, (t) => t.virtualPartitions({ partitioner: (m) => m.headers['job-key'], maxPartitions: 8 })),
    );
    const runs: Run[] = [];
    const running = new Map<string, { partition: number; offset: number }>();
    const commits: { partition: number; offset: number; at: number; unfinishedBelow: number }[] = [];
    app.on('job.started', (e) => running.set(e.jobId, { partition: e.partition, offset: e.offset }));
    app.on('job.performed', (e) => {
      running.delete(e.jobId);
      runs.push({ jobId: e.jobId, partition: e.partition, offset: e.offset, lane: e.lane, start: e.startedAt, end: e.finishedAt });
    });
    app.on('batch.committed', (e) => {
      for (const c of e.offsets) {
        const unfinishedBelow = [...running.values()].filter((r) => r.partition === c.partition && r.offset < c.offset).length;
        commits.push({ partition: c.partition, offset: c.offset, at: e.at, unfinishedBelow });
      }
    });
    await app.run();
    await waitFor(() => runs.length >= 5000, { what: `5000 jobs (have ${runs.length})`, timeoutMs: 120_000 });
    await waitFor(
      async () => {
        const committed = await committedOffsets(app.groupId, topic);
        return [...ends].every(([p, end]) => committed.get(p)?.offset === end);
      },
      { what: 'every partition committed at its end offset', timeoutMs: 30_000 },
    );

    // Exactly once.
    expect(runs).to.have.length(5000);
    expect(new Set(runs.map((r) => r.jobId)).size).to.equal(5000);
    // Per-key order: a key's jobs ran one after the other, in sequence order, in one partition.
    const byKey = new Map<string, (Run & { seq: number })[]>();
    for (const run of runs) {
      const { key, seq } = argsOf.get(run.jobId)!;
      byKey.set(key, [...(byKey.get(key) ?? []), { ...run, seq }]);
    }
    expect(byKey.size).to.equal(100);
    for (const [key, list] of byKey) {
      const inRunOrder = [...list].sort((a, b) => a.start - b.start || a.offset - b.offset);
      expect(inRunOrder.map((r) => r.seq), `order of ${key}`).to.deep.equal(list.map((r) => r.seq).sort((a, b) => a - b));
      for (let i = 1; i < inRunOrder.length; i += 1) expect(inRunOrder[i]!.start).to.be.at.least(inRunOrder[i - 1]!.end);
      expect(new Set(list.map((r) => r.partition)).size, `${key} stays in one partition`).to.equal(1);
    }
    // Lanes overlapped in time.
    let overlaps = 0;
    const sample = runs.filter((_, i) => i % 5 === 0);
    for (const a of sample) for (const b of sample) if (a.partition === b.partition && a.lane < b.lane && a.start < b.end && b.start < a.end) overlaps += 1;
    expect(overlaps, 'overlapping jobs in different lanes of one partition').to.be.greaterThan(100);
    // No commit ever passed a running job; each partition's last commit is its end offset, made
    // after its last job finished.
    expect(commits.filter((c) => c.unfinishedBelow > 0), 'commits that passed a running job').to.deep.equal([]);
    for (const [partition, end] of ends) {
      const last = commits.filter((c) => c.partition === partition).at(-1)!;
      expect(last.offset).to.equal(end);
      const finishedAll = Math.max(...runs.filter((r) => r.partition === partition).map((r) => r.end));
      expect(last.at).to.be.at.least(finishedAll);
    }
  });
});
