import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { ClusterStatus } from '../../lib/admin/index.ts';
import { closeDispatcher, configure } from '../../lib/dispatch/default-dispatcher.ts';
import { Job } from '../../lib/job/job.ts';
import { liveProcesses } from '../../lib/reports/index.ts';
import { stopApps, testApp } from '../support/app.ts';
import { SOURCE_CLI } from '../support/cli.ts';
import { Gate } from '../support/gate.ts';
import { createTopic, testBrokers, unique, waitFor } from '../support/kafka.ts';

async function partita(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [...SOURCE_CLI, ...args], {
    env: { ...process.env, KAFKA_BROKERS: testBrokers().join(','), PARTITA_LOG_LEVEL: 'warn' },
    timeout: 90_000,
  });
  return stdout;
}

describe('partita status (broker)', function () {
  const gate = new Gate();

  afterEach(async () => {
    gate.open();
    await stopApps();
    await closeDispatcher();
  });

  it('shows lag, the live process, the running job, dead letters and scheduled jobs, as text and as JSON', async () => {
    const topic = await createTopic(unique('status'), 2);
    const deadLetterTopic = `${topic}.dlq`;
    // One key: the quick job's commit puts the held job's partition in the group's offsets.
    class StatusQuick extends Job<[]> {
      static override options = { topic, partitioner: () => 'one-key' };
      async perform() {}
    }
    class StatusHeld extends Job<[]> {
      static override options = { topic, partitioner: () => 'one-key' };
      async perform() {
        await gate.wait();
      }
    }
    class StatusBroken extends Job<[]> {
      static override options = { topic };
      async perform() {
        throw new Error('status: broken on purpose');
      }
    }
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    const app = testApp({ jobs: [StatusQuick, StatusHeld, StatusBroken], reports: { intervalMs: 500 } }).routes((r) =>
      r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: deadLetterTopic, maxRetries: 0 })),
    );
    await app.run();
    const quick = await StatusQuick.set({ dispatchMethod: 'produceSync' }).performLater();
    let committed = false;
    app.on('batch.committed', ({ offsets }) => {
      if (offsets.some((o) => o.topic === topic && o.partition === quick.partition && o.offset > quick.offset!)) committed = true;
    });
    await waitFor(() => committed, { what: 'the quick job committed' });
    // The broken job first, dead-lettered before the held job runs: behind the held job in its
    // partition's batch, its collapsed retry would wait for the held job, and no dead letter come.
    let deadLettered = false;
    app.on('message.dead-lettered', ({ deadLetterTopic: to }) => {
      if (to === deadLetterTopic) deadLettered = true;
    });
    const broken = await StatusBroken.set({ dispatchMethod: 'produceSync' }).performLater();
    await waitFor(() => deadLettered, { what: 'the broken job dead-lettered' });
    const held = await StatusHeld.set({ dispatchMethod: 'produceSync' }).performLater();
    await StatusHeld.set({ dispatchMethod: 'produceSync', wait: 3_600_000 }).performLater();
    await waitFor(() => gate.entered === 1, { what: 'the held job running' });
    const source = { brokers: testBrokers() };
    await waitFor(
      async () => {
        const own = (await liveProcesses(source, { sinceMs: 60_000, groupId: app.groupId })).find((p) => p.processId === app.reportsProcessId);
        return own?.state === 'live' && own.report.runningJobs.some((job) => job.jobId === held.jobId) && (own.report.deadLetterTopics ?? []).includes(deadLetterTopic);
      },
      { what: 'a report with the held job', timeoutMs: 60_000 },
    );

    const status = JSON.parse(await partita('status', '--json', '--group', app.groupId)) as ClusterStatus;
    const group = status.groups.find((g) => g.groupId === app.groupId)!;
    expect(group, 'the app group').to.not.equal(undefined);
    expect(group.members).to.have.length(1);
    const lagged = group.topics.find((t) => t.topic === topic)!;
    // The held job's offset is not committed: its partition lags from it to the end.
    const heldPartition = lagged.partitions.find((p) => p.partition === held.partition)!;
    expect(heldPartition.committed).to.equal(held.offset);
    expect(heldPartition.lag).to.equal(heldPartition.end - held.offset!).and.to.be.at.least(1);
    expect(status.processes.find((p) => p.processId === app.reportsProcessId)!.state).to.equal('live');
    expect(status.runningJobs.map((job) => [job.jobClass, job.jobId, job.processId])).to.deep.equal([['StatusHeld', held.jobId, app.reportsProcessId]]);
    expect(status.deadLetters).to.deep.equal([{ topic: deadLetterTopic, counts: { total: 1, replayed: 0, waiting: 1 } }]);
    expect(status.scheduled.filter((tier) => tier.jobTopic === topic).reduce((sum, tier) => sum + tier.waiting, 0)).to.equal(1);
    expect(broken.offset).to.be.a('number');

    const text = await partita('status', '--group', app.groupId);
    expect(text).to.contain(`${app.groupId}  Stable  1 member`);
    expect(text).to.match(new RegExp(`${app.reportsProcessId}  live  group ${app.groupId}`));
    expect(text).to.contain(`StatusHeld ${held.jobId}  ${topic}/${held.partition}@${held.offset}`);
    expect(text).to.contain(`${deadLetterTopic}  total 1  replayed 0  waiting 1`);
    expect(text).to.match(new RegExp(`${topic}  tier \\S+  1 waiting`));
  });
});
