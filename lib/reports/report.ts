/**
 * The shape of what workers publish about themselves: one {@link WorkerReport} per process every
 * few seconds to {@link REPORTS_TOPIC}, and one {@link ErrorReport} per failure to
 * {@link ERRORS_TOPIC}. Both are JSON, keyed by the process id. Tools (`partita status`, the web
 * UI, BullMQ-style listeners) read them back through `partita/reports`.
 */

/** Topic of the periodic worker reports (created on demand: 1 partition, 1 hour retention). */
export const REPORTS_TOPIC = 'partita.reports';

/** Topic of the error reports (created on demand: 1 partition, 24 hours retention). */
export const ERRORS_TOPIC = 'partita.errors';

/** Version of the report shape, in every report and error report (`schema`). */
export const REPORT_SCHEMA = 1;

/**
 * Upper bounds (inclusive, ms) of the job duration buckets; a last, open bucket counts what took
 * longer. {@link JobClassStats.durationBuckets} has one count more than this list.
 */
export const DURATION_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000];

/**
 * How many report intervals may pass without a report before a process counts as gone
 * (see `liveProcesses`).
 */
export const GONE_AFTER_INTERVALS = 3;

/** The process a report comes from. */
export interface ProcessReport {
  /** Host name (`os.hostname()`). */
  host: string;
  /** Operating-system process id. */
  pid: number;
  /** Partita's version. */
  version: string;
  /** Node.js version (`process.version`). */
  node: string;
  /** When the reporting app started, ms since the epoch. */
  startedAt: number;
  /** Resident set size, bytes. */
  rssBytes: number;
  /** V8 heap in use, bytes. */
  heapUsedBytes: number;
  /** CPU time used since the previous report (user + system), as a percentage of one core. */
  cpuPercent: number;
  /** Event-loop delay since the previous report (`perf_hooks.monitorEventLoopDelay`), ms. */
  eventLoopDelayMs: {
    /** Mean delay, ms. */
    mean: number;
    /** 99th percentile, ms. */
    p99: number;
    /** Longest delay, ms. */
    max: number;
  };
}

/** One partition assigned to the reporting process. */
export interface PartitionReport {
  /** The topic. */
  topic: string;
  /** The partition of the topic. */
  partition: number;
  /** Lanes running now (a job each on job topics). */
  lanesBusy: number;
  /** Messages fetched and waiting to start. */
  buffered: number;
  /** The last offset committed by this process (the next offset to consume); null before its first commit. */
  committedOffset: number | null;
  /** True while the partition runs collapsed (one lane, in offset order) after a failure. */
  collapsed: boolean;
}

/** A job running when the report was made. */
export interface RunningJobReport {
  /** The job's class name. */
  jobClass: string;
  /** The job's id. */
  jobId: string;
  /** The topic the job was read from. */
  topic: string;
  /** Its partition. */
  partition: number;
  /** Its offset. */
  offset: number;
  /** Executions before this one (0 for a first run). */
  executions: number;
  /** When it started, ms since the epoch. */
  startedAt: number;
}

/** What one job class did on one topic since the previous report. */
export interface JobClassStats {
  /** The job class name. */
  jobClass: string;
  /** The topic its jobs were read from. */
  topic: string;
  /** Jobs that finished without error. */
  performed: number;
  /** Failed executions (each attempt counts; revocations do not). */
  failed: number;
  /** Jobs sent to the delay tiers by `retryOn` with a wait. */
  retried: number;
  /** Jobs sent to the dead-letter topic. */
  deadLettered: number;
  /** Jobs dropped by `discardOn`. */
  discarded: number;
  /** Durations of performed jobs: counts per {@link DURATION_BUCKETS_MS} bucket, then the open one. */
  durationBuckets: number[];
  /** Sum of the durations of performed jobs, ms. */
  durationTotalMs: number;
}

/** One failure, as published to {@link ERRORS_TOPIC} and kept in the reports' `errors`. */
export interface ErrorReport {
  /** Always {@link REPORT_SCHEMA}. */
  schema: number;
  /** Id of the reporting process (see {@link WorkerReport.processId}). */
  processId: string;
  /** Consumer group of the reporting app. */
  groupId: string;
  /** When it happened, ms since the epoch. */
  at: number;
  /** The error's class name (`error.name`). */
  errorClass: string;
  /** The error's message. */
  message: string;
  /** The error's stack, when it has one. */
  stack: string | null;
  /**
   * What failed: `job.failed` (a job threw), `message.dead-lettered`, or the `kind` of an
   * engine error event (`bad-input` kinds, `consumer-crash`, ...).
   */
  kind: string;
  /** The topic concerned, when there is one. */
  topic: string | null;
  /** The partition concerned, when there is one. */
  partition: number | null;
  /** The offset concerned, when there is one. */
  offset: number | null;
  /** Failures of this message on this worker, this one included (job failures only). */
  attempt: number | null;
  /** The job's class name, for a job. */
  jobClass: string | null;
  /** The job's id, for a job. */
  jobId: string | null;
}

/** The periodic report of one worker process (one app). */
export interface WorkerReport {
  /** Always {@link REPORT_SCHEMA}. */
  schema: number;
  /** Stable for the app's life: `<host>:<pid>:<random>`. Also the Kafka message key. */
  processId: string;
  /** Consumer group of the reporting app. */
  groupId: string;
  /** Kafka client id of the reporting app. */
  clientId: string;
  /** When the report was made, ms since the epoch. */
  at: number;
  /** Interval between reports, ms (a reader calls the process gone after {@link GONE_AFTER_INTERVALS} of them). */
  intervalMs: number;
  /** Start of the period the counts cover (the previous report's `at`, or the start). */
  sinceAt: number;
  /** True in the last report, sent while the app stops: the process is gone at once. */
  stopping: boolean;
  /** The process: host, pid, versions, memory, CPU, event-loop delay. */
  process: ProcessReport;
  /** The partitions assigned to the process. */
  partitions: PartitionReport[];
  /** The jobs running when the report was made. */
  runningJobs: RunningJobReport[];
  /** Per job class and topic, since `sinceAt`. */
  jobs: JobClassStats[];
  /** The last errors since `sinceAt` (at most 20; `errorsDropped` counts the others). */
  errors: ErrorReport[];
  /** Errors since `sinceAt` left out of `errors` and of the errors topic. */
  errorsDropped: number;
  /** The dead-letter topics of the routes the process runs (so tools know where to count dead letters). */
  deadLetterTopics?: string[];
}
