import { hostname } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import type { PartitionLoad } from '../consume/worker.ts';
import type { JobStartedEvent, WorkerEmitter, WorkerEvents } from '../consume/worker-events.ts';
import { partitionKey } from '../consume/assignment.ts';
import { DURATION_BUCKETS_MS, REPORT_SCHEMA, type ErrorReport, type JobClassStats, type PartitionReport, type ProcessReport, type RunningJobReport, type WorkerReport } from './report.ts';

/** Errors kept in one report. */
const ERRORS_PER_REPORT = 20;
/** Errors sent to the errors topic per report interval; the rest are only counted (`errorsDropped`). */
const ERRORS_PER_INTERVAL = 100;
/** Failed messages remembered (for the class of a later dead letter, and to count retries). */
const FAILED_REMEMBERED = 10_000;

/** Who reports: fixed for the collector's life. */
export interface ReporterIdentity {
  groupId: string;
  clientId: string;
  /** Partita's version. */
  version: string;
  intervalMs: number;
}

/** The index of the {@link DURATION_BUCKETS_MS} bucket a duration falls in (the open bucket last). */
export function durationBucket(durationMs: number): number {
  const index = DURATION_BUCKETS_MS.findIndex((bound) => durationMs <= bound);
  return index === -1 ? DURATION_BUCKETS_MS.length : index;
}

/**
 * Gathers what a worker does from its typed events, and turns it into a {@link WorkerReport} on
 * demand: the counts and errors cover the time since the previous report.
 */
export class ReportCollector {
  /** `<host>:<pid>:<random>`: the key of this process's reports. */
  readonly processId: string;
  readonly #identity: ReporterIdentity;
  readonly #loads: () => PartitionLoad[];
  readonly #deadLetterTopics: () => string[];
  readonly #startedAt = Date.now();
  readonly #partitions = new Map<string, { topic: string; partition: number; committedOffset: number | null; collapsed: boolean }>();
  readonly #running = new RunningJobs();
  /** Per topic, per job class name: found without building a key string per job. */
  #stats = new Map<string, Map<string, JobClassStats>>();
  #errors: ErrorReport[] = [];
  #unsentErrors: ErrorReport[] = [];
  #errorsDropped = 0;
  #errorsThisInterval = 0;
  /** Job class of messages that failed, by `topic/partition@offset`, oldest first. */
  readonly #failed = new Map<string, string | undefined>();
  /** Errors already reported through `job.failed` (the engine's `error` event repeats bad input). */
  readonly #reportedErrors = new WeakSet<Error>();
  #sinceAt = this.#startedAt;
  #cpu = process.cpuUsage();
  readonly #loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  readonly #detach: () => void;

  constructor(events: WorkerEmitter, identity: ReporterIdentity, loads: () => PartitionLoad[], deadLetterTopics: () => string[] = () => []) {
    this.#identity = identity;
    this.#loads = loads;
    this.#deadLetterTopics = deadLetterTopics;
    this.processId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#loopDelay.enable();
    this.#detach = this.#listen(events);
  }

  /** Stops listening and measuring. */
  close(): void {
    this.#detach();
    this.#loopDelay.disable();
  }

  /** Error reports made since the last call, for the errors topic (at most {@link ERRORS_PER_INTERVAL} per interval). */
  takeErrors(): ErrorReport[] {
    const taken = this.#unsentErrors;
    this.#unsentErrors = [];
    return taken;
  }

  /** The report of the period since the previous one; starts the next period. */
  report(stopping = false): WorkerReport {
    const at = Date.now();
    const loads = new Map(this.#loads().map((load) => [partitionKey(load.topic, load.partition), load]));
    const partitions: PartitionReport[] = [...this.#partitions].map(([key, { topic, partition, ...state }]) => {
      const load = loads.get(key);
      return { topic, partition, lanesBusy: load?.runningLanes ?? 0, buffered: load?.buffered ?? 0, committedOffset: state.committedOffset, collapsed: state.collapsed };
    });
    const report: WorkerReport = {
      schema: REPORT_SCHEMA,
      processId: this.processId,
      groupId: this.#identity.groupId,
      clientId: this.#identity.clientId,
      at,
      intervalMs: this.#identity.intervalMs,
      sinceAt: this.#sinceAt,
      stopping,
      process: this.#processReport(at),
      partitions: partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
      runningJobs: this.#running.list().sort((a, b) => a.startedAt - b.startedAt),
      jobs: [...this.#stats.values()].flatMap((byClass) => [...byClass.values()]),
      errors: this.#errors,
      errorsDropped: this.#errorsDropped,
      deadLetterTopics: this.#deadLetterTopics(),
    };
    this.#sinceAt = at;
    this.#stats = new Map();
    this.#errors = [];
    this.#errorsDropped = 0;
    this.#errorsThisInterval = 0;
    return report;
  }

  #processReport(at: number): ProcessReport {
    const cpu = process.cpuUsage(this.#cpu);
    this.#cpu = process.cpuUsage();
    const elapsedMs = Math.max(1, at - this.#sinceAt);
    const memory = process.memoryUsage();
    const toMs = (ns: number) => (Number.isFinite(ns) ? Math.round(ns / 1e4) / 100 : 0);
    const eventLoopDelayMs = { mean: toMs(this.#loopDelay.mean), p99: toMs(this.#loopDelay.percentile(99)), max: toMs(this.#loopDelay.max) };
    this.#loopDelay.reset();
    return {
      host: hostname(),
      pid: process.pid,
      version: this.#identity.version,
      node: process.version,
      startedAt: this.#startedAt,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 1000) / 10,
      eventLoopDelayMs,
    };
  }

  #stat(topic: string, jobClass: string | undefined): JobClassStats {
    const name = jobClass ?? '(unknown)';
    let byClass = this.#stats.get(topic);
    if (!byClass) {
      byClass = new Map();
      this.#stats.set(topic, byClass);
    }
    let stats = byClass.get(name);
    if (!stats) {
      stats = { jobClass: name, topic, performed: 0, failed: 0, retried: 0, deadLettered: 0, discarded: 0, durationBuckets: new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0), durationTotalMs: 0 };
      byClass.set(name, stats);
    }
    return stats;
  }

  #error(error: Error, kind: string, where: { topic?: string; partition?: number; offset?: number; attempt?: number; jobClass?: string; jobId?: string }): void {
    this.#reportedErrors.add(error);
    const report: ErrorReport = {
      schema: REPORT_SCHEMA,
      processId: this.processId,
      groupId: this.#identity.groupId,
      at: Date.now(),
      errorClass: error.name,
      message: error.message,
      stack: error.stack ?? null,
      kind,
      topic: where.topic ?? null,
      partition: where.partition ?? null,
      offset: where.offset ?? null,
      attempt: where.attempt ?? null,
      jobClass: where.jobClass ?? null,
      jobId: where.jobId ?? null,
    };
    this.#errorsThisInterval += 1;
    if (this.#errorsThisInterval > ERRORS_PER_INTERVAL) {
      this.#errorsDropped += 1;
      return;
    }
    this.#unsentErrors.push(report);
    this.#errors.push(report);
    if (this.#errors.length > ERRORS_PER_REPORT) {
      this.#errors.shift();
      this.#errorsDropped += 1;
    }
  }

  #rememberFailure(key: string, jobClass: string | undefined): void {
    this.#failed.delete(key);
    this.#failed.set(key, jobClass);
    if (this.#failed.size > FAILED_REMEMBERED) this.#failed.delete(this.#failed.keys().next().value!);
  }

  #forgetPartition(topic: string, partition: number): void {
    this.#partitions.delete(partitionKey(topic, partition));
    this.#running.forget(topic, partition);
  }

  #listen(events: WorkerEmitter): () => void {
    const at = (topic: string, partition: number, offset: number) => `${partitionKey(topic, partition)}@${offset}`;
    const handlers: WorkerHandlers = {
      'partition.assigned': ({ topic, partition }) => {
        this.#partitions.set(partitionKey(topic, partition), { topic, partition, committedOffset: null, collapsed: false });
      },
      'partition.revoked': ({ topic, partition }) => this.#forgetPartition(topic, partition),
      'group.rebalanced': ({ revoked }) => {
        for (const { topic, partition } of revoked) this.#forgetPartition(topic, partition);
      },
      'worker.stopped': () => {
        this.#partitions.clear();
        this.#running.clear();
      },
      'batch.started': ({ topic, partition, collapsed }) => {
        const state = this.#partitions.get(partitionKey(topic, partition));
        if (state) state.collapsed = collapsed;
      },
      'batch.completed': ({ topic, partition }) => {
        const state = this.#partitions.get(partitionKey(topic, partition));
        if (state) state.collapsed = false;
      },
      'batch.committed': ({ offsets }) => {
        for (const { topic, partition, offset } of offsets) {
          const state = this.#partitions.get(partitionKey(topic, partition));
          if (state) state.committedOffset = offset;
        }
      },
      'job.started': (started) => {
        const { topic, partition, offset, jobClass } = started;
        // The key string of a failed message is built only while some failure is remembered.
        if (this.#failed.size > 0 && this.#failed.has(at(topic, partition, offset))) this.#stat(topic, jobClass).retried += 1;
        this.#running.add(started);
      },
      'job.performed': ({ topic, partition, offset, jobClass, startedAt, finishedAt }) => {
        this.#running.delete(topic, partition, offset);
        if (this.#failed.size > 0) this.#failed.delete(at(topic, partition, offset));
        const stats = this.#stat(topic, jobClass);
        const duration = finishedAt - startedAt;
        stats.performed += 1;
        stats.durationBuckets[durationBucket(duration)]! += 1;
        stats.durationTotalMs += duration;
      },
      'job.failed': ({ topic, partition, offset, jobClass, jobId, attempt, revoked, error }) => {
        const key = at(topic, partition, offset);
        this.#running.delete(topic, partition, offset);
        if (revoked) return;
        this.#stat(topic, jobClass).failed += 1;
        this.#rememberFailure(key, jobClass);
        this.#error(error, 'job.failed', { topic, partition, offset, attempt, jobClass, jobId });
      },
      'job.discarded': ({ topic, partition, offset, jobClass }) => {
        this.#running.delete(topic, partition, offset);
        this.#stat(topic, jobClass).discarded += 1;
      },
      'job.scheduled': ({ topic, jobClass, reason }) => {
        if (reason === 'retry') this.#stat(topic, jobClass).retried += 1;
      },
      'message.dead-lettered': ({ topic, partition, offset, attempts, error }) => {
        const key = at(topic, partition, offset);
        const jobClass = this.#failed.get(key);
        this.#failed.delete(key);
        this.#stat(topic, jobClass).deadLettered += 1;
        this.#error(error, 'message.dead-lettered', { topic, partition, offset, attempt: attempts, ...(jobClass === undefined ? {} : { jobClass }) });
      },
      error: ({ error, topic, partition, offset, kind }) => {
        if (this.#reportedErrors.has(error)) return;
        this.#error(error, kind ?? 'error', {
          ...(topic === undefined ? {} : { topic }),
          ...(partition === undefined ? {} : { partition }),
          ...(offset === undefined ? {} : { offset }),
        });
      },
    };
    const detachers = (Object.keys(handlers) as (keyof WorkerEvents & string)[]).map((event) => attach(events, event, handlers));
    return () => {
      for (const detach of detachers) detach();
    };
  }
}

/**
 * The jobs running now, by topic, partition and offset: added and removed without a key string per
 * job. Each is kept as its `job.started` payload; its report is made only when a report is.
 */
class RunningJobs {
  readonly #byTopic = new Map<string, Map<number, Map<number, JobStartedEvent>>>();

  add(job: JobStartedEvent): void {
    let byPartition = this.#byTopic.get(job.topic);
    if (!byPartition) {
      byPartition = new Map();
      this.#byTopic.set(job.topic, byPartition);
    }
    let byOffset = byPartition.get(job.partition);
    if (!byOffset) {
      byOffset = new Map();
      byPartition.set(job.partition, byOffset);
    }
    byOffset.set(job.offset, job);
  }

  delete(topic: string, partition: number, offset: number): void {
    this.#byTopic.get(topic)?.get(partition)?.delete(offset);
  }

  /** Forgets the jobs of a partition this worker no longer owns. */
  forget(topic: string, partition: number): void {
    this.#byTopic.get(topic)?.delete(partition);
  }

  clear(): void {
    this.#byTopic.clear();
  }

  list(): RunningJobReport[] {
    const jobs: RunningJobReport[] = [];
    for (const byPartition of this.#byTopic.values()) {
      for (const byOffset of byPartition.values()) {
        for (const { jobClass, jobId, topic, partition, offset, executions, startedAt } of byOffset.values()) jobs.push({ jobClass, jobId, topic, partition, offset, executions, startedAt });
      }
    }
    return jobs;
  }
}

/** Handlers of some worker events. */
type WorkerHandlers = { [K in keyof WorkerEvents]?: (payload: WorkerEvents[K]) => void };

/** Listens to one event with its handler; returns what stops listening. */
function attach<K extends keyof WorkerEvents & string>(events: WorkerEmitter, event: K, handlers: WorkerHandlers): () => void {
  // The handler itself listens: no lookup by event name on every event.
  const handler = handlers[event] as (payload: WorkerEvents[K]) => void;
  events.on(event, handler);
  return () => events.off(event, handler);
}
