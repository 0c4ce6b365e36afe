import type { BadInputKind } from '../errors.ts';
import type { DroppedPart } from './dead-letter.ts';
import { TypedEmitter } from '../events.ts';

/** Where something happened. */
export interface PartitionRef {
  /** The topic. */
  topic: string;
  /** The partition of the topic. */
  partition: number;
}

/** The consumer group an event is about. */
export interface GroupRef {
  /** The consumer group of the worker. */
  groupId: string;
}

/**
 * A run of a partition's offsets: one batch, at most `maxBatchSize` fetched messages admitted to
 * the lanes together. Batches of a partition overlap (the lanes take runs from the next batch while
 * slower lanes still run), except with `transactionScope: 'batch'`, where one runs at a time; a
 * collapsed retry is a batch of the messages a failure left unfinished.
 */
export interface BatchRef extends PartitionRef {
  /** The batch's first offset. */
  firstOffset: number;
  /** The batch's last offset. */
  lastOffset: number;
}

/** One message of a partition. */
export interface MessageRef extends PartitionRef {
  /** The message's offset. */
  offset: number;
}

/** A job of a job topic, as it runs in a lane. */
export interface JobRef extends MessageRef {
  /** The lane (virtual partition) index the job runs in; 0 without virtual partitions. */
  lane: number;
  /** The job's id (`job_id`). */
  jobId: string;
  /** The job's class name (`job_class`). */
  jobClass: string;
}

/** Payload of `job.started`. */
export interface JobStartedEvent extends JobRef {
  /** How many times the job was performed before, over its whole life (re-enqueues included). */
  executions: number;
  /** When `perform` started (ms since the epoch). */
  startedAt: number;
}

/** A job that may not have been decoded: its id and class are unknown when the message is bad input. */
export interface UndecodedJobRef extends MessageRef {
  /** The lane (virtual partition) index; 0 without virtual partitions. */
  lane: number;
  /** The job's id, when the message could be decoded. */
  jobId: string | undefined;
  /** The job's class name, when the message could be decoded. */
  jobClass: string | undefined;
  /** What went wrong. */
  error: Error;
}

/** Payload of `worker.started`. */
export interface WorkerStartedEvent extends GroupRef {
  /** The topics the worker consumes (routes, pattern matches and delay tiers). */
  topics: string[];
}

/** Payload of `worker.stopping`. */
export interface WorkerStoppingEvent extends GroupRef {
  /** Jobs running when the stop began. */
  runningJobs: number;
  /** Consumer lanes (plain consumers) running when the stop began. */
  runningConsumers: number;
  /** How long they get to finish, in ms (`shutdownTimeoutMs`). */
  timeoutMs: number;
}

/** Payload of `worker.stopped`. */
export interface WorkerStoppedEvent extends GroupRef {
  /** Partitions whose work did not finish in time and was abandoned (it runs again on the next owner). */
  unfinished: number;
}

/** Payload of `group.rebalanced`. */
export interface GroupRebalancedEvent extends GroupRef {
  /** Partitions this worker got. */
  assigned: PartitionRef[];
  /** Partitions taken away from this worker. */
  revoked: PartitionRef[];
  /** Partitions this worker had and keeps. */
  kept: PartitionRef[];
}

/** Payload of `topic.discovered`. */
export interface TopicDiscoveredEvent {
  /** The name of the pattern that matched. */
  pattern: string;
  /** The topic found. */
  topic: string;
}

/** Payload of `partition.revoked`. */
export interface PartitionRevokedEvent extends PartitionRef {
  /** Lanes that were still running on the partition; their signal aborts. */
  runningLanes: number;
}

/** Payload of `partition.paused`. */
export interface PartitionPausedEvent extends PartitionRef {
  /** Why fetching paused: `backpressure`, `long-running`, `backoff`, `unmarked`, or `hold:<n>` (`app.pause()`). */
  reason: string;
}

/** Payload of `partition.inherited`. */
export interface PartitionInheritedEvent extends PartitionRef {
  /** The committed offset the partition resumes from. */
  offset: number;
  /** Offsets above it that the previous owner's done-map listed as finished: they are skipped. */
  finished: number;
}

/** Payload of `partition.fetched`. */
export interface PartitionFetchedEvent extends PartitionRef {
  /** The partition's end offset when the fetch was answered (lag = highWatermark − committed offset). */
  highWatermark: number;
  /** Records the fetch brought. */
  size: number;
}

/** Payload of `batch.started`. */
export interface BatchStartedEvent extends BatchRef {
  /** Messages in the batch. */
  size: number;
  /** Lanes the batch spreads over: given by the reducer (`consistent`), at most one per key (`balanced`), 1 when collapsed. */
  lanes: number;
  /** Whether the batch runs collapsed (one lane, in offset order) after a failure. */
  collapsed: boolean;
  /** The attempt at this batch: 1 the first time, more on retries. */
  attempt: number;
}

/** Payload of `batch.completed`. */
export interface BatchCompletedEvent extends BatchRef {
  /** Messages in the batch. */
  size: number;
}

/** Payload of `batch.failed`. */
export interface BatchFailedEvent extends BatchRef {
  /** The failure (of the first lane that failed). */
  error: Error;
  /** The attempt that failed: 1 the first time. */
  attempt: number;
  /** The backoff before the partition is fetched again, in ms. */
  retryInMs: number;
}

/** Payload of `lane.started`. */
export interface LaneStartedEvent extends PartitionRef {
  /** The lane index. */
  lane: number;
  /** Messages in the lane's run (its waiting messages, at most `maxBatchSize`). */
  size: number;
  /** Whether the lane is the single lane of a collapsed batch. */
  collapsed: boolean;
  /** When the lane started (ms since the epoch). */
  at: number;
}

/** Payload of `lane.finished`. */
export interface LaneFinishedEvent extends PartitionRef {
  /** The lane index. */
  lane: number;
  /** Messages in the lane's run. */
  size: number;
  /** When the lane finished (ms since the epoch). */
  at: number;
  /** Why the lane failed, when it did. */
  error?: Error;
  /** The partition was taken away before the lane ended (with `error`); its work runs again on the next owner. */
  revoked?: boolean;
}

/** Payload of `message.dead-lettered`. */
export interface MessageDeadLetteredEvent extends MessageRef {
  /** Failed attempts of the message. */
  attempts: number;
  /** The last failure. */
  error: Error;
  /** Where the copy went. */
  deadLetterTopic: string;
  /** What the copy left out to fit its topic (empty for a whole copy). */
  dropped: DroppedPart[];
}

/** Payload of `message.skipped`. */
export interface MessageSkippedEvent extends MessageRef {
  /** Failed attempts of the message. */
  attempts: number;
  /** The last failure. */
  error: Error;
}

/** One committed position in a `batch.committed` event. */
export interface CommittedOffset extends MessageRef {
  /** The user's offset metadata committed with it (see `markAsConsumed`). */
  metadata: string | null;
  /** Offsets above `offset` that its done-map lists as finished. */
  finished: number;
}

/** Payload of `batch.committed`. */
export interface BatchCommittedEvent {
  /** The positions committed in one request. */
  offsets: CommittedOffset[];
  /** When the commit was acknowledged (ms since the epoch). */
  at: number;
  /** How long the broker took to accept the commit, in ms. */
  durationMs: number;
}

/** Payload of `job.performed`. */
export interface JobPerformedEvent extends JobStartedEvent {
  /** When it returned (ms since the epoch). */
  finishedAt: number;
}

/** Payload of `job.scheduled`. */
export interface JobScheduledEvent extends JobRef {
  /** When the job is due. */
  scheduledAt: Date;
  /** The delay tier it waits in. */
  delayTopic: string;
  /** `early`: it arrived before its time; `retry`: a `retryOn` with a wait. */
  reason: 'early' | 'retry';
}

/** Payload of `job.failed`. */
export interface JobFailedEvent extends UndecodedJobRef {
  /** How many times this message has failed on this worker, this time included. */
  attempt: number;
  /** The partition was taken away while the job ran (it runs again on the next owner). */
  revoked: boolean;
}

/** Payload of `recurring.owned`. */
export interface RecurringOwnedEvent extends GroupRef {
  /** The names of the schedules this process now ticks. */
  schedules: string[];
}

/** Payload of `recurring.enqueued`. */
export interface RecurringEnqueuedEvent {
  /** The schedule's name. */
  schedule: string;
  /** The tick the job was enqueued for. */
  tick: Date;
  /** The enqueued job's id. */
  jobId: string;
  /** The enqueued job's class name. */
  jobClass: string;
  /** The topic the job went to. */
  topic: string;
  /** How long after the tick the job was enqueued, in ms. */
  lateMs: number;
}

/** Payload of `recurring.skipped`. */
export interface RecurringSkippedEvent {
  /** The schedule's name. */
  schedule: string;
  /** The first missed tick left out. */
  first: Date;
  /** The last missed tick left out. */
  last: Date;
  /** The schedule's missed-tick policy that left them out (`skip` or `run-once`). */
  policy: string;
}

/** Payload of `warning`. */
export interface WarningEvent {
  /** What is not as configured, and what to do. */
  message: string;
  /** What kind of warning, e.g. `topic.partitions-mismatch`. */
  kind: string;
  /** The topic concerned, when there is one. */
  topic?: string;
  /** The partition concerned, when there is one. */
  partition?: number;
}

/** Payload of `error`. */
export interface ErrorEvent {
  /** What went wrong (a `PartitaError` subclass where Partita knows what). */
  error: Error;
  /** The topic concerned, when there is one. */
  topic?: string;
  /** The partition concerned, when there is one. */
  partition?: number;
  /** The offset concerned, when there is one. */
  offset?: number;
  /** What failed: a bad-input kind (see `BadInputKind`) or a part of the engine (`consumer-crash`, `dead-letter-dispatch`, `partitioner`, `topic-discovery`, `worker-start`, ...). */
  kind?: BadInputKind | string;
}

/**
 * Events of a worker (also re-emitted by the app). Names are checked by the compiler:
 * `app.on('job.faild', ...)` does not type-check.
 */
export interface WorkerEvents {
  /** The worker joined its group and got its first assignment. */
  'worker.started': WorkerStartedEvent;
  /** `stop()` began: fetching stopped; running work gets up to `timeoutMs` to finish. */
  'worker.stopping': WorkerStoppingEvent;
  /** The worker left the group; `unfinished` partitions had work that did not finish in time. */
  'worker.stopped': WorkerStoppedEvent;
  /** The group is rebalancing: commits are held until this member has joined again. */
  'group.rebalancing': GroupRef;
  /** This worker's share of the group's partitions changed (also its first assignment). */
  'group.rebalanced': GroupRebalancedEvent;
  /** A pattern matched a topic no route consumed yet; the worker restarts to consume it. */
  'topic.discovered': TopicDiscoveredEvent;
  /** A partition was assigned to this worker. */
  'partition.assigned': PartitionRef;
  /** A partition was taken away; its running lanes see their signal abort. */
  'partition.revoked': PartitionRevokedEvent;
  /** Fetching from a partition paused (backpressure, a long-running batch, a backoff). */
  'partition.paused': PartitionPausedEvent;
  /** Fetching from a partition resumed. */
  'partition.resumed': PartitionRef;
  /** The previous owner's done-map listed `finished` offsets above the committed `offset` as finished: they are skipped. */
  'partition.inherited': PartitionInheritedEvent;
  /** A fetch brought `size` records; `highWatermark` is the partition's end offset then. */
  'partition.fetched': PartitionFetchedEvent;
  /** A batch was admitted to `lanes` lanes (or began collapsed, or, with `transactionScope: 'batch'`, began). */
  'batch.started': BatchStartedEvent;
  /** Every message of a batch ran and is marked done (batches may complete out of order). */
  'batch.completed': BatchCompletedEvent;
  /** A lane's run failed: once the running lanes ended, the partition backs off `retryInMs`, then runs what they left unfinished collapsed. */
  'batch.failed': BatchFailedEvent;
  /** A lane began a run: its waiting messages, in offset order. */
  'lane.started': LaneStartedEvent;
  /** A lane's run ended; `revoked` (with `error`): the partition was taken away before it ended. */
  'lane.finished': LaneFinishedEvent;
  /** A message that kept failing was copied to its dead-letter topic and skipped. */
  'message.dead-lettered': MessageDeadLetteredEvent;
  /** A message that kept failing was skipped (`deadLetterQueue({ topic: false })`). */
  'message.skipped': MessageSkippedEvent;
  /** Offsets were committed; `metadata` is the user's, `finished` counts what each done-map lists above its offset. */
  'batch.committed': BatchCommittedEvent;
  /** A job began (`perform` is about to run). */
  'job.started': JobStartedEvent;
  /** A job's `perform` returned. */
  'job.performed': JobPerformedEvent;
  /** A job was dropped by a `discardOn` rule. */
  'job.discarded': UndecodedJobRef;
  /** A job went to the delay tiers: found before its time (`early`), or a `retryOn` with a wait (`retry`). */
  'job.scheduled': JobScheduledEvent;
  /** A job failed: `attempt` counts this message's failures on this worker; `revoked` means it was cut short by a revocation. */
  'job.failed': JobFailedEvent;
  /** This process took the recurring-job ticker over: it read each schedule's state and enqueues their ticks from now on. */
  'recurring.owned': RecurringOwnedEvent;
  /** This process no longer runs the ticker (a rebalance, a crash of its consumer, a stop). */
  'recurring.released': GroupRef;
  /** A recurring job was enqueued for its tick (in one transaction with the schedule's state). */
  'recurring.enqueued': RecurringEnqueuedEvent;
  /** Ticks from `first` to `last` were missed and left out by the schedule's policy (`skip`, or the older ones under `run-once`). */
  'recurring.skipped': RecurringSkippedEvent;
  /**
   * Something works, but not as configured or expected. Kinds: `topic.partitions-mismatch` (at
   * start, an existing topic has fewer partitions than its route's `config({ partitions })` asks;
   * it is used as it is, and `message` gives both numbers and what to do).
   */
  warning: WarningEvent;
  /** Something failed that the worker goes on after: bad input, a commit, a discovery, a restart. */
  error: ErrorEvent;
}

/** The typed emitter of {@link WorkerEvents} that workers and apps extend. */
export class WorkerEmitter extends TypedEmitter<WorkerEvents> {}
