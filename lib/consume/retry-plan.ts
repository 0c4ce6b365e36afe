// Invariant: only a message known to be the one that failed is dead-lettered or skipped; every other failure is retried, collapsed.
import { UnrecoverableError } from '../errors.ts';
import type { DeadLetterQueueSettings, BackoffSettings } from '../routing/route.ts';
import { backoffDelay } from './backoff.ts';
import { RetryBudget } from './retry-budget.ts';

/** The route's settings a retry plan decides by. */
export interface RetryPlanSettings {
  /** The backoff between failed attempts (the route's over the app's, with defaults applied). */
  backoff: BackoffSettings;
  /** Where messages that keep failing go; without it every failure is retried. */
  deadLetterQueue: DeadLetterQueueSettings | undefined;
  /** `longRunningJob()`: fetching is paused while a batch runs. */
  longRunningJob: boolean;
}

/** One lane of a failed attempt. */
export interface AttemptLane {
  /** The offsets the lane was given, in order. */
  offsets: readonly number[];
  /** True when the lane ran and threw (false when it returned or never started). */
  failed: boolean;
}

/** What a failed attempt of a batch left behind. */
export interface FailedAttempt {
  /** The attempt that failed: 1 for the batch's first run. */
  attempt: number;
  /** True when the attempt ran collapsed (one lane, after an earlier failure). */
  collapsed: boolean;
  /** The batch's offsets, in order. */
  batch: readonly number[];
  /** The attempt's lanes. */
  lanes: readonly AttemptLane[];
  /** True for an offset marked as done (during this attempt or before it). */
  isDone(offset: number): boolean;
  /** The attempt's first error. */
  error: Error;
}

/**
 * What to do after a failed attempt. `dead-letter` sends `offset` to `topic`; `skip` drops it with a
 * `message.skipped` event (`topic: false`); both are followed at once by a collapsed run of the rest,
 * or, when the dispatch fails, by a retry after `retryInMs`. `retry` waits `retryInMs` (fetching
 * paused) and runs what is not done collapsed.
 */
export type RetryStep =
  | { action: 'dead-letter'; offset: number; attempts: number; topic: string; retryInMs: number }
  | { action: 'skip'; offset: number; attempts: number; retryInMs: number }
  | { action: 'retry'; retryInMs: number };

/**
 * Decides, from each failed attempt of one partition's batches, whether to dead-letter, skip or
 * retry, and how long to back off. Pure: no Kafka, no clock; the processor acts on its steps.
 *
 * The failing message is known when the attempt ran as one lane (collapsed, or a batch that had a
 * single lane): it is the batch's first message not done. After a parallel failure it is not, and
 * the attempt is charged to the message each failed lane stopped at (see {@link RetryBudget}).
 * Every retry runs collapsed: one lane, in offset order, of the messages not done.
 */
export class RetryPlan {
  readonly #settings: RetryPlanSettings;
  readonly #budget: RetryBudget;

  constructor(settings: RetryPlanSettings) {
    this.#settings = settings;
    this.#budget = new RetryBudget(settings.deadLetterQueue);
  }

  /** True when fetching of the partition stays paused while a batch runs (`longRunningJob()`). */
  get holdsFetchingWhileRunning(): boolean {
    return this.#settings.longRunningJob;
  }

  /** The wait before try number `attempt + 1` of something that failed `attempt` times. */
  backoff(attempt: number): number {
    return backoffDelay(this.#settings.backoff, attempt);
  }

  /** Charges a failed attempt to the budget and says what to do next. */
  failed(failure: FailedAttempt): RetryStep {
    const retryInMs = this.backoff(failure.attempt);
    const guilty = failure.batch.find((offset) => !failure.isDone(offset));
    const canTell = failure.collapsed || failure.lanes.length === 1;
    const suspects = canTell ? [] : stoppedAt(failure);
    const decision = this.#budget.failed(canTell ? guilty : undefined, failure.error instanceof UnrecoverableError, suspects);
    const deadLetterQueue = this.#settings.deadLetterQueue;
    if (decision === 'retry' || guilty === undefined || !deadLetterQueue) return { action: 'retry', retryInMs };
    const attempts = this.#budget.attempts;
    if (deadLetterQueue.topic === false) return { action: 'skip', offset: guilty, attempts, retryInMs };
    return { action: 'dead-letter', offset: guilty, attempts, topic: deadLetterQueue.topic, retryInMs };
  }

  /** The message of the last `dead-letter` or `skip` step is gone: its budget is no longer counted. */
  deadLettered(): void {
    this.#budget.deadLettered();
  }

  /** A batch went through: every budget is full again. */
  succeeded(): void {
    this.#budget.succeeded();
  }

  /** What the collapsed retry of `batch` runs, as one lane: its messages not done (none: the batch is complete). */
  retryRun<M extends { offset: number }>(batch: readonly M[], isDone: (offset: number) => boolean): M[] {
    return batch.filter((message) => !isDone(message.offset));
  }
}

/** After a parallel failure, the offset each failed lane stopped at (its first one not done). */
function stoppedAt(failure: FailedAttempt): number[] {
  const suspects: number[] = [];
  for (const lane of failure.lanes) {
    if (!lane.failed) continue;
    const offset = lane.offsets.find((candidate) => !failure.isDone(candidate));
    if (offset !== undefined) suspects.push(offset);
  }
  return suspects;
}
