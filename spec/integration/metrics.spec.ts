import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { closeDispatcher, configure } from '../../lib/dispatch/default-dispatcher.ts';
import { Job } from '../../lib/job/job.ts';
import { stopApps, testApp } from '../support/app.ts';
import { createTopic, testBrokers, unique, waitFor } from '../support/kafka.ts';

/** The value of one sample line `name{labels} value` of Prometheus's text format (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',');
    if (wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return 0;
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).to.equal(200);
  expect(response.headers.get('content-type')).to.contain('text/plain');
  return response.text();
}

describe('Prometheus metrics (broker)', function () {
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
    await stopApps();
    await closeDispatcher();
  });

  it('serves /metrics on 127.0.0.1 whose counts match what ran', async () => {
    const topic = await createTopic(unique('metrics'), 2);
    let runs = 0;
    class Counted extends Job<[n: number]> {
      static override options = { topic };
      async perform(n: number) {
        runs += 1;
        await new Promise((resolve) => setTimeout(resolve, n));
      }
    }
    class Broken extends Job<[]> {
      static override options = { topic };
      async perform() {
        throw new Error('broken on purpose');
      }
    }
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    const app = testApp({ jobs: [Counted, Broken], reports: false, metrics: { port: 0 } }).routes((r) =>
      r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: `${topic}.dlq`, maxRetries: 1 })),
    );
    await app.run();
    expect(app.metrics!.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    for (let i = 0; i < 7; i += 1) await Counted.set({ dispatchMethod: 'produceSync' }).performLater(i);
    await Broken.set({ dispatchMethod: 'produceSync' }).performLater();
    const jobs = { topic };
    await waitFor(async () => sample(await scrape(app.metrics!.url!), 'partita_jobs_dead_lettered_total', { job_class: 'Broken', ...jobs }) === 1, {
      what: 'the dead letter in /metrics',
    });
    await waitFor(async () => sample(await scrape(app.metrics!.url!), 'partita_jobs_performed_total', { job_class: 'Counted', ...jobs }) === 7, { what: '7 performed in /metrics' });
    const text = await scrape(app.metrics!.url!);
    expect(runs).to.equal(7);
    expect(sample(text, 'partita_job_duration_seconds_count', { job_class: 'Counted', ...jobs })).to.equal(7);
    expect(sample(text, 'partita_jobs_failed_total', { job_class: 'Broken', ...jobs })).to.equal(2);
    expect(sample(text, 'partita_jobs_retried_total', { job_class: 'Broken', ...jobs })).to.equal(1);
    expect(sample(text, 'partita_jobs_failed_total', { job_class: 'Counted', ...jobs })).to.equal(0);
    expect(text).to.match(/^partita_lanes_busy\{topic="[^"]+",partition="\d"\} \d+$/m);
    expect(text).to.match(/^partita_buffered_messages\{/m);
    expect(text).to.contain('process_cpu_user_seconds_total');
    await waitFor(async () => sample(await scrape(app.metrics!.url!), 'partita_commit_latency_seconds_count') > 0, { what: 'a commit latency sample' });
    await waitFor(
      async () => {
        const now = await scrape(app.metrics!.url!);
        return [0, 1].every((partition) => now.includes(`partita_partition_lag{topic="${topic}",partition="${partition}"} 0`));
      },
      { what: 'lag 0 on both partitions once everything is committed' },
    );
    expect((await fetch(app.metrics!.url!.replace('/metrics', '/other'))).status).to.equal(404);
  });

  it('gives a handler that mounts in an existing http server', async () => {
    const topic = await createTopic(unique('metrics-handler'), 1);
    class Mounted extends Job<[]> {
      static override options = { topic };
      async perform() {}
    }
    await configure({ kafka: { brokers: testBrokers(), logLevel: 'nothing' }, handleSignals: false });
    const app = testApp({ jobs: [Mounted], reports: false, metrics: { processMetrics: false } }).routes((r) => r.activeJobTopic(topic));
    expect(app.metrics!.url).to.equal(undefined);
    server = createServer((request, response) => (request.url === '/ops/metrics' ? app.metrics!.handler(request, response) : response.end('app')));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ops/metrics`;
    await app.run();
    await Mounted.set({ dispatchMethod: 'produceSync' }).performLater();
    await waitFor(async () => sample(await scrape(url), 'partita_jobs_performed_total', { job_class: 'Mounted', topic }) === 1, { what: 'the job in the mounted handler' });
    expect(await scrape(url)).not.to.contain('process_cpu_user_seconds_total');
  });
});
