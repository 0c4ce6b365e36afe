import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopic, endOffsets, unique, waitFor } from '../support/kafka.ts';
import { jobMessage, produceRaw } from '../support/produce.ts';
import { commitsPastUnfinished, exited, finished, readEvents, resumeReport, startRecordingWorker, type ResumeReport } from '../support/worker-process.ts';

/** Prints a run's repeats and what crash-exact resume allows, and checks both (R2). */
function expectCrashExactResume(report: ResumeReport, what: string): void {
  const running = report.handovers.reduce((sum, h) => sum + h.running, 0);
  const late = report.handovers.reduce((sum, h) => sum + h.finishedLate, 0);
  process.stdout.write(
    `      ${what}: ${report.repeats} jobs repeated across ${report.handovers.length} partition handovers; ` +
      `at the handovers ${running} jobs were running and ${late} had finished after the owner's last-but-one commit; ` +
      `${report.skipped} finished jobs skipped by new owners\n`,
  );
  expect(report.violations.slice(0, 5), 'no job started again after a commit carried it as finished').to.deep.equal([]);
  expect(report.repeats).to.be.at.most(running + late);
}

async function fillTopic(topic: string, jobs: number, keys: number): Promise<number> {
  await produceRaw(topic, Array.from({ length: jobs }, (_, n) => jobMessage(topic, 'Recorded', `job-${n}`, `key-${n % keys}`, [`key-${n % keys}`, n])), 2000);
  return [...(await endOffsets(topic)).values()].reduce((a, b) => a + b, 0);
}

describe('scale-out, crashes and supervision (broker, worker processes)', function () {
  this.timeout(300_000);
  const children: ChildProcess[] = [];
  const eventsFile = () => join(mkdtempSync(join(tmpdir(), 'partita-')), 'events.ndjson');

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
    }
  });

  it('L5, L6: a second worker joins and leaves (SIGTERM) mid-run of 20 000 jobs: nothing lost, no commit past an unfinished job', async () => {
    const topic = await createTopic(unique('l6'), 6);
    const group = unique('group');
    const file = eventsFile();
    expect(await fillTopic(topic, 20_000, 200)).to.equal(20_000);
    const env = { TOPIC: topic, GROUP: group, EVENTS_FILE: file, JOB_MS: '15' };
    const first = startRecordingWorker(env);
    children.push(first);
    await waitFor(() => finished(readEvents(file)).size >= 2000, { what: 'worker 1 to get going', timeoutMs: 60_000 });
    const second = startRecordingWorker(env);
    children.push(second);
    await waitFor(() => readEvents(file).some((e) => e.pid === second.pid && e.e === 'done'), { what: 'worker 2 to run jobs', timeoutMs: 60_000 });
    await waitFor(() => finished(readEvents(file)).size >= 10_000, { what: 'half the jobs', timeoutMs: 120_000 });
    second.kill('SIGTERM');
    expect(await exited(second)).to.equal(0);
    const down = readEvents(file).find((e) => e.pid === second.pid && e.e === 'down');
    expect(down, 'worker 2 stopped gracefully').to.not.equal(undefined);
    await waitFor(() => finished(readEvents(file)).size === 20_000, { what: 'all 20 000 jobs', timeoutMs: 180_000 });
    first.kill('SIGTERM');
    expect(await exited(first)).to.equal(0);

    const events = readEvents(file);
    const ran = events.filter((e) => e.e === 'done');
    const byWorker = new Map<number, number>();
    for (const e of ran) byWorker.set(e.pid, (byWorker.get(e.pid) ?? 0) + 1);
    expect(byWorker.get(second.pid!)).to.be.greaterThan(0);
    expect(commitsPastUnfinished(events, 6)).to.deep.equal([]);
    const lastCommit = new Map<number, number>();
    for (const e of events) if (e.e === 'commit') for (const [p, o] of e.offsets!) lastCommit.set(p, Math.max(lastCommit.get(p) ?? 0, o));
    const ends = await endOffsets(topic);
    for (const [p, end] of ends) expect(lastCommit.get(p), `partition ${p} committed to its end`).to.equal(end);
    process.stdout.write(`      jobs run ${ran.length} times for 20 000 jobs (${ran.length - 20_000} repeats across rebalances); per worker ${JSON.stringify([...byWorker.values()])}\n`);
    expectCrashExactResume(resumeReport(events), 'two rebalances');
  });

  it('kill -9 of a worker mid-run, three times, each followed by a restart: no job is lost, only jobs in flight repeat (R2)', async () => {
    const topic = await createTopic(unique('kill9'), 4);
    const group = unique('group');
    const file = eventsFile();
    expect(await fillTopic(topic, 8000, 100)).to.equal(8000);
    const env = { TOPIC: topic, GROUP: group, EVENTS_FILE: file, JOB_MS: '10' };
    let worker = startRecordingWorker(env);
    children.push(worker);
    for (const progress of [1500, 3500, 5500]) {
      await waitFor(() => finished(readEvents(file)).size >= progress, { what: `${progress} jobs`, timeoutMs: 120_000 });
      worker.kill('SIGKILL');
      expect(await exited(worker)).to.equal('SIGKILL');
      expect(finished(readEvents(file)).size).to.be.lessThan(8000);
      worker = startRecordingWorker(env);
      children.push(worker);
    }
    await waitFor(() => finished(readEvents(file)).size === 8000, { what: 'all 8000 jobs after the restarts', timeoutMs: 120_000 });
    worker.kill('SIGTERM');
    expect(await exited(worker)).to.equal(0);
    const events = readEvents(file);
    expect(commitsPastUnfinished(events, 4)).to.deep.equal([]);
    expectCrashExactResume(resumeReport(events), 'three kill -9');
  });

  it('partita worker --processes 2 shares the partitions and restarts a worker that dies', async () => {
    const topic = await createTopic(unique('supervised'), 4);
    const group = unique('group');
    const file = eventsFile();
    expect(await fillTopic(topic, 4000, 100)).to.equal(4000);
    const supervisor = startRecordingWorker({ TOPIC: topic, GROUP: group, EVENTS_FILE: file, JOB_MS: '20' }, ['--processes', '2']);
    children.push(supervisor);
    let output = '';
    supervisor.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => new Set(readEvents(file).filter((e) => e.e === 'up').map((e) => e.pid)).size === 2, { what: 'two workers up', timeoutMs: 60_000 });
    const [victim] = [...new Set(readEvents(file).filter((e) => e.e === 'up').map((e) => e.pid))];
    process.kill(victim!, 'SIGKILL');
    await waitFor(() => new Set(readEvents(file).filter((e) => e.e === 'up').map((e) => e.pid)).size === 3, { what: 'a replacement worker', timeoutMs: 60_000 });
    expect(output).to.match(new RegExp(`pid ${victim}\\) exited with SIGKILL; restarting`));
    await waitFor(() => finished(readEvents(file)).size === 4000, { what: 'all 4000 jobs', timeoutMs: 120_000 });
    supervisor.kill('SIGTERM');
    expect(await exited(supervisor)).to.equal(0);
    const downs = readEvents(file).filter((e) => e.e === 'down');
    expect(downs.length, 'both live workers stopped gracefully').to.equal(2);
    expect(commitsPastUnfinished(readEvents(file), 4)).to.deep.equal([]);
  });
});
