import { expect } from 'chai';
import { closeDispatcher, configure } from '../../lib/dispatch/default-dispatcher.ts';
import { Job } from '../../lib/job/job.ts';
import { liveProcesses, readReports, recentErrors, subscribeReports, type ErrorReport, type TopicTail, type WorkerReport } from '../../lib/reports/index.ts';
import { stopApps, testApp } from '../support/app.ts';
import { Gate } from '../support/gate.ts';
import { createTopic, testBrokers, unique, waitFor } from '../support/kafka.ts';

describe('worker reports in Kafka (broker)', function () {
  let source: { brokers: string[] };
  let tail: TopicTail | undefined;

  before(() => {
    source = { brokers: testBrokers() };
  });

  afterEach(async () => {
    await tail?.close();
    tail = undefined;
    await stopApps();
    await closeDispatcher();
  });

  it('publishes running jobs, partitions, counts and errors, and the readers find them', async () => {
    const topic = await createTopic(unique('reports'), 2);
    const gate = new Gate();
    const failureMessage = unique('report-me');
    class HeldJob extends Job<[n: number]> {
      static override options = { topic };
      async perform() {
        await gate.wait();
      }
    }
    class BrokenJob extends Job<[]> {
      static override options = { topic };
      async perform() {
        throw new TypeError(failureMessage);
      }
    }
    const app = testApp({ jobs: [HeldJob, BrokenJob], reports: { intervalMs: 300 } }).routes((r) =>
      r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: `${topic}.dlq`, maxRetries: 1 })),
    );
    const reports: WorkerReport[] = [];
    const errors: ErrorReport[] = [];
    tail = subscribeReports(source, {
      report: (report) => {
        if (report.processId === app.reportsProcessId) reports.push(report);
      },
      error: (error) => {
        if (error.processId === app.reportsProcessId) errors.push(error);
      },
    });
    await tail.ready;
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    await app.run();
    const held = await HeldJob.set({ dispatchMethod: 'produceSync' }).performLater(1);
    await waitFor(() => reports.some((r) => r.runningJobs.some((j) => j.jobId === held.jobId)), { what: 'a report listing the held job as running' });
    const running = reports.find((r) => r.runningJobs.some((j) => j.jobId === held.jobId))!;
    expect(running.runningJobs.find((j) => j.jobId === held.jobId)).to.include({ jobClass: 'HeldJob', topic, partition: held.partition, offset: held.offset });
    expect(running.partitions.filter((p) => p.topic === topic).map((p) => p.partition).sort()).to.deep.equal([0, 1]);
    expect(running.partitions.find((p) => p.topic === topic && p.partition === held.partition)!.lanesBusy).to.equal(1);
    expect(running.process.pid).to.equal(process.pid);
    expect(running.groupId).to.equal(app.groupId);

    gate.open();
    const broken = await BrokenJob.set({ dispatchMethod: 'produceSync' }).performLater();
    const statsOf = (jobClass: string) =>
      reports.flatMap((r) => r.jobs).filter((s) => s.jobClass === jobClass && s.topic === topic);
    await waitFor(() => statsOf('BrokenJob').reduce((sum, s) => sum + s.deadLettered, 0) === 1, { what: 'the dead letter counted in a report' });
    expect(statsOf('HeldJob').reduce((sum, s) => sum + s.performed, 0)).to.equal(1);
    expect(statsOf('HeldJob').reduce((sum, s) => sum + s.durationBuckets.reduce((a, b) => a + b, 0), 0)).to.equal(1);
    expect(statsOf('BrokenJob').reduce((sum, s) => sum + s.failed, 0)).to.equal(2);
    expect(statsOf('BrokenJob').reduce((sum, s) => sum + s.retried, 0)).to.equal(1);
    expect(reports.at(-1)!.runningJobs).to.deep.equal([]);
    const committed = reports.at(-1)!.partitions.find((p) => p.topic === topic && p.partition === broken.partition)!;
    await waitFor(() => reports.at(-1)!.partitions.find((p) => p.topic === topic && p.partition === broken.partition)!.committedOffset === broken.offset! + 1, {
      what: `committed offset ${broken.offset! + 1} in a report (last: ${committed.committedOffset})`,
    });

    await waitFor(() => errors.filter((e) => e.kind === 'job.failed').length === 2, { what: 'two job failures on the errors topic' });
    const failure = errors.find((e) => e.kind === 'job.failed')!;
    expect(failure).to.include({ errorClass: 'TypeError', message: failureMessage, jobClass: 'BrokenJob', jobId: broken.jobId, topic, partition: broken.partition, offset: broken.offset, attempt: 1 });
    expect(failure.stack).to.contain('BrokenJob.perform');

    const found = await recentErrors(source, { sinceMs: 60_000, jobClass: 'BrokenJob', topic });
    expect(found.filter((e) => e.message === failureMessage).map((e) => e.kind).sort()).to.deep.equal(['job.failed', 'job.failed', 'message.dead-lettered']);
    expect(await recentErrors(source, { sinceMs: 60_000, jobClass: 'HeldJob', topic })).to.deep.equal([]);
    const seen = reports.map((r) => r.at);
    const history = (await readReports(source, { sinceMs: 60_000, groupId: app.groupId })).filter((r) => r.processId === app.reportsProcessId);
    expect(history.map((r) => r.at)).to.include.members(seen);
    expect(history.map((r) => r.at)).to.deep.equal([...history.map((r) => r.at)].sort((a, b) => a - b));
  });

  it('shows a process as live while it reports and as gone once it stopped', async () => {
    const topic = await createTopic(unique('reports-gone'), 1);
    const app = testApp({ reports: { intervalMs: 300 } }).routes((r) => r.activeJobTopic(topic));
    await app.run();
    const stateOf = async () => (await liveProcesses(source, { sinceMs: 60_000, groupId: app.groupId })).find((p) => p.processId === app.reportsProcessId)?.state;
    await waitFor(async () => (await stateOf()) === 'live', { what: 'the process live in its reports' });
    await app.stop();
    expect(await stateOf()).to.equal('gone');
  });

  it('publishes nothing with reports: false', async () => {
    const topic = await createTopic(unique('reports-off'), 1);
    const app = testApp({ reports: false }).routes((r) => r.activeJobTopic(topic));
    expect(app.reportsProcessId).to.equal(undefined);
    await app.run();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await app.stop();
    expect((await readReports(source, { sinceMs: 60_000, groupId: app.groupId })).length).to.equal(0);
  });
});
