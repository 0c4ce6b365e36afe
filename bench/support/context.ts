/** What the workloads share in one run: settings, the broker, results so far, and the rows. */
import { benchJob, rawJobMessage } from '../jobs.ts';
import type { RoleName, RoleResults, RoleSpecs } from '../roles/index.ts';
import type { WorkerResult } from '../roles/partita-worker.ts';
import type { BenchSettings } from '../settings.ts';
import { runChild, startChild, type ChildHandle, type ChildOutcome } from './child.ts';
import type { ChartSeries } from './charts.ts';
import type { BenchKafka } from './kafka.ts';
import { filler, messageBytes } from './payload.ts';
import type { Throughput } from './stats.ts';
import { row, type Figure, type Row } from './table.ts';

/** Partita figures that later workloads compare against other baselines. */
export interface PartitaFigures {
  enqueueAsync?: ChildOutcome<Throughput>;
  enqueueAll?: ChildOutcome<Throughput>;
  consume?: ChildOutcome<WorkerResult>;
  /** IO-bound runs by lane count, `consistent` distribution. */
  io: Map<number, ChildOutcome<WorkerResult>>;
  /** IO-bound runs by lane count, `balanced` distribution. */
  ioBalanced: Map<number, ChildOutcome<WorkerResult>>;
}

export class BenchContext {
  readonly settings: BenchSettings;
  readonly kafka: BenchKafka;
  readonly rows: Row[] = [];
  readonly errors: string[] = [];
  readonly partita: PartitaFigures = { io: new Map(), ioBalanced: new Map() };
  /** What the charts draw beyond the rows (latency distributions, speedup curves). */
  readonly series: ChartSeries = { latency: [], ioSpeedup: [] };
  /** Every child outcome, by label, for the JSON results. */
  readonly outcomes: Record<string, ChildOutcome<unknown>> = {};
  /** Versions of what was measured (Kafka, Redis, clients), for the results. */
  readonly versions: Record<string, string> = {};
  /** Bytes of one job message (key + value + headers); every topic name of a run has this length. */
  readonly messageBytes: number;

  constructor(settings: BenchSettings, kafka: BenchKafka) {
    this.settings = settings;
    this.kafka = kafka;
    const topic = kafka.topicName('consume');
    this.messageBytes = messageBytes(rawJobMessage(benchJob(topic, settings.keys), settings.keys, [0, 0, filler(settings.payloadChars)]));
  }

  /** Runs a role in a child process; logs its figure, or the error (then resolves undefined). */
  run<R extends RoleName>(label: string, role: R, spec: RoleSpecs[R], timeoutMs = this.settings.childTimeoutMs): Promise<ChildOutcome<RoleResults[R]> | undefined> {
    return this.settle(label, runChild(role, spec, timeoutMs));
  }

  /** Starts a role whose readiness the caller waits for (a worker before its producer). */
  start<R extends RoleName>(role: R, spec: RoleSpecs[R], timeoutMs = this.settings.childTimeoutMs): ChildHandle<RoleResults[R]> {
    return startChild(role, spec, timeoutMs);
  }

  /** Waits for a child's outcome, recording it or its failure. */
  async settle<T>(label: string, done: Promise<ChildOutcome<T>>): Promise<ChildOutcome<T> | undefined> {
    try {
      const outcome = await done;
      this.outcomes[label] = outcome;
      console.log(`  ${label}: ${describe(outcome)}`);
      if ((outcome.result as Partial<WorkerResult>).finished === false) this.errors.push(`${label}: deadline passed before every job ran`);
      return outcome;
    } catch (error) {
      this.fail(label, error);
      return undefined;
    }
  }

  fail(label: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.errors.push(`${label}: ${message}`);
    console.log(`  ${label}: FAILED ${message}`);
  }

  add(fields: Omit<Row, 'ratio'>): void {
    this.rows.push(row(fields));
  }
}

/** The throughput figure of an outcome (jobs or messages per second). */
export function rate(outcome: ChildOutcome<Throughput> | undefined): Figure | null {
  return outcome ? { value: outcome.result.perSecond, peakRssMb: outcome.peakRssBytes / 2 ** 20 } : null;
}

function describe(outcome: ChildOutcome<unknown>): string {
  const result = outcome.result as Partial<WorkerResult>;
  const parts: string[] = [];
  if (result.perSecond !== undefined) parts.push(`${Math.round(result.perSecond)}/s (${result.count} in ${result.seconds?.toFixed(2)} s)`);
  if (result.latency) parts.push(`latency p50 ${result.latency.p50.toFixed(1)} p99 ${result.latency.p99.toFixed(1)} max ${result.latency.max.toFixed(1)} ms`);
  if (result.errors) parts.push(`${result.errors} errors`);
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  const { heapTotal, heapUsed, external, arrayBuffers } = outcome.peakMemory;
  parts.push(`peak RSS ${mb(outcome.peakRssBytes)} MB (heap ${mb(heapUsed)} used / ${mb(heapTotal)} reserved, external ${mb(external)} of which buffers ${mb(arrayBuffers)}), CPU ${(outcome.cpuMs / 1000).toFixed(1)} s`);
  return parts.join(', ');
}
