import { createKafka, type KafkaConnection } from '../kafka/client.ts';
import type { KafkaClient as Kafka } from '../kafka/kafkajs.ts';
import type { RawRecord } from '../kafka/records.ts';
import { readTopicSince, tailTopics, type TopicTail } from '../kafka/topic-tail.ts';
import { defaultLogger } from '../logging/logger.ts';
import { ERRORS_TOPIC, GONE_AFTER_INTERVALS, REPORT_SCHEMA, REPORTS_TOPIC, type ErrorReport, type WorkerReport } from './report.ts';
import { reportTopicSpecs } from './topics.ts';
import { describeCoordinates } from '../errors.ts';

/** Where the reports are read from: a Kafka connection (`{ brokers: ['127.0.0.1:9092'] }`). */
export type ReportsSource = KafkaConnection;

/** Which part of the reports to read. */
export interface ReadReportsOptions {
  /**
   * How far back to read, in ms.
   * @defaultValue 3 600 000 (the reports topic's retention: one hour)
   */
  sinceMs?: number;
  /** Only reports of this consumer group. */
  groupId?: string;
  /**
   * Longest the read may take, in ms.
   * @defaultValue 30 000
   */
  timeoutMs?: number;
}

/** Which error reports to read. */
export interface RecentErrorsOptions extends ReadReportsOptions {
  /** Only failures of this job class. */
  jobClass?: string;
  /** Only failures on this topic. */
  topic?: string;
  /**
   * Most error reports returned (the newest).
   * @defaultValue 100
   */
  limit?: number;
}

/** A process as its reports show it. */
export interface ProcessStatus {
  /** The process's id (`WorkerReport.processId`). */
  processId: string;
  /** `live` while it reports; `gone` once its last report is older than {@link GONE_AFTER_INTERVALS} intervals, or said it stopped. */
  state: 'live' | 'gone';
  /** Its latest report. */
  report: WorkerReport;
}

/** Handlers of a live subscription; both optional. */
export interface ReportListeners {
  /** A worker report, as it is published. */
  report?: (report: WorkerReport) => void;
  /** An error report, as it is published. */
  error?: (error: ErrorReport) => void;
  /** A record that could not be read as a report, or a failure of the subscription. */
  failure?: (error: Error) => void;
}

const clients = new WeakMap<KafkaConnection, Kafka>();

/** One kafkajs client per connection object, so repeated reads (the web UI's) reuse it. */
function clientFor(source: ReportsSource): Kafka {
  let kafka = clients.get(source);
  if (!kafka) {
    kafka = createKafka({ logLevel: 'error', clientId: 'partita-reports', ...source }, 'reports source', defaultLogger());
    clients.set(source, kafka);
  }
  return kafka;
}

/** Parses a record of either topic; `undefined` for one of another schema or not JSON. */
function parseRecord<T extends { schema: number }>(record: RawRecord): T | undefined {
  if (record.value === null) return undefined;
  try {
    const parsed = JSON.parse(record.value.toString('utf8')) as T;
    return parsed !== null && typeof parsed === 'object' && parsed.schema === REPORT_SCHEMA ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Every worker report published in the last `sinceMs` (default one hour), oldest first: for charts. */
export async function readReports(source: ReportsSource, options: ReadReportsOptions = {}): Promise<WorkerReport[]> {
  const since = Date.now() - (options.sinceMs ?? 3_600_000);
  const records = await readTopicSince(clientFor(source), REPORTS_TOPIC, since, options.timeoutMs);
  return records
    .map((record) => parseRecord<WorkerReport>(record))
    .filter((report): report is WorkerReport => report !== undefined && report.at >= since && (options.groupId === undefined || report.groupId === options.groupId));
}

/**
 * The latest report of every process that reported in the last `sinceMs` (default one hour), and
 * whether it is still live, newest first. `now` is the time the states are judged at.
 */
export function processStates(reports: readonly WorkerReport[], now = Date.now()): ProcessStatus[] {
  const latest = new Map<string, WorkerReport>();
  for (const report of reports) {
    const known = latest.get(report.processId);
    if (!known || known.at <= report.at) latest.set(report.processId, report);
  }
  return [...latest.values()]
    .map((report): ProcessStatus => {
      const gone = report.stopping || now - report.at > GONE_AFTER_INTERVALS * report.intervalMs;
      return { processId: report.processId, state: gone ? 'gone' : 'live', report };
    })
    .sort((a, b) => b.report.at - a.report.at);
}

/** {@link processStates} of the reports of the last `sinceMs`: every worker process, live or gone. */
export async function liveProcesses(source: ReportsSource, options: ReadReportsOptions = {}): Promise<ProcessStatus[]> {
  // Judged at the time the read began: the read ends at the end offsets of that moment.
  const now = Date.now();
  return processStates(await readReports(source, options), now);
}

/** The newest error reports (default the last hour, at most 100), newest first, filtered by group, job class and topic. */
export async function recentErrors(source: ReportsSource, options: RecentErrorsOptions = {}): Promise<ErrorReport[]> {
  const since = Date.now() - (options.sinceMs ?? 3_600_000);
  const records = await readTopicSince(clientFor(source), ERRORS_TOPIC, since, options.timeoutMs);
  return records
    .map((record) => parseRecord<ErrorReport>(record))
    .filter(
      (error): error is ErrorReport =>
        error !== undefined &&
        error.at >= since &&
        (options.groupId === undefined || error.groupId === options.groupId) &&
        (options.jobClass === undefined || error.jobClass === options.jobClass) &&
        (options.topic === undefined || error.topic === options.topic),
    )
    .sort((a, b) => b.at - a.at)
    .slice(0, options.limit ?? 100);
}

/**
 * Follows the reports and error reports live, from now on (for server-sent events, QueueEvents-style
 * listeners). Await `ready` before relying on seeing what is published next; `close()` ends it.
 * Creates the report topics when they do not exist yet.
 */
export function subscribeReports(source: ReportsSource, listeners: ReportListeners): TopicTail {
  const failure = (error: Error) => listeners.failure?.(error);
  return tailTopics(
    clientFor(source),
    reportTopicSpecs(),
    (record) => {
      if (record.topic === REPORTS_TOPIC) {
        const report = parseRecord<WorkerReport>(record);
        if (report) listeners.report?.(report);
        else failure(new Error(`${describeCoordinates(record)} is not a worker report of schema ${REPORT_SCHEMA}`));
      } else {
        const error = parseRecord<ErrorReport>(record);
        if (error) listeners.error?.(error);
        else failure(new Error(`${describeCoordinates(record)} is not an error report of schema ${REPORT_SCHEMA}`));
      }
    },
    failure,
  );
}

export type { TopicTail };
