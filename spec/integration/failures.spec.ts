import { expect } from 'chai';
import { Consumer } from '../../lib/consume/consumer.ts';
import type { Message } from '../../lib/kafka/inbound-message.ts';
import { Job } from '../../lib/job/job.ts';
import { UnrecoverableError } from '../../lib/errors.ts';
import type { App } from '../../lib/app.ts';
import { stopApps, testApp } from '../support/app.ts';
import { createTopic, readAll, unique, waitFor, withAdmin } from '../support/kafka.ts';
import { jobMessage, produceRaw } from '../support/produce.ts';

/** Attempts per job id, shared by the spec's job class. */
const attempts = new Map<string, number[]>();

class Scripted extends Job<[mode: string]> {
  async perform(mode: string) {
    const list = attempts.get(this.jobId) ?? [];
    list.push(Date.now());
    attempts.set(this.jobId, list);
    if (mode === 'always') throw new Error(`${this.jobId} always fails`);
    if (mode.startsWith('transient:') && this.executions <= Number(mode.split(':')[1])) throw new Error('not yet');
    if (mode === 'unrecoverable') throw new UnrecoverableError('cannot ever work');
    if (mode === 'type') (undefined as unknown as { call(): void }).call();
    if (mode === 'slow') await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

const fast = { backoff: { timeout: 50, maxTimeout: 200 } };
const count = (id: string) => attempts.get(id)?.length ?? 0;

function track(app: App) {
  const performed: number[] = [];
  const deadLettered: number[] = [];
  app.on('job.performed', (e) => performed.push(e.offset));
  app.on('message.dead-lettered', (e) => deadLettered.push(e.offset));
  return { performed, deadLettered };
}

describe('failures, retries and dead letters (broker)', function () {
  afterEach(stopApps);

  it('D1: an always-failing job lands in the DLQ after maxRetries + 1 attempts with source and error headers; the next job runs', async () => {
    const topic = await createTopic(unique('d1'), 1);
    const dlq = unique('d1-dlq');
    const poison = jobMessage(topic, 'Scripted', unique('p'), 'user-7', ['always']);
    poison.headers = { ...poison.headers, trace: 'abc' };
    await produceRaw(topic, [poison, jobMessage(topic, 'Scripted', unique('ok'), 'user-8', ['ok'])]);
    const app = testApp({ ...fast, jobs: [Scripted] }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 2 })));
    const seen = track(app);
    await app.run();
    await waitFor(() => seen.performed.includes(1), { what: 'the healthy job after the poison' });
    expect(count(String(poison.headers['job-id']))).to.equal(3);
    const [copy] = await readAll(dlq, 1);
    expect(copy!.key).to.equal('user-7');
    expect(copy!.value!.toString()).to.equal(String(poison.value));
    expect(copy!.headers).to.include({
      trace: 'abc',
      'job-class': 'Scripted',
      'source-topic': topic,
      'source-partition': '0',
      'source-offset': '0',
      'source-consumer-group': app.groupId,
      'source-attempts': '3',
      'error-class': 'Error',
    });
    expect(copy!.headers['error-message']).to.contain('always fails');
  });

  it('D2: maxRetries 0 dispatches on the first failure (without virtual partitions)', async () => {
    const topic = await createTopic(unique('d2'), 1);
    const dlq = unique('d2-dlq');
    const id = unique('p');
    await produceRaw(topic, [jobMessage(topic, 'Scripted', id, 'k', ['always']), jobMessage(topic, 'Scripted', unique('ok'), 'k', ['ok'])]);
    const app = testApp({ ...fast, jobs: [Scripted] }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 0 })));
    const seen = track(app);
    await app.run();
    await waitFor(() => seen.performed.includes(1), { what: 'the next job' });
    expect(count(id)).to.equal(1);
    expect(seen.deadLettered).to.deep.equal([0]);
  });

  it('D3: a transient error is retried in place and nothing is dispatched', async () => {
    const topic = await createTopic(unique('d3'), 1);
    const dlq = unique('d3-dlq');
    const id = unique('t');
    await produceRaw(topic, [jobMessage(topic, 'Scripted', id, 'k', ['transient:2'])]);
    const app = testApp({ ...fast, jobs: [Scripted] }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 3 })));
    const seen = track(app);
    await app.run();
    await waitFor(() => seen.performed.includes(0), { what: 'the job to succeed' });
    expect(count(id)).to.equal(3);
    expect(seen.deadLettered).to.deep.equal([]);
  });

  it('D4: failures from one source partition keep their order in the DLQ', async () => {
    const topic = await createTopic(unique('d4'), 2);
    const dlq = unique('d4-dlq');
    const messages = Array.from({ length: 12 }, (_, n) => jobMessage(topic, 'Scripted', unique(`p${n}`), `key-${n}`, [n % 3 === 0 ? 'ok' : 'always'], n % 2));
    await produceRaw(topic, messages);
    const app = testApp({ ...fast, jobs: [Scripted] }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 0 })));
    await app.run();
    const copies = await readAll(dlq, 8);
    for (const source of ['0', '1']) {
      const fromSource = copies.filter((c) => c.headers['source-partition'] === source);
      expect(new Set(fromSource.map((c) => c.partition)).size, 'one DLQ partition per source partition').to.equal(1);
      const offsets = fromSource.sort((a, b) => a.offset - b.offset).map((c) => Number(c.headers['source-offset']));
      expect(offsets).to.deep.equal([...offsets].sort((a, b) => a - b));
      expect(offsets).to.have.length(4);
    }
  });

  for (const independent of [false, true]) {
    it(`D5: ${independent ? 'independent mode gives each message its own budget' : 'collective mode carries attempts over to the next failing message'}`, async () => {
      const topic = await createTopic(unique('d5'), 1);
      const dlq = unique('d5-dlq');
      const [a, b] = [unique('a'), unique('b')];
      await produceRaw(topic, [jobMessage(topic, 'Scripted', a, 'k', ['always']), jobMessage(topic, 'Scripted', b, 'k', ['always']), jobMessage(topic, 'Scripted', unique('ok'), 'k', ['ok'])]);
      const app = testApp({ ...fast, jobs: [Scripted] }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 2, independent })));
      const seen = track(app);
      await app.run();
      await waitFor(() => seen.performed.includes(2), { what: 'the healthy job' });
      expect(count(a)).to.equal(3);
      expect(count(b)).to.equal(independent ? 3 : 1);
      expect(seen.deadLettered).to.deep.equal([0, 1]);
    });
  }

  it('D5, job topics: the budget is per job by default: a failing job after another failing job gets maxRetries + 1 attempts', async () => {
    const topic = await createTopic(unique('d10'), 1);
    const dlq = unique('d10-dlq');
    const [a, b] = [unique('a'), unique('b')];
    await produceRaw(topic, [jobMessage(topic, 'Scripted', a, 'k', ['always']), jobMessage(topic, 'Scripted', b, 'k', ['always']), jobMessage(topic, 'Scripted', unique('ok'), 'k', ['ok'])]);
    const app = testApp({ ...fast, jobs: [Scripted] }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 2 })));
    const seen = track(app);
    await app.run();
    await waitFor(() => seen.performed.includes(2), { what: 'the healthy job' });
    expect([count(a), count(b)]).to.deep.equal([3, 3]);
    expect(seen.deadLettered).to.deep.equal([0, 1]);
  });

  it('D5, job topics with lanes: two jobs failing in parallel each get maxRetries + 1 attempts (the parallel attempt counts for each)', async () => {
    const topic = await createTopic(unique('d11'), 1);
    const dlq = unique('d11-dlq');
    const [a, b] = [unique('a'), unique('b')];
    await produceRaw(topic, [jobMessage(topic, 'Scripted', a, 'key-0', ['always']), jobMessage(topic, 'Scripted', b, 'key-1', ['always']), jobMessage(topic, 'Scripted', unique('ok'), 'key-2', ['ok'])]);
    const app = testApp({ ...fast, jobs: [Scripted] }).routes((r) =>
      // one lane per key, so both failing jobs run in the parallel attempt
      r.activeJobTopic(topic, (t) =>
        t.virtualPartitions({ partitioner: (m) => m.headers['job-key'], maxPartitions: 3, reducer: (key, max) => Number(key.split('-')[1]) % max }).deadLetterQueue({ topic: dlq, maxRetries: 2 }),
      ),
    );
    const lanes: number[] = [];
    app.on('batch.started', (e) => lanes.push(e.lanes));
    const seen = track(app);
    await app.run();
    await waitFor(() => seen.deadLettered.length === 2 && seen.performed.includes(2), { what: 'two dead letters and the healthy job' });
    expect(lanes[0], 'the first attempt ran in parallel lanes').to.equal(3);
    expect([count(a), count(b)]).to.deep.equal([3, 3]);
    expect(seen.deadLettered).to.deep.equal([0, 1]);
  });

  it('D6: topic false skips the message with an event, without dispatching', async () => {
    const topic = await createTopic(unique('d6'), 1);
    await produceRaw(topic, [jobMessage(topic, 'Scripted', unique('p'), 'k', ['always']), jobMessage(topic, 'Scripted', unique('ok'), 'k', ['ok'])]);
    const app = testApp({ ...fast, jobs: [Scripted] }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: false, maxRetries: 1 })));
    const skipped: number[] = [];
    app.on('message.skipped', (e) => skipped.push(e.offset));
    const seen = track(app);
    await app.run();
    await waitFor(() => seen.performed.includes(1), { what: 'the healthy job' });
    expect(skipped).to.deep.equal([0]);
    expect(seen.deadLettered).to.deep.equal([]);
  });

  it('D8, V7, V9: with lanes only the guilty job goes to the DLQ, after the collapsed retry; finished jobs are not rerun; lanes come back', async () => {
    const topic = await createTopic(unique('d8'), 1);
    const dlq = unique('d8-dlq');
    const ids = Array.from({ length: 40 }, (_, n) => unique(`j${n}`));
    await produceRaw(topic, ids.map((id, n) => jobMessage(topic, 'Scripted', id, `key-${n % 8}`, [n === 13 ? 'always' : 'slow'], 0)));
    const app = testApp({ ...fast, jobs: [Scripted], maxBufferedMessages: 10_000 }).routes((r) =>
      r.activeJobTopic(topic, (t) => t.virtualPartitions({ partitioner: (m) => m.headers['job-key'], maxPartitions: 8 }).deadLetterQueue({ topic: dlq, maxRetries: 1 })),
    );
    const batches: { collapsed: boolean; lanes: number; first: number }[] = [];
    app.on('batch.started', (e) => batches.push({ collapsed: e.collapsed, lanes: e.lanes, first: e.firstOffset }));
    const seen = track(app);
    await app.run();
    await waitFor(() => seen.performed.length === 39, { what: '39 healthy jobs' });
    expect(seen.deadLettered).to.deep.equal([13]);
    expect(count(ids[13]!)).to.equal(2);
    ids.forEach((id, n) => n !== 13 && expect(count(id), `runs of job ${n}`).to.equal(1));
    expect(batches[0]!.lanes).to.be.greaterThan(1);
    expect(batches.some((b) => b.collapsed && b.lanes === 1)).to.equal(true);
    const copies = await readAll(dlq, 1);
    expect(copies.map((c) => c.headers['source-offset'])).to.deep.equal(['13']);
    // lanes come back after the collapsed batch
    await produceRaw(topic, Array.from({ length: 16 }, (_, n) => jobMessage(topic, 'Scripted', unique('after'), `key-${n % 8}`, ['ok'], 0)));
    await waitFor(() => seen.performed.length === 55, { what: 'the next batch' });
    const after = batches.filter((b) => b.first >= 40);
    expect(after.every((b) => !b.collapsed)).to.equal(true);
    expect(after.some((b) => b.lanes > 1)).to.equal(true);
  });

  it('V8: several lanes fail; the collapse covers the whole failed batch, then lanes come back', async () => {
    const topic = await createTopic(unique('v8'), 1);
    const ids = Array.from({ length: 24 }, (_, n) => unique(`j${n}`));
    await produceRaw(topic, ids.map((id, n) => jobMessage(topic, 'Scripted', id, `key-${n % 6}`, [n === 3 || n === 10 || n === 20 ? 'transient:1' : 'ok'], 0)));
    const app = testApp({ ...fast, jobs: [Scripted], maxBufferedMessages: 10_000 }).routes((r) =>
      // one lane per key, so each failing job is reached in the parallel run
      r.activeJobTopic(topic, (t) => t.virtualPartitions({ partitioner: (m) => m.headers['job-key'], maxPartitions: 6, reducer: (key, max) => Number(key.split('-')[1]) % max })),
    );
    const batches: { collapsed: boolean; first: number; last: number }[] = [];
    app.on('batch.started', (e) => batches.push({ collapsed: e.collapsed, first: e.firstOffset, last: e.lastOffset }));
    const seen = track(app);
    await app.run();
    await waitFor(() => seen.performed.length === 24, { what: '24 jobs' });
    const retries = batches.filter((b) => b.collapsed);
    expect(retries.length).to.be.greaterThan(0);
    for (const retry of retries) {
      const index = batches.indexOf(retry);
      const failed = batches[index - 1]!;
      expect(failed.collapsed).to.equal(false);
      expect([retry.first, retry.last], 'the collapsed retry spans the failed batch').to.deep.equal([failed.first, failed.last]);
      const next = batches[index + 1];
      if (next) expect(next.collapsed, 'lanes come back after the failed batch end').to.equal(false);
      if (next) expect(next.first).to.equal(retry.last + 1);
    }
    for (const n of [3, 10, 20]) expect(count(ids[n]!)).to.equal(2);
    for (const [n, id] of ids.entries()) if (![3, 10, 20].includes(n)) expect(count(id), `runs of job ${n}`).to.equal(1);
  });

  it('a record too large for a whole dead-letter copy is dead-lettered without its value, with an event; the partition goes on', async () => {
    const topic = await createTopic(unique('dlq-size'), 1);
    const dlq = unique('dlq-size-dlq');
    // Under the broker's 1 048 588 bytes, over the dispatcher's 1 000 000 once the dead-letter headers join.
    await produceRaw(topic, [
      { key: 'big', value: Buffer.alloc(1_000_500, 7), headers: { trace: 'abc' }, partition: 0 },
      { key: 'small', value: 'ok', partition: 0 },
    ]);
    const consumed: string[] = [];
    class FailsOnBig extends Consumer {
      consume(messages: Message[]) {
        for (const message of messages) {
          if (message.key === 'big') throw new Error('too big to handle');
          consumed.push(message.key!);
        }
      }
    }
    const app = testApp(fast).routes((r) => r.topic(topic, FailsOnBig, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 0 })));
    const errors: { kind?: string; error: Error }[] = [];
    app.on('error', (e) => errors.push(e));
    const dropped: string[][] = [];
    app.on('message.dead-lettered', (e) => dropped.push(e.dropped));
    await app.run();
    await waitFor(() => consumed.includes('small'), { what: 'the record after the large one', timeoutMs: 30_000 });
    expect(dropped).to.deep.equal([['value']]);
    const reduced = errors.find((e) => e.kind === 'dead-letter-reduced');
    expect(reduced?.error.message).to.contain(`${topic}/0@0`).and.contain('without its value');
    const [copy] = await readAll(dlq, 1);
    expect(copy!.value).to.equal(null);
    expect(copy!.key).to.equal('big');
    expect(copy!.headers).to.include({ trace: 'abc', 'source-offset': '0', 'error-message': 'too big to handle', 'dead-letter-dropped': 'value' });
    expect(Number(copy!.headers['dead-letter-full-bytes'])).to.be.greaterThan(1_000_500);
  });

  it("the dead-letter copy fits the dead-letter topic's own max.message.bytes", async () => {
    const topic = await createTopic(unique('dlq-limit'), 1);
    const dlq = unique('dlq-limit-dlq');
    await withAdmin((admin) => admin.createTopics({ waitForLeaders: true, topics: [{ topic: dlq, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '100000' }] }] }));
    await produceRaw(topic, [{ key: 'mid', value: Buffer.alloc(200_000, 7), partition: 0 }, { key: 'small', value: 'ok', partition: 0 }]);
    const consumed: string[] = [];
    class FailsOnMid extends Consumer {
      consume(messages: Message[]) {
        for (const message of messages) {
          if (message.key === 'mid') throw new Error('no');
          consumed.push(message.key!);
        }
      }
    }
    const app = testApp(fast).routes((r) => r.topic(topic, FailsOnMid, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 0 })));
    const dropped: string[][] = [];
    app.on('message.dead-lettered', (e) => dropped.push(e.dropped));
    await app.run();
    await waitFor(() => consumed.includes('small'), { what: 'the record after the dead-lettered one', timeoutMs: 30_000 });
    expect(dropped, 'only the value left out: the topic limit was known').to.deep.equal([['value']]);
    const [copy] = await readAll(dlq, 1);
    expect(copy!.key).to.equal('mid');
    expect(copy!.headers['dead-letter-dropped']).to.equal('value');
  });

  it('UnrecoverableError skips the remaining retries', async () => {
    const topic = await createTopic(unique('unrec'), 1);
    const dlq = unique('unrec-dlq');
    const id = unique('u');
    await produceRaw(topic, [jobMessage(topic, 'Scripted', id, 'k', ['unrecoverable'])]);
    const app = testApp({ ...fast, jobs: [Scripted] }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 5 })));
    const seen = track(app);
    await app.run();
    await waitFor(() => seen.deadLettered.length === 1, { what: 'the dead letter' });
    expect(count(id)).to.equal(1);
  });

  it('retryOn bounds the in-place attempts of one error class, then the job is dead-lettered; discardOn drops a job', async () => {
    class Transient extends Error {}
    class Gone extends Error {}
    const runs = new Map<string, number>();
    const discarded: string[] = [];
    class Handled extends Job<[mode: string]> {
      static {
        this.retryOn(Transient, { attempts: 3 });
        this.discardOn(Gone);
        this.afterDiscard((job, error) => {
          discarded.push(`${job.jobId}:${error.constructor.name}`);
        });
      }
      perform(mode: string) {
        runs.set(this.jobId, (runs.get(this.jobId) ?? 0) + 1);
        if (mode === 'flaky' && this.executions < 3) throw new Transient(`try ${this.executions}`);
        if (mode === 'never') throw new Transient('never works');
        if (mode === 'gone') throw new Gone('record deleted');
      }
    }
    const topic = await createTopic(unique('retry-on'), 1);
    const dlq = unique('retry-on-dlq');
    const [flaky, never, gone, ok] = [unique('flaky'), unique('never'), unique('gone'), unique('ok')];
    await produceRaw(topic, [
      jobMessage(topic, 'Handled', flaky, 'k', ['flaky']),
      jobMessage(topic, 'Handled', never, 'k', ['never']),
      jobMessage(topic, 'Handled', gone, 'k', ['gone']),
      jobMessage(topic, 'Handled', ok, 'k', ['ok']),
    ]);
    const app = testApp({ ...fast, jobs: [Handled] }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: dlq, maxRetries: 10 })));
    const seen = track(app);
    await app.run();
    await waitFor(() => seen.performed.includes(3), { what: 'the last job' });
    expect(runs.get(flaky)).to.equal(3);
    expect(runs.get(never), 'retryOn attempts, not the route maxRetries').to.equal(3);
    expect(runs.get(gone)).to.equal(1);
    expect(seen.deadLettered).to.deep.equal([1]);
    expect(discarded).to.deep.equal([`${never}:Transient`, `${gone}:Gone`]);
    const [copy] = await readAll(dlq, 1);
    expect(copy!.headers['error-class']).to.equal('UnrecoverableError');
    expect(copy!.headers['error-message']).to.contain('failed 3 times with Transient: never works');
  });

  it('D9: the backoff doubles from the configured timeout up to the maximum (measured gaps)', async () => {
    const topic = await createTopic(unique('d9'), 1);
    const id = unique('p');
    await produceRaw(topic, [jobMessage(topic, 'Scripted', id, 'k', ['always'])]);
    const app = testApp({ jobs: [Scripted], backoff: { timeout: 100, maxTimeout: 800 } }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: false, maxRetries: 5 })));
    const waits: number[] = [];
    app.on('batch.failed', (e) => waits.push(e.retryInMs));
    const seen = { skipped: false };
    app.on('message.skipped', () => (seen.skipped = true));
    await app.run();
    await waitFor(() => seen.skipped, { what: 'six attempts', timeoutMs: 30_000 });
    const times = attempts.get(id)!;
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(waits).to.deep.equal([100, 200, 400, 800, 800]);
    gaps.forEach((gap, i) => expect(gap, `gap ${i} (${gaps.join(', ')} ms)`).to.be.at.least(waits[i]! - 5).and.below(waits[i]! + 1000));
    expect(gaps[3]! / gaps[0]!, `gaps ${gaps.join(', ')} ms`).to.be.greaterThan(3);
  });
});
