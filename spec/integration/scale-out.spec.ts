import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopic, endOffsets, unique, waitFor } from '../support/kafka.ts';
import { jobMessage, produceRaw } from '../support/produce.ts';
import { commitsPastUnfinished, exited, finished, readEvents, startRecordingWorker } from '../support/worker-process.ts';

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
  });

  it('kill -9 of a worker mid-run, then a restart: no job is lost', async () => {
    const topic = await createTopic(unique('kill9'), 4);
    const group = unique('group');
    const file = eventsFile();
    expect(await fillTopic(topic, 5000, 100)).to.equal(5000);
    const env = { TOPIC: topic, GROUP: group, EVENTS_FILE: file, JOB_MS: '10' };
    const victim = startRecordingWorker(env);
    children.push(victim);
    await waitFor(() => finished(readEvents(file)).size >= 1000, { what: 'some progress', timeoutMs: 60_000 });
    victim.kill('SIGKILL');
    expect(await exited(victim)).to.equal('SIGKILL');
    const doneBefore = finished(readEvents(file)).size;
    expect(doneBefore).to.be.lessThan(5000);
    const restarted = startRecordingWorker(env);
    children.push(restarted);
    await waitFor(() => finished(readEvents(file)).size === 5000, { what: 'all 5000 jobs after the restart', timeoutMs: 120_000 });
    restarted.kill('SIGTERM');
    expect(await exited(restarted)).to.equal(0);
    expect(commitsPastUnfinished(readEvents(file), 4)).to.deep.equal([]);
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
