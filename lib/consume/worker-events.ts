import type { BadInputKind } from '../errors.ts';
import type { DroppedPart } from './dead-letter.ts';
import { TypedEmitter } from '../events.ts';

/** Where something happened. */
export interface PartitionRef {
  topic: string;
  partition: number;
}

/**
 * Events of a worker (also re-emitted by the app). Names are checked by the compiler:
 * `app.on('job.faild', ...)` does not type-check.
 */
export interface WorkerEvents {
  'worker.started': { groupId: string; topics: string[] };
  /** `stop()` began: fetching stopped; running work gets up to `timeoutMs` to finish. */
  'worker.stopping': { groupId: string; runningJobs: number; runningConsumers: number; timeoutMs: number };
  'worker.stopped': { groupId: string; unfinished: number };
  /** The group is rebalancing: commits are held until this member has joined again. */
  'group.rebalancing': { groupId: string };
  /** This worker's share of the group's partitions changed (also its first assignment). */
  'group.rebalanced': { groupId: string; assigned: PartitionRef[]; revoked: PartitionRef[]; kept: PartitionRef[] };
  'topic.discovered': { pattern: string; topic: string };
  'partition.assigned': PartitionRef;
  'partition.revoked': PartitionRef & { runningLanes: number };
  'partition.paused': PartitionRef & { reason: string };
  'partition.resumed': PartitionRef;
  /** The previous owner's done-map listed `finished` offsets above the committed `offset` as finished: they are skipped. */
  'partition.inherited': PartitionRef & { offset: number; finished: number };
  /** A fetch brought `size` records; `highWatermark` is the partition's end offset then (lag = highWatermark − committed offset). */
  'partition.fetched': PartitionRef & { highWatermark: number; size: number };
  'batch.started': PartitionRef & { firstOffset: number; lastOffset: number; size: number; lanes: number; collapsed: boolean; attempt: number };
  'batch.completed': PartitionRef & { firstOffset: number; lastOffset: number; size: number };
  'batch.failed': PartitionRef & { firstOffset: number; lastOffset: number; error: Error; attempt: number; retryInMs: number };
  'lane.started': PartitionRef & { lane: number; size: number; collapsed: boolean; at: number };
  /** `revoked` (with `error`): the partition was taken away before the lane ended; its work runs again on the next owner. */
  'lane.finished': PartitionRef & { lane: number; size: number; at: number; error?: Error; revoked?: boolean };
  /** `dropped`: what the copy left out to fit its topic (empty for a whole copy). */
  'message.dead-lettered': PartitionRef & { offset: number; attempts: number; error: Error; deadLetterTopic: string; dropped: DroppedPart[] };
  'message.skipped': PartitionRef & { offset: number; attempts: number; error: Error };
  /**
   * `metadata` is the user's; `finished` counts the offsets above `offset` its done-map listed as
   * finished. `durationMs`: how long the broker took to accept the commit.
   */
  'batch.committed': { offsets: { topic: string; partition: number; offset: number; metadata: string | null; finished: number }[]; at: number; durationMs: number };
  'job.started': PartitionRef & { offset: number; lane: number; jobId: string; jobClass: string; executions: number };
  'job.performed': PartitionRef & { offset: number; lane: number; jobId: string; jobClass: string; executions: number; startedAt: number; finishedAt: number };
  'job.discarded': PartitionRef & { offset: number; lane: number; jobId: string | undefined; jobClass: string | undefined; error: Error };
  /** A job went to the delay tiers: found before its time (`early`), or a `retryOn` with a wait (`retry`). */
  'job.scheduled': PartitionRef & { offset: number; lane: number; jobId: string; jobClass: string; scheduledAt: Date; delayTopic: string; reason: 'early' | 'retry' };
  /**
   * `attempt`: how many times this message has failed on this worker, this time included.
   * `revoked`: the partition was taken away while the job ran (it runs again on the next owner).
   */
  'job.failed': PartitionRef & { offset: number; lane: number; jobId: string | undefined; jobClass: string | undefined; attempt: number; revoked: boolean; error: Error };
  /** This process took the recurring-job ticker over: it read each schedule's state and enqueues their ticks from now on. */
  'recurring.owned': { groupId: string; schedules: string[] };
  /** This process no longer runs the ticker (a rebalance, a crash of its consumer, a stop). */
  'recurring.released': { groupId: string };
  /** A tick's job was enqueued (committed with the schedule's state). `lateMs`: how long after the tick. */
  'recurring.enqueued': { schedule: string; tick: Date; jobId: string; jobClass: string; topic: string; lateMs: number };
  /** Ticks from `first` to `last` were missed and left out by the schedule's policy (`skip`, or the older ones under `run-once`). */
  'recurring.skipped': { schedule: string; first: Date; last: Date; policy: string };
  /**
   * Something works, but not as configured or expected. Kinds: `topic.partitions-mismatch` (at
   * start, an existing topic has fewer partitions than its route's `config({ partitions })` asks;
   * it is used as it is, and `message` gives both numbers and what to do).
   */
  warning: { message: string; kind: string; topic?: string; partition?: number };
  error: { error: Error; topic?: string; partition?: number; offset?: number; kind?: BadInputKind | string };
}

export class WorkerEmitter extends TypedEmitter<WorkerEvents> {}
