/** One Partita worker consuming a job topic until it has performed `expected` jobs. */
import { createApp, type VirtualPartitionsOptions } from '../../lib/index.ts';
import { benchJob, type Perform } from '../jobs.ts';
import type { RoleControl } from './index.ts';
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
  /** How keys are spread over the lanes. Unset: the route's default (`consistent`). */
  distribution?: VirtualPartitionsOptions['distribution'];
  /**
   * Consume every topic matching this regular expression (its source) through one `r.pattern`
   * route, instead of `topic` through `activeJobTopic`.
   */
  pattern?: string;
  /**
   * The worker is one of several children in the same group: `expected` is the group's total, the
   * worker reports its count to the parent every 50 ms and runs until the parent says stop.
   */
  shared?: boolean;
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
  /** Epoch ms when the worker had joined its group (the clock's start). */
  startedAt: number;
  /** Epoch ms when its last counted job finished (the clock's end). */
  lastAt: number;
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

const PROGRESS_INTERVAL_MS = 50;

export async function partitaWorker(spec: PartitaWorkerSpec, ready: () => void, control: RoleControl): Promise<WorkerResult> {
  const { perform, latencies } = workFor(spec);
  if (spec.operations === 'on+sdk') await installRecordingSdk();
  const operations = spec.operations === undefined ? {} : spec.operations === 'off' ? { reports: false as const } : { metrics: true };
  const lanes: VirtualPartitionsOptions = { partitioner: (m) => m.headers['job-key'], maxPartitions: spec.lanes, ...(spec.distribution ? { distribution: spec.distribution } : {}) };
  const app = createApp({
    ...operations,
    clientId: 'bench-partita-worker',
    groupId: spec.groupId,
    kafka: { brokers: spec.brokers, logLevel: 'nothing' },
    jobs: [benchJob(spec.topic, spec.keys, perform)],
  }).routes((r) =>
    spec.pattern === undefined
      ? r.activeJobTopic(spec.topic, (t) => t.virtualPartitions(lanes))
      : r.pattern(new RegExp(spec.pattern), (t) => t.virtualPartitions(lanes)),
  );
  let lastAt = 0;
  let performed = 0;
  let errors = 0;
  app.on(
    'job.performed',
    spec.shared
      ? () => {
          performed += 1;
          lastAt = now();
        }
      : () => {
          performed += 1;
          if (performed === spec.expected) lastAt = now();
        },
  );
  app.on('error', () => (errors += 1));
  await app.run();
  const startedAt = now();
  ready();
  const deadline = Date.now() + spec.deadlineMs;
  let finished: boolean;
  if (spec.shared) {
    const reporter = setInterval(() => control.progress(performed), PROGRESS_INTERVAL_MS);
    let stopped = false;
    void control.stopped.then(() => (stopped = true));
    finished = await waitUntil(() => stopped, deadline);
    clearInterval(reporter);
  } else {
    finished = await waitUntil(() => performed >= spec.expected, deadline);
  }
  const end = finished && lastAt > 0 ? lastAt : now();
  await app.stop();
  const count = spec.shared || !finished ? performed : spec.expected;
  return { finished, startedAt, lastAt: end, ...throughput(count, startedAt, end), errors, ...(spec.work === 'latency' ? { latency: summarize(latencies) } : {}) };
}
