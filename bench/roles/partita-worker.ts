/** One Partita worker consuming a job topic until it has performed `expected` jobs. */
import { createApp } from '../../lib/index.ts';
import { benchJob, type Perform } from '../jobs.ts';
import { now, sleep, summarize, throughput, waitUntil, type LatencySummary, type Throughput } from '../support/stats.ts';

/** What a worker does per job: nothing, await `jobMs`, or record enqueue → perform-start latency. */
export type Work = 'noop' | 'sleep' | 'latency';

export interface WorkerSpec {
  brokers: string[];
  topic: string;
  groupId: string;
  keys: number;
  expected: number;
  work: Work;
  jobMs: number;
  /** Latency is recorded for jobs numbered from here on (earlier ones are the warm-up). */
  latencyFrom: number;
  /** Give up (and report what was done) after this many ms. */
  deadlineMs: number;
}

export interface PartitaWorkerSpec extends WorkerSpec {
  lanes: number;
  /**
   * The operations surface: `off` (reports off, no metrics), `on` (reports every 5 s, Prometheus
   * metrics collected, tracing through the API with no SDK: what an app gets by default plus
   * metrics), `on+sdk` (the same with an OpenTelemetry SDK recording a span per job). Unset: the
   * app's defaults (reports on, metrics off).
   */
  operations?: 'off' | 'on' | 'on+sdk';
}

/** An OpenTelemetry SDK that records every span and exports none: the cost of tracing itself. */
async function installRecordingSdk(): Promise<void> {
  const [{ context, propagation, trace }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { BasicTracerProvider, NoopSpanProcessor }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace-base'),
  ]);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new NoopSpanProcessor()] }));
}

/** Jobs done from joining the group (the first fetch included) to the last job; errors seen; latency when measured. */
export interface WorkerResult extends Throughput {
  /** False when the deadline passed first (the figures then cover what was done). */
  finished: boolean;
  errors: number;
  latency?: LatencySummary;
}

/** A per-job function for `work`, and the latencies it records. */
function workFor(spec: WorkerSpec): { perform: Perform; latencies: number[] } {
  const latencies: number[] = [];
  const perform: Perform =
    spec.work === 'sleep'
      ? () => sleep(spec.jobMs)
      : spec.work === 'latency'
        ? (n, sentAt) => {
            if (n >= spec.latencyFrom) latencies.push(now() - sentAt);
          }
        : () => undefined;
  return { perform, latencies };
}

export async function partitaWorker(spec: PartitaWorkerSpec, ready: () => void): Promise<WorkerResult> {
  const { perform, latencies } = workFor(spec);
  if (spec.operations === 'on+sdk') await installRecordingSdk();
  const operations = spec.operations === undefined ? {} : spec.operations === 'off' ? { reports: false as const } : { metrics: true };
  const app = createApp({
    ...operations,
    clientId: 'bench-partita-worker',
    groupId: spec.groupId,
    kafka: { brokers: spec.brokers, logLevel: 'nothing' },
    jobs: [benchJob(spec.topic, spec.keys, perform)],
  }).routes((r) =>
    r.activeJobTopic(spec.topic, (t) => t.virtualPartitions({ partitioner: (m) => m.headers['job-key'], maxPartitions: spec.lanes })),
  );
  let lastAt = 0;
  let performed = 0;
  let errors = 0;
  app.on('job.performed', () => {
    performed += 1;
    if (performed === spec.expected) lastAt = now();
  });
  app.on('error', () => (errors += 1));
  await app.run();
  const startedAt = now();
  ready();
  const finished = await waitUntil(() => performed >= spec.expected, Date.now() + spec.deadlineMs);
  const end = finished ? lastAt : now();
  await app.stop();
  return { finished, ...throughput(finished ? spec.expected : performed, startedAt, end), errors, ...(spec.work === 'latency' ? { latency: summarize(latencies) } : {}) };
}
