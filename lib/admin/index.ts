/**
 * `partita/admin`: what operators and tools read from the cluster (topics, consumer groups and
 * their lag, delay tiers), one look at the whole system ({@link clusterStatus}, for `partita status`), the recurring jobs of an app ({@link listRecurringSchedules}), and the dead letters of a dead-letter topic: {@link DeadLetters} lists,
 * pages, shows and replays them (the `partita dlq` command and Partita Web use it).
 */
export { ClusterReader, type TopicOverview, type PartitionOverview, type GroupOverview, type TopicLag, type PartitionLag, type DelayTierOverview } from './cluster.ts';
export {
  DeadLetters,
  type DeadLettersOptions,
  type DeadLetterPartition,
  type DeadLetterCounts,
  type DeadLetterPageRequest,
  type DeadLetterPage,
  type ReplaySelection,
  type ReplayResult,
  type ReplayedDeadLetter,
  type UnreplayedDeadLetter,
} from './dead-letters.ts';
export type { DeadLetter, DeadLetterDetail, DeadLetterSource } from './dead-letter-entry.ts';
export { replayMarkTopic, type ReplayMark, type RecordPosition } from './replay-marks.ts';
export { DeadLetterNotFoundError, ReplayConflictError } from '../errors.ts';
export { listRecurringSchedules, type RecurringQuery, type RecurringScheduleStatus } from './recurring.ts';
export { clusterStatus, type StatusQuery, type ClusterStatus, type RunningJobStatus, type DeadLetterTopicStatus, type RecurringGroupStatus } from './status.ts';
