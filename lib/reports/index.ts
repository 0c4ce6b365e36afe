/**
 * `partita/reports`: what workers publish about themselves, and how tools read it back. Workers
 * publish a {@link WorkerReport} every few seconds (`createApp({ reports })`) and an
 * {@link ErrorReport} per failure; `readReports`, `liveProcesses`, `recentErrors` and
 * `subscribeReports` read them from Kafka (no other store).
 */
export {
  REPORTS_TOPIC,
  ERRORS_TOPIC,
  REPORT_SCHEMA,
  DURATION_BUCKETS_MS,
  GONE_AFTER_INTERVALS,
  type WorkerReport,
  type ProcessReport,
  type PartitionReport,
  type RunningJobReport,
  type JobClassStats,
  type ErrorReport,
} from './report.ts';
export {
  readReports,
  liveProcesses,
  processStates,
  recentErrors,
  subscribeReports,
  type ReportsSource,
  type ReadReportsOptions,
  type RecentErrorsOptions,
  type ProcessStatus,
  type ReportListeners,
  type TopicTail,
} from './reader.ts';
export { DEFAULT_REPORT_INTERVAL_MS, type ReportsOptions } from './publisher.ts';
export { ERRORS_RETENTION_MS } from './topics.ts';
