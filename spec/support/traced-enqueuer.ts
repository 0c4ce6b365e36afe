// The enqueuing process of the tracing spec: with an OpenTelemetry SDK of its own, it enqueues one
// job inside a root span "checkout", then prints the spans it recorded as one JSON line.
//   traced-enqueuer.ts <topic> <key>
import { writeSync } from 'node:fs';
import { trace } from '@opentelemetry/api';
import { closeDispatcher, configure } from '../../lib/dispatch/default-dispatcher.ts';
import { Job } from '../../lib/job/job.ts';
import { installTracing } from './tracing.ts';

const [topic = 'unused', key = 'k'] = process.argv.slice(2);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

class TracedJob extends Job<[key: string]> {
  static override options = { topic, partitioner: (job: Job<any[]>) => String(job.arguments[0]) };
  perform() {}
}

const { exporter, uninstall } = installTracing();
await configure({ kafka: { brokers, logLevel: 'nothing' }, handleSignals: false });
const enqueued = await trace.getTracer('checkout').startActiveSpan('checkout', async (span) => {
  try {
    return await TracedJob.set({ dispatchMethod: 'produceSync' }).performLater(key);
  } finally {
    span.end();
  }
});
await closeDispatcher();
const spans = exporter.getFinishedSpans().map((span) => ({
  name: span.name,
  kind: span.kind,
  traceId: span.spanContext().traceId,
  spanId: span.spanContext().spanId,
  parentSpanId: span.parentSpanContext?.spanId ?? null,
  attributes: span.attributes,
}));
writeSync(1, `${JSON.stringify({ jobId: enqueued.jobId, partition: enqueued.partition, offset: enqueued.offset, spans })}\n`);
await uninstall();
