import type { KafkaConnection } from '../kafka/client.ts';
import { liveProcesses, type ProcessStatus } from '../reports/reader.ts';
import type { RunningJobReport } from '../reports/report.ts';
import { ERRORS_TOPIC, REPORTS_TOPIC } from '../reports/report.ts';
import { ClusterReader, type DelayTierOverview, type GroupOverview } from './cluster.ts';
import { DeadLetters, type DeadLetterCounts } from './dead-letters.ts';
import { listRecurringSchedules, type RecurringScheduleStatus } from './recurring.ts';

/** What {@link clusterStatus} reads. */
export interface StatusQuery {
  /** How to reach Kafka. */
  kafka: KafkaConnection;
  /** Only this consumer group (its lag, processes, dead letters and recurring jobs). */
  groupId?: string;
  /** Dead-letter topics to count besides those the workers' reports name. */
  deadLetterTopics?: readonly string[];
  /**
   * How far back worker reports are read, in ms (processes that reported in that time are listed, live or gone).
   * @defaultValue 3 600 000
   */
  sinceMs?: number;
}

/** A running job and the process running it. */
export interface RunningJobStatus extends RunningJobReport {
  /** The worker process running it (`WorkerReport.processId`). */
  processId: string;
  /** That process's consumer group. */
  groupId: string;
}

/** Dead letters of one dead-letter topic. */
export interface DeadLetterTopicStatus {
  /** The dead-letter topic. */
  topic: string;
  /** Offsets held, dead letters replayed, and those not replayed yet. */
  counts: Pick<DeadLetterCounts, 'total' | 'replayed' | 'waiting'>;
}

/** The recurring jobs of one group. */
export interface RecurringGroupStatus {
  /** The consumer group whose app declares the schedules. */
  groupId: string;
  /** Its schedules, with their last tick and next run. */
  schedules: RecurringScheduleStatus[];
}

/** One look at a Partita system: what `partita status` prints and Partita Web shows. */
export interface ClusterStatus {
  /** When the look was taken, ms since the epoch. */
  at: number;
  /** Consumer groups with their state, members and lag per topic and partition (Partita's own report readers left out). */
  groups: GroupOverview[];
  /** Every worker process that reported in `sinceMs`, live or gone, newest first. */
  processes: ProcessStatus[];
  /** Jobs running in live processes, oldest first. */
  runningJobs: RunningJobStatus[];
  /** Dead-letter topics named by the reports or the query, with their counts. */
  deadLetters: DeadLetterTopicStatus[];
  /** Jobs waiting per delay tier (scheduled with `wait`/`waitUntil`, or retried with a wait). */
  scheduled: DelayTierOverview[];
  /** Recurring jobs with their next run, per group of a reporting process. */
  recurring: RecurringGroupStatus[];
}

/** Kafka topics Partita writes for itself, left out of the groups' topics. */
const OWN_TOPICS = new Set([REPORTS_TOPIC, ERRORS_TOPIC]);

/**
 * Reads groups and lag (admin offsets against end offsets), worker processes and running jobs
 * (from their reports), dead-letter counts, delay-tier waiting counts and recurring schedules, in
 * parallel. For `partita status` and Partita Web.
 */
export async function clusterStatus(query: StatusQuery): Promise<ClusterStatus> {
  const at = Date.now();
  const cluster = new ClusterReader(query.kafka);
  const [groups, processes, scheduled] = await Promise.all([
    cluster.groups(),
    liveProcesses(query.kafka, { sinceMs: query.sinceMs ?? 3_600_000, ...(query.groupId === undefined ? {} : { groupId: query.groupId }) }),
    cluster.delayTiers(),
  ]);
  const live = processes.filter((process) => process.state === 'live');
  const runningJobs = live
    .flatMap(({ report }) => report.runningJobs.map((job) => ({ ...job, processId: report.processId, groupId: report.groupId })))
    .sort((a, b) => a.startedAt - b.startedAt);
  const deadLetterTopics = [...new Set([...(query.deadLetterTopics ?? []), ...processes.flatMap(({ report }) => report.deadLetterTopics ?? [])])].sort();
  const deadLetters = new DeadLetters({ kafka: query.kafka });
  const reportingGroups = [...new Set(processes.map(({ report }) => report.groupId))].sort();
  try {
    const [counts, recurring] = await Promise.all([
      Promise.all(deadLetterTopics.map(async (topic) => ({ topic, counts: pickCounts(await deadLetters.counts(topic)) }))),
      Promise.all(reportingGroups.map(async (groupId) => ({ groupId, schedules: await listRecurringSchedules({ kafka: query.kafka, groupId }) }))),
    ]);
    const selected = query.groupId === undefined ? groups : groups.filter((group) => group.groupId === query.groupId);
    return {
      at,
      groups: selected.map((group) => ({ ...group, topics: group.topics.filter((topic) => !OWN_TOPICS.has(topic.topic)) })),
      processes,
      runningJobs,
      deadLetters: counts,
      scheduled,
      recurring: recurring.filter((group) => group.schedules.length > 0),
    };
  } finally {
    await deadLetters.close();
  }
}

function pickCounts({ total, replayed, waiting }: DeadLetterCounts): DeadLetterTopicStatus['counts'] {
  return { total, replayed, waiting };
}
