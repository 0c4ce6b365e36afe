import { expect } from 'chai';
import { Consumer } from '../../lib/consume/consumer.ts';
import type { Message } from '../../lib/kafka/inbound-message.ts';
import { Job } from '../../lib/job/job.ts';
import { stopApps, testApp } from '../support/app.ts';
import { committedOffsets, createTopic, unique, waitFor } from '../support/kafka.ts';
import { jobMessage, produceRaw } from '../support/produce.ts';

const shortGroup = { sessionTimeout: 3000, rebalanceTimeout: 4000, heartbeatInterval: 500 };

describe('long-running work and revocation (broker)', function () {
  this.timeout(120_000);
  afterEach(stopApps);

  it('L1, L2: a job running past 2× the rebalance timeout finishes in the group and is committed while another partition keeps flowing', async () => {
    const topic = await createTopic(unique('lrj'), 2);
    const performedAt: { partition: number; at: number }[] = [];
    let longStarted = 0;
    let longEnded = 0;
    class Report extends Job<[kind: string]> {
      async perform(kind: string) {
        if (kind !== 'long') return;
        longStarted = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 2 * shortGroup.rebalanceTimeout + 1000));
        longEnded = Date.now();
      }
    }
    await produceRaw(topic, [jobMessage(topic, 'Report', unique('long'), 'a', ['long'], 0)]);
    const app = testApp({ jobs: [Report], consumer: shortGroup }).routes((r) => r.activeJobTopic(topic, (t) => t.longRunningJob()));
    const joins: number[] = [];
    const revoked: number[] = [];
    app.on('partition.assigned', (e) => e.topic === topic && joins.push(e.partition));
    app.on('partition.revoked', (e) => revoked.push(e.partition));
    app.on('job.performed', (e) => performedAt.push({ partition: e.partition, at: e.finishedAt }));
    await app.run();
    await waitFor(() => longStarted > 0, { what: 'the long job to start' });
    for (let wave = 0; wave < 8; wave += 1) {
      await produceRaw(topic, Array.from({ length: 5 }, (_, n) => jobMessage(topic, 'Report', unique('short'), `b${n}`, ['short'], 1)));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await waitFor(() => longEnded > 0, { what: 'the long job to finish', timeoutMs: 30_000 });
    await waitFor(async () => (await committedOffsets(app.groupId, topic)).get(0)?.offset === 1, { what: 'the long job committed' });
    expect(longEnded - longStarted).to.be.greaterThan(2 * shortGroup.rebalanceTimeout);
    expect(revoked, 'no partition was revoked').to.deep.equal([]);
    expect(joins.sort(), 'one assignment only: the worker never left the group').to.deep.equal([0, 1]);
    const flowing = performedAt.filter((p) => p.partition === 1 && p.at > longStarted && p.at < longEnded);
    expect(flowing.length, 'jobs of the other partition done while the long job ran').to.be.at.least(30);
  });

  it('L3, L4: on revocation the running job sees its signal abort, later jobs of the partition never start, and the old owner commits nothing more for it', async () => {
    const topic = await createTopic(unique('revoke'), 2);
    const groupId = unique('group');
    const aborted = new Map<number, boolean>();
    const startedIn = new Map<string, number[]>();
    class Hold extends Job<[kind: string]> {
      async perform(kind: string) {
        if (kind !== 'hold') return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 60_000);
          this.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        aborted.set(Number(this.jobId.split(':')[1]), this.signal.aborted);
      }
    }
    const messages = [0, 1].flatMap((partition) => [
      jobMessage(topic, 'Hold', `hold:${partition}`, 'same', ['hold'], partition),
      ...Array.from({ length: 5 }, (_, n) => jobMessage(topic, 'Hold', `after:${partition}:${n}`, 'same', ['quick'], partition)),
    ]);
    await produceRaw(topic, messages);
    const first = testApp({ groupId, jobs: [Hold], consumer: shortGroup, shutdownTimeoutMs: 1000 }).routes((r) => r.activeJobTopic(topic));
    const firstCommits: { partition: number; at: number }[] = [];
    let revokedAt = 0;
    let revokedPartition = -1;
    first.on('job.started', (e) => startedIn.set('A', [...(startedIn.get('A') ?? []), e.partition * 100 + e.offset]));
    first.on('batch.committed', (e) => e.offsets.forEach((o) => firstCommits.push({ partition: o.partition, at: e.at })));
    first.on('partition.revoked', (e) => {
      revokedAt = Date.now();
      revokedPartition = e.partition;
    });
    await first.run();
    await waitFor(() => (startedIn.get('A') ?? []).filter((x) => x % 100 === 0).length === 2, { what: 'both hold jobs running in A' });
    const second = testApp({ groupId, jobs: [Hold], consumer: shortGroup }).routes((r) => r.activeJobTopic(topic));
    second.on('job.started', (e) => startedIn.set('B', [...(startedIn.get('B') ?? []), e.partition * 100 + e.offset]));
    await second.run();
    await waitFor(() => revokedPartition >= 0, { what: 'a revocation in A' });
    await waitFor(() => aborted.has(revokedPartition), { what: 'the revoked hold job to end' });
    expect(aborted.get(revokedPartition), 'the running job saw signal.aborted').to.equal(true);
    await waitFor(() => (startedIn.get('B') ?? []).some((x) => Math.floor(x / 100) === revokedPartition), { what: 'B to take the partition over' });
    const laterInA = (startedIn.get('A') ?? []).filter((x) => Math.floor(x / 100) === revokedPartition && x % 100 > 0);
    expect(laterInA, 'jobs behind the hold job never started in A').to.deep.equal([]);
    expect(firstCommits.filter((c) => c.partition === revokedPartition && c.at >= revokedAt), 'A committed nothing for it after losing it').to.deep.equal([]);
  });

  it('L3: markAsConsumed returns false after revocation and commits nothing', async () => {
    const topic = await createTopic(unique('revoke-mark'), 2);
    const groupId = unique('group');
    const marks: { partition: number; result: boolean; aborted: boolean }[] = [];
    const holding = new Set<number>();
    class Holder extends Consumer {
      async consume(messages: Message[]) {
        holding.add(this.partition);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 60_000);
          this.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        marks.push({ partition: this.partition, result: this.markAsConsumed(messages[messages.length - 1]!), aborted: this.revoked() });
      }
    }
    await produceRaw(topic, [0, 1].map((partition) => ({ key: 'k', value: 'x', partition })));
    const first = testApp({ groupId, consumer: shortGroup, shutdownTimeoutMs: 1000 }).routes((r) => r.topic(topic, Holder, (t) => t.manualOffsetManagement()));
    await first.run();
    await waitFor(() => holding.size === 2, { what: 'both partitions held in A' });
    const second = testApp({ groupId, consumer: shortGroup }).routes((r) => r.topic(topic, Holder, (t) => t.manualOffsetManagement()));
    await second.run();
    await waitFor(() => marks.length > 0, { what: 'a revoked consumer to try its mark' });
    expect(marks[0]).to.include({ result: false, aborted: true });
    const committed = await committedOffsets(groupId, topic);
    expect(committed.get(marks[0]!.partition)!.offset).to.equal(-1);
  });
});
