import type { TopicSpec } from '../kafka/admin.ts';
import { ERRORS_TOPIC, REPORTS_TOPIC } from './report.ts';

/** Retention of the reports topic: what the charts of the last hour need. */
const REPORTS_RETENTION_MS = 3_600_000;
/** Retention of the errors topic: a day of failures to look back on (how far back tools can read them). */
export const ERRORS_RETENTION_MS = 86_400_000;

/** How the report topics are created when missing: one partition each (one ordered stream), bounded retention. */
export function reportTopicSpecs(): TopicSpec[] {
  const configEntries = (retentionMs: number) => ({ 'retention.ms': String(retentionMs), 'cleanup.policy': 'delete', 'segment.ms': String(Math.min(retentionMs, 600_000)) });
  return [
    { topic: REPORTS_TOPIC, partitions: 1, configEntries: configEntries(REPORTS_RETENTION_MS) },
    { topic: ERRORS_TOPIC, partitions: 1, configEntries: configEntries(ERRORS_RETENTION_MS) },
  ];
}
