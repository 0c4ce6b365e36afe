import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closeDispatcher, configure } from '../../lib/dispatch/default-dispatcher.ts';
import type { Dispatcher } from '../../lib/dispatch/dispatcher.ts';
import { UnknownJobClassError } from '../../lib/errors.ts';
import { encodeEnvelope } from '../../lib/job/envelope.ts';
import { Job } from '../../lib/job/job.ts';
import { stopApps, testApp } from '../support/app.ts';
import { createTopic, endOffsets, rawKafka, readAll, testBrokers, unique, waitFor } from '../support/kafka.ts';

describe('jobs and dispatch (broker)', function () {
  let dispatcher: Dispatcher;

  beforeEach(async () => {
    dispatcher = await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
  });
  afterEach(async () => {
    await stopApps();
    await closeDispatcher();
  });

  it('J1: produceSync resolves after the ack with topic, partition and offset', async () => {
    const topic = await createTopic(unique('j1'), 3);
    class Ping extends Job<[n: number]> {
      static override options = { topic, dispatchMethod: 'produceSync' as const, partitioner: (job: Job<any[]>) => `k${job.arguments[0]}` };
      perform() {}
    }
    const results = [];
    for (let n = 0; n < 5; n += 1) results.push(await Ping.performLater(n));
    for (const result of results) {
      expect(result.topic).to.equal(topic);
      expect(result.partition).to.be.a('number');
      expect(result.offset).to.be.a('number');
    }
    expect(dispatcher.buffered).to.equal(0);
    const onTopic = await readAll(topic, 5);
    for (const result of results) {
      const found = onTopic.find((m) => m.partition === result.partition && m.offset === result.offset);
      expect(found?.headers['job-id'], `job ${result.jobId} at ${result.partition}@${result.offset}`).to.equal(result.jobId);
    }
  });

  it('J2: produceAsync resolves before delivery; close() delivers all 10 000 buffered jobs', async () => {
    const topic = await createTopic(unique('j2'), 4);
    class Bulk extends Job<[n: number]> {
      static override options = { topic };
      perform() {}
    }
    let sentRequests = 0;
    dispatcher.on('delivery.sent', () => (sentRequests += 1));
    const enqueued = await Promise.all(Array.from({ length: 10_000 }, (_, n) => Bulk.performLater(n)));
    expect(enqueued.every((e) => e.offset === undefined)).to.equal(true);
    expect(dispatcher.buffered, 'some jobs are still only buffered when performLater resolved').to.be.greaterThan(0);
    await closeDispatcher();
    const ends = await endOffsets(topic);
    expect([...ends.values()].reduce((a, b) => a + b, 0)).to.equal(10_000);
    expect(sentRequests).to.be.lessThan(100);
  });

  it('J2: SIGTERM to a script drains what it buffered before exiting', async () => {
    const topic = await createTopic(unique('j2-signal'), 2);
    const script = fileURLToPath(new URL('../support/enqueue-and-wait.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, topic, '5000'], {
      env: { ...process.env, KAFKA_BROKERS: testBrokers().join(',') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes('buffered'), { timeoutMs: 60_000, what: 'the script to enqueue' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
    expect(output).to.match(/buffered \d+/);
    const ends = await endOffsets(topic);
    expect([...ends.values()].reduce((a, b) => a + b, 0)).to.equal(5000);
  });

  it('J3: performAllLater of 1 000 jobs sends batches, not 1 000 requests', async () => {
    const topic = await createTopic(unique('j3'), 2);
    class Many extends Job<[n: number]> {
      static override options = { topic, dispatchManyMethod: 'produceManySync' as const };
      perform() {}
    }
    let requests = 0;
    dispatcher.on('delivery.sent', () => (requests += 1));
    const results = await Job.performAllLater(Array.from({ length: 1000 }, (_, n) => new Many(n)));
    expect(results).to.have.length(1000);
    expect(results.every((r) => typeof r.offset === 'number')).to.equal(true);
    expect(requests).to.be.at.most(2);
    const ends = await endOffsets(topic);
    expect([...ends.values()].reduce((a, b) => a + b, 0)).to.equal(1000);
  });

  it('J4: Date, Map, Set, BigInt, nested objects and undefined arrive equal in perform', async () => {
    const topic = await createTopic(unique('j4'), 1);
    const received: unknown[][] = [];
    class Typed extends Job<[Date, Map<string, number>, Set<string>, bigint, { nested: { at: Date; missing: undefined; list: unknown[] } }, undefined]> {
      static override options = { topic };
      perform(...args: unknown[]) {
        received.push(args);
      }
    }
    const args = [
      new Date('2026-01-02T03:04:05.678Z'),
      new Map([['a', 1], ['b', 2]]),
      new Set(['x', 'y']),
      12345678901234567890n,
      { nested: { at: new Date(0), missing: undefined, list: [1, undefined, 'z'] } },
      undefined,
    ] as const;
    await Typed.performLater(...(args as unknown as [Date, Map<string, number>, Set<string>, bigint, { nested: { at: Date; missing: undefined; list: unknown[] } }, undefined]));
    await closeDispatcher();
    const app = testApp({ jobs: [Typed] }).routes((r) => r.activeJobTopic(topic));
    await app.run();
    await waitFor(() => received.length === 1, { what: 'the job to run' });
    expect(received[0]).to.deep.equal([...args]);
    expect(received[0]![3]).to.be.a('bigint');
    expect(received[0]![1]).to.be.instanceOf(Map);
  });

  it('J5: the partitioner result is the message key and the job-key header; one key, one partition', async () => {
    const topic = await createTopic(unique('j5'), 6);
    class Keyed extends Job<[user: string, n: number]> {
      static override options = { topic, dispatchMethod: 'produceSync' as const, partitioner: (job: Job<any[]>) => `user:${job.arguments[0]}` };
      perform() {}
    }
    const a = await Keyed.performLater('ada', 1);
    const b = await Keyed.performLater('ada', 2);
    const others = await Promise.all(Array.from({ length: 20 }, (_, i) => Keyed.performLater(`u${i}`, i)));
    expect(a.key).to.equal('user:ada');
    expect(a.partition).to.equal(b.partition);
    expect(new Set(others.map((o) => o.partition)).size, 'different keys spread over partitions').to.be.greaterThan(1);
    const onTopic = await readAll(topic, 22);
    const adas = onTopic.filter((m) => m.key === 'user:ada');
    expect(adas).to.have.length(2);
    for (const m of adas) {
      expect(m.headers['job-key']).to.equal('user:ada');
      expect(m.partition).to.equal(a.partition);
    }
  });

  it('J7: an unregistered job-class is never imported; it fails with a clear error naming where it was', async () => {
    const topic = await createTopic(unique('j7'), 1);
    const flagModule = new URL('../support/import-side-effect.ts', import.meta.url).href;
    (globalThis as { __partitaImported?: boolean }).__partitaImported = false;
    const encoded = encodeEnvelope(
      { job_class: flagModule, job_id: 'evil-1', queue_name: topic, arguments: [], executions: 0, exception_executions: {}, enqueued_at: new Date().toISOString() },
      undefined,
    );
    const producer = rawKafka().producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: null, value: encoded.value, headers: encoded.headers }] });
    await producer.disconnect();
    class Known extends Job<[]> {
      perform() {}
    }
    const app = testApp({ jobs: [Known] }).routes((r) => r.activeJobTopic(topic));
    const errors: { error: Error; topic?: string; partition?: number; offset?: number; kind?: string }[] = [];
    app.on('error', (e) => errors.push(e));
    await app.run();
    await waitFor(() => errors.length > 0, { what: 'an error event' });
    expect(errors[0]!.error).to.be.instanceOf(UnknownJobClassError);
    expect(errors[0]).to.include({ topic, partition: 0, offset: 0, kind: 'unknown-job-class' });
    expect(errors[0]!.error.message).to.contain(`${topic}/0@0`).and.contain('Known');
    expect((globalThis as { __partitaImported?: boolean }).__partitaImported).to.equal(false);
  });
});
