import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { partitionKey } from '../consume/assignment.ts';
import type { PartitionLoad } from '../consume/worker.ts';
import type { WorkerEmitter, WorkerEvents } from '../consume/worker-events.ts';
import { InvalidOptionError } from '../errors.ts';
import { refuseUnknownOptions } from '../validation.ts';

/** `createApp({ metrics })`: Prometheus metrics of the app, optionally served on their own port. */
export interface MetricsOptions {
  /**
   * Port of the app's own `/metrics` server; `0` picks a free one (see `app.metrics.url`).
   * Without it nothing listens: mount `app.metrics.handler` in your own http server.
   */
  port?: number;
  /**
   * Address the `/metrics` server binds to.
   * @defaultValue `'127.0.0.1'`
   */
  host?: string;
  /**
   * Also collect prom-client's default process metrics (CPU, memory, event loop, GC) in the same registry.
   * @defaultValue true
   */
  processMetrics?: boolean;
}

const METRICS_OPTIONS = { port: true, host: true, processMetrics: true } satisfies Record<keyof MetricsOptions, true>;

/** Checks `createApp({ metrics })`; `undefined` when metrics are off. */
export function resolveMetricsOptions(option: string, value: MetricsOptions | boolean | undefined): MetricsOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  if (value === null || typeof value !== 'object') throw new InvalidOptionError(option, `expected true, false or { port, host }, got ${String(value)}`);
  refuseUnknownOptions(option, value, Object.keys(METRICS_OPTIONS));
  if (value.port !== undefined && (!Number.isInteger(value.port) || value.port < 0 || value.port > 65_535)) {
    throw new InvalidOptionError(`${option}.port`, `expected a port number from 0 to 65535, got ${String(value.port)}`);
  }
  if (value.host !== undefined && (typeof value.host !== 'string' || value.host.length === 0)) {
    throw new InvalidOptionError(`${option}.host`, `expected an address such as "127.0.0.1", got ${JSON.stringify(value.host)}`);
  }
  return value;
}

/** Seconds buckets of the job duration histogram. */
const JOB_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Seconds buckets of the commit latency histogram. */
const COMMIT_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The app's Prometheus metrics, in a registry of its own (two apps in one process do not collide),
 * fed by the worker's events. Names start with `partita_`; labels `job_class` and `topic` (and
 * `partition` for partition gauges).
 */
export class PartitaMetrics {
  /** The prom-client registry holding every metric of the app (register your own in it if you like). */
  readonly registry: Registry;
  readonly #options: MetricsOptions;
  readonly #detach: () => void;
  #server: Server | undefined;
  #url: string | undefined;

  constructor(events: WorkerEmitter, loads: () => PartitionLoad[], options: MetricsOptions = {}) {
    this.#options = options;
    const registry = new Registry();
    this.registry = registry;
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
    const jobLabels = ['job_class', 'topic'] as const;
    const performed = new Counter({ name: 'partita_jobs_performed_total', help: 'Jobs that finished without error.', labelNames: jobLabels, registers: [registry] });
    const failed = new Counter({ name: 'partita_jobs_failed_total', help: 'Failed job executions (each attempt; revocations excluded).', labelNames: jobLabels, registers: [registry] });
    const retried = new Counter({
      name: 'partita_jobs_retried_total',
      help: 'Jobs run again after a failure (in place) or re-enqueued by retryOn with a wait.',
      labelNames: jobLabels,
      registers: [registry],
    });
    const deadLettered = new Counter({ name: 'partita_jobs_dead_lettered_total', help: 'Messages sent to a dead-letter topic.', labelNames: jobLabels, registers: [registry] });
    const discarded = new Counter({ name: 'partita_jobs_discarded_total', help: 'Jobs dropped by discardOn.', labelNames: jobLabels, registers: [registry] });
    const duration = new Histogram({
      name: 'partita_job_duration_seconds',
      help: 'Time perform() took, for jobs that finished without error.',
      labelNames: jobLabels,
      buckets: JOB_SECONDS_BUCKETS,
      registers: [registry],
    });
    const commitLatency = new Histogram({
      name: 'partita_commit_latency_seconds',
      help: 'Time the broker took to accept an offset commit.',
      buckets: COMMIT_SECONDS_BUCKETS,
      registers: [registry],
    });
    const highWatermarks = new Map<string, { topic: string; partition: number; high: number; committed: number | undefined }>();
    const partitionLabels = ['topic', 'partition'] as const;
    new Gauge({
      name: 'partita_partition_lag',
      help: 'Messages between the committed offset and the end offset seen at the last fetch, per assigned partition.',
      labelNames: partitionLabels,
      registers: [registry],
      collect() {
        this.reset();
        for (const { topic, partition, high, committed } of highWatermarks.values()) {
          if (committed !== undefined) this.set({ topic, partition: String(partition) }, Math.max(0, high - committed));
        }
      },
    });
    new Gauge({
      name: 'partita_lanes_busy',
      help: 'Lanes running now, per assigned partition.',
      labelNames: partitionLabels,
      registers: [registry],
      collect() {
        this.reset();
        for (const load of loads()) this.set({ topic: load.topic, partition: String(load.partition) }, load.runningLanes);
      },
    });
    new Gauge({
      name: 'partita_buffered_messages',
      help: 'Messages fetched and waiting to start, per assigned partition.',
      labelNames: partitionLabels,
      registers: [registry],
      collect() {
        this.reset();
        for (const load of loads()) this.set({ topic: load.topic, partition: String(load.partition) }, load.buffered);
      },
    });

    /** Job class of failed messages (for the dead letter and the retry that follow), by offset. */
    const failedClass = new Map<string, string>();
    const at = (topic: string, partition: number, offset: number) => `${partitionKey(topic, partition)}@${offset}`;
    const labels = (jobClass: string | undefined, topic: string) => ({ job_class: jobClass ?? '(unknown)', topic });
    const forget = (topic: string, partition: number) => {
      highWatermarks.delete(partitionKey(topic, partition));
    };
    const listeners = [
      on(events, 'partition.fetched', ({ topic, partition, highWatermark }) => {
        const key = partitionKey(topic, partition);
        const known = highWatermarks.get(key);
        if (known) known.high = highWatermark;
        else highWatermarks.set(key, { topic, partition, high: highWatermark, committed: undefined });
      }),
      on(events, 'batch.started', ({ topic, partition, firstOffset }) => {
        const known = highWatermarks.get(partitionKey(topic, partition));
        if (known && known.committed === undefined) known.committed = firstOffset;
      }),
      on(events, 'batch.committed', ({ offsets, durationMs }) => {
        commitLatency.observe(durationMs / 1000);
        for (const { topic, partition, offset } of offsets) {
          const known = highWatermarks.get(partitionKey(topic, partition));
          if (known) known.committed = offset;
        }
      }),
      on(events, 'partition.revoked', ({ topic, partition }) => forget(topic, partition)),
      on(events, 'group.rebalanced', ({ revoked }) => revoked.forEach(({ topic, partition }) => forget(topic, partition))),
      on(events, 'worker.stopped', () => highWatermarks.clear()),
      on(events, 'job.started', ({ topic, partition, offset, jobClass }) => {
        if (failedClass.has(at(topic, partition, offset))) retried.inc(labels(jobClass, topic));
      }),
      on(events, 'job.performed', ({ topic, partition, offset, jobClass, startedAt, finishedAt }) => {
        failedClass.delete(at(topic, partition, offset));
        performed.inc(labels(jobClass, topic));
        duration.observe(labels(jobClass, topic), (finishedAt - startedAt) / 1000);
      }),
      on(events, 'job.failed', ({ topic, partition, offset, jobClass, revoked }) => {
        if (revoked) return;
        failed.inc(labels(jobClass, topic));
        const key = at(topic, partition, offset);
        failedClass.delete(key);
        failedClass.set(key, jobClass ?? '(unknown)');
        if (failedClass.size > 10_000) failedClass.delete(failedClass.keys().next().value!);
      }),
      on(events, 'job.discarded', ({ topic, jobClass }) => discarded.inc(labels(jobClass, topic))),
      on(events, 'job.scheduled', ({ topic, jobClass, reason }) => {
        if (reason === 'retry') retried.inc(labels(jobClass, topic));
      }),
      on(events, 'message.dead-lettered', ({ topic, partition, offset }) => {
        const key = at(topic, partition, offset);
        deadLettered.inc(labels(failedClass.get(key), topic));
        failedClass.delete(key);
      }),
    ];
    this.#detach = () => listeners.forEach((detach) => detach());
  }

  /**
   * A Node http handler answering with the metrics in Prometheus's text format: mount it in an
   * existing server (`app.get('/metrics', app.metrics.handler)` in Express, or call it from
   * `http.createServer`).
   */
  readonly handler = (_request: IncomingMessage, response: ServerResponse): void => {
    this.registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': this.registry.contentType });
        response.end(text);
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`partita metrics failed: ${String(error)}\n`);
      },
    );
  };

  /** `http://host:port/metrics` of the app's own server once it listens; undefined otherwise. */
  get url(): string | undefined {
    return this.#url;
  }

  /** Starts the `/metrics` server when a port was given; resolves once it listens. */
  async listen(): Promise<void> {
    if (this.#options.port === undefined || this.#server) return;
    const host = this.#options.host ?? '127.0.0.1';
    const server = createServer((request, response) => {
      if (request.method === 'GET' && (request.url ?? '/').split('?')[0] === '/metrics') return this.handler(request, response);
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('not found: partita serves /metrics\n');
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port, host, () => resolve());
    });
    server.unref();
    const { port } = server.address() as AddressInfo;
    this.#url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
  }

  /** Stops listening to events and closes the server. */
  async close(): Promise<void> {
    this.#detach();
    const server = this.#server;
    this.#server = undefined;
    this.#url = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Listens to one worker event; returns what stops listening. */
function on<K extends keyof WorkerEvents & string>(events: WorkerEmitter, event: K, handler: (payload: WorkerEvents[K]) => void): () => void {
  events.on(event, handler);
  return () => events.off(event, handler);
}
