import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SpanKind } from '@opentelemetry/api';
import { expect } from 'chai';
import { Job } from '../../lib/job/job.ts';
import { stopApps, testApp } from '../support/app.ts';
import { createTopic, readAll, testBrokers, unique, waitFor } from '../support/kafka.ts';
import { installTracing } from '../support/tracing.ts';

const tsx = createRequire(import.meta.url).resolve('tsx');
const ENQUEUER = fileURLToPath(new URL('../support/traced-enqueuer.ts', import.meta.url));

interface ChildSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  attributes: Record<string, unknown>;
}

describe('OpenTelemetry tracing (broker)', function () {
  let tracing: ReturnType<typeof installTracing> | undefined;

  afterEach(async () => {
    await stopApps();
    await tracing?.uninstall();
    tracing = undefined;
  });

  it('continues the enqueuing process\'s trace in the worker\'s job span, with messaging attributes', async () => {
    const topic = await createTopic(unique('traced'), 2);
    const key = unique('customer');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', tsx, ENQUEUER, topic, key], {
      env: { ...process.env, KAFKA_BROKERS: testBrokers().join(',') },
      timeout: 60_000,
    });
    const enqueued = JSON.parse(stdout.trim().split('\n').at(-1)!) as { jobId: string; partition: number; offset: number; spans: ChildSpan[] };
    const checkout = enqueued.spans.find((span) => span.name === 'checkout')!;
    const send = enqueued.spans.find((span) => span.name === `send ${topic}`)!;
    expect(send, 'the producer span').to.not.equal(undefined);
    expect(send).to.include({ kind: SpanKind.PRODUCER, traceId: checkout.traceId, parentSpanId: checkout.spanId });
    expect(send.attributes).to.include({ 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'partita.job.class': 'TracedJob', 'partita.job.id': enqueued.jobId });
    const [record] = await readAll(topic, 1);
    expect(record!.headers.traceparent).to.equal(`00-${send.traceId}-${send.spanId}-01`);

    tracing = installTracing();
    const { exporter } = tracing;
    let performedIn: string | undefined;
    class TracedJob extends Job<[key: string]> {
      static override options = { topic };
      perform() {
        performedIn = this.jobId;
      }
    }
    const app = testApp({ jobs: [TracedJob], reports: false }).routes((r) => r.activeJobTopic(topic));
    await app.run();
    await waitFor(() => exporter.getFinishedSpans().some((span) => span.name === `process ${topic}`), { what: 'the job span' });
    expect(performedIn).to.equal(enqueued.jobId);
    const process_ = exporter.getFinishedSpans().find((span) => span.name === `process ${topic}`)!;
    expect(process_.kind).to.equal(SpanKind.CONSUMER);
    expect(process_.spanContext().traceId, 'the same trace as the enqueuer').to.equal(checkout.traceId);
    expect(process_.parentSpanContext?.spanId, 'a child of the producer span').to.equal(send.spanId);
    expect(process_.attributes).to.deep.include({
      'messaging.system': 'kafka',
      'messaging.destination.name': topic,
      'messaging.operation.type': 'process',
      'messaging.destination.partition.id': String(enqueued.partition),
      'messaging.kafka.offset': enqueued.offset,
      'messaging.kafka.message.key': key,
      'messaging.consumer.group.name': app.groupId,
      'partita.job.class': 'TracedJob',
      'partita.job.id': enqueued.jobId,
    });
  });

  it('marks the job span as failed with the exception when perform throws', async () => {
    tracing = installTracing();
    const { exporter } = tracing;
    const topic = await createTopic(unique('traced-fail'), 1);
    class FailingTraced extends Job<[]> {
      static override options = { topic };
      perform() {
        throw new RangeError('traced failure');
      }
    }
    const app = testApp({ jobs: [FailingTraced], reports: false }).routes((r) => r.activeJobTopic(topic, (t) => t.deadLetterQueue({ topic: `${topic}.dlq`, maxRetries: 0 })));
    await app.run();
    await FailingTraced.set({ dispatchMethod: 'produceSync' }).performLater();
    await waitFor(() => exporter.getFinishedSpans().some((span) => span.name === `process ${topic}`), { what: 'the failed job span' });
    const failed = exporter.getFinishedSpans().find((span) => span.name === `process ${topic}`)!;
    expect(failed.status).to.deep.include({ code: 2, message: 'traced failure' });
    expect(failed.events.map((event) => event.name)).to.include('exception');
    const send = exporter.getFinishedSpans().find((span) => span.name === `send ${topic}`)!;
    expect(failed.parentSpanContext?.spanId).to.equal(send.spanContext().spanId);
  });
});
