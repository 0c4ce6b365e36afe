import { setMaxListeners } from 'node:events';
import type { Dispatcher } from '../dispatch/dispatcher.ts';
import { PartitionRevokedError, UnmarkedOffsetsError, toError } from '../errors.ts';
import type { Message } from '../kafka/inbound-message.ts';
import type { RawRecord, OffsetAndMetadata } from '../kafka/records.ts';
import type { BackoffSettings, RouteDefinition } from '../routing/route.ts';
import { BatchQueue } from './batch-queue.ts';
import type { CommitSource } from './committer.ts';
import { attemptMemoryOf, type AttemptMemory, type Consumer } from './consumer.ts';
import { DeadLetterDispatch } from './dead-letter-dispatch.ts';
import { decodeCommitMetadata, encodeCommitMetadata } from './done-map.ts';
import { startPosition } from './fencing.ts';
import { laneErrors, LaneRunner, type LaneOutcome } from './lane-runner.ts';
import { OffsetTracker } from './offset-tracker.ts';
import { PauseState } from './pause-state.ts';
import { RetryPlan, type RetryStep } from './retry-plan.ts';
import { sleep } from './sleep.ts';
import { TransactionalProducer, type TransactionalSender } from './transactional-producer.ts';
import { PartitionTransactions } from './transactions.ts';
import type { WorkerEmitter } from './worker-events.ts';

/** Settings of one partition's processor. */
export interface ProcessorSettings {
  route: RouteDefinition;
  topic: string;
  partition: number;
  backoff: BackoffSettings;
  /** Pause fetching this partition while this many messages wait to start. */
  maxBufferedMessages: number;
  /** A fetched batch is run in batches of at most this many messages. */
  maxBatchSize: number;
  /**
   * The offset and metadata committed for this partition when it was assigned (read before the
   * first batch): the user's metadata and the done-map of the previous owner.
   */
  committedAtAssignment: Promise<OffsetAndMetadata | undefined>;
  /** Reads the group's committed offset and metadata for this partition now. */
  fetchCommitted(): Promise<OffsetAndMetadata | undefined>;
  /** The consumer group (written into dead-letter headers). */
  groupId: string;
  /** Partitions of the route's dead-letter topic. */
  deadLetterPartitions: number;
  /** The `max.message.bytes` of the route's dead-letter topic (what one record batch may take). */
  deadLetterMaxMessageBytes: number;
}

/** What a processor needs from the worker around it. */
export interface ProcessorPorts {
  createConsumer(): Consumer;
  pausePartition(): void;
  resumePartition(): void;
  /** Asks for a commit of the position `source` gives when the commit is sent; `urgent` skips the commit interval. */
  commit(source: CommitSource, urgent: boolean): void;
  /** A transaction committed `position` with its output. */
  committedInTransaction(position: OffsetAndMetadata): void;
  /** A new transactional producer for this partition (its id fences a previous owner's). */
  transactionalSender(): TransactionalSender;
  dispatcher(): Dispatcher;
  events: WorkerEmitter;
}

const LISTENERS_PER_SIGNAL = 10_000;

/**
 * Tracked messages not yet marked that pause fetching, as a multiple of `maxBufferedMessages`: a
 * `manualOffsetManagement()` consumer that never marks would otherwise grow the tracker without end.
 */
const UNMARKED_BOUND_FACTOR = 10;

/**
 * Runs one assigned partition: takes batches from the fetch loop without blocking it, runs each
 * batch's lanes concurrently (one batch at a time, so per-key order holds across batches), tracks
 * marks, asks for commits of the materialized offset only, retries failed batches collapsed after
 * a backoff, and stops cleanly on revocation or shutdown. Its collaborators hold each concern:
 * the {@link BatchQueue}, the {@link PauseState}, the {@link RetryPlan}, the {@link LaneRunner},
 * the {@link DeadLetterDispatch}, the partition's transactions and its {@link TransactionalProducer}.
 */
export class PartitionProcessor {
  readonly topic: string;
  readonly partition: number;
  readonly #settings: ProcessorSettings;
  readonly #ports: ProcessorPorts;
  readonly #tracker: OffsetTracker;
  readonly #abort = new AbortController();
  readonly #sleepAbort = new AbortController();
  readonly #queue: BatchQueue;
  readonly #pause: PauseState;
  readonly #retryPlan: RetryPlan;
  readonly #lanes: LaneRunner;
  readonly #deadLetters: DeadLetterDispatch;
  readonly #producer: TransactionalProducer;
  readonly #transactions: PartitionTransactions;
  #running: Promise<void> | undefined;
  #stopping = false;
  #revoked = false;
  #committedMetadata: string | null = null;
  /** The read made at assignment; `undefined` when it failed (it was reported, and is read again). */
  readonly #assignedCommit: Promise<{ committed: OffsetAndMetadata | undefined } | undefined>;
  #prepared = false;
  /** True while the committer holds this partition's request and has not read its position yet. */
  #commitAsked = false;
  /** The commit point, worked out when the committer sends (once per commit, not once per mark). */
  readonly #commitSource: CommitSource = {
    position: () => {
      this.#commitAsked = false;
      if (this.#revoked) return undefined;
      const position = this.#tracker.commitPoint();
      return position && { ...position, finishedCount: this.#tracker.finishedCount, finished: () => this.#tracker.finished() };
    },
  };
  /** Attempts of messages of the batch in progress; cleared when a batch ends. */
  readonly #attempts = new Map<number, AttemptMemory>();

  constructor(settings: ProcessorSettings, ports: ProcessorPorts) {
    this.#settings = settings;
    this.#ports = ports;
    this.topic = settings.topic;
    this.partition = settings.partition;
    const { route, topic, partition } = settings;
    const { events } = ports;
    this.#tracker = new OffsetTracker(route.virtualPartitions?.offsetMetadataStrategy ?? 'current');
    this.#pause = new PauseState({
      topic,
      partition,
      pausePartition: () => ports.pausePartition(),
      resumePartition: () => ports.resumePartition(),
      revoked: () => this.#revoked,
      events,
    });
    this.#queue = new BatchQueue(settings, {
      isDone: (offset) => this.#tracker.isMarked(offset),
      backpressure: (on) => this.#pause.set('backpressure', on),
    });
    this.#retryPlan = new RetryPlan({ backoff: settings.backoff, deadLetterQueue: route.deadLetterQueue, longRunningJob: route.longRunningJob });
    this.#producer = new TransactionalProducer(() => ports.transactionalSender());
    this.#transactions = new PartitionTransactions({
      topic,
      partition,
      groupId: settings.groupId,
      begin: () => this.#producer.begin(),
      resetProducer: () => this.#producer.close(),
      revoked: () => this.#revoked,
      preview: (marks) => this.#tracker.preview(marks),
      commitMetadata: (position) => encodeCommitMetadata({ ...position, finished: this.#tracker.finished() }).metadata,
      apply: (marks, committed) => {
        for (const { offset, metadata } of marks) this.#tracker.mark(offset, metadata);
        if (committed) ports.committedInTransaction(committed);
        this.#commit(false);
      },
    });
    this.#lanes = new LaneRunner({
      topic,
      partition,
      route,
      createConsumer: () => ports.createConsumer(),
      events,
      signal: this.#abort.signal,
      stopSignal: this.#sleepAbort.signal,
      stopped: () => this.#revoked || this.#stopping,
      revoked: () => this.#revoked,
      committedMetadata: () => this.#committedMetadata,
      mark: (message, metadata) => this.#mark(message, metadata),
      holdFetching: (lane, hold) => this.#pause.set(`hold:${lane}`, hold),
      attemptsOf: (offset) => attemptMemoryOf(this.#attempts, offset),
      transaction: (body, offsetsInTransaction) => this.#transactions.run(body, offsetsInTransaction),
      dispatcher: () => ports.dispatcher(),
    });
    this.#deadLetters = new DeadLetterDispatch(settings, {
      dispatcher: () => ports.dispatcher(),
      events,
      ...(route.transactional
        ? {
            withMark: (message: Message, send: () => Promise<void>) =>
              this.#transactions.run(async () => {
                await send();
                this.#mark(message, null);
              }, true),
          }
        : {}),
    });
    // Handled at once: a partition may never get a batch, and a transactional one reads its own.
    this.#assignedCommit = settings.committedAtAssignment.then(
      (committed) => ({ committed }),
      () => undefined,
    );
    // Every running job of the partition may listen to this one signal.
    setMaxListeners(LISTENERS_PER_SIGNAL, this.#abort.signal);
  }

  get revoked(): boolean {
    return this.#revoked;
  }

  /** Lanes running now (a job each on job topics, a `consume` call each on consumer topics). */
  get runningLanes(): number {
    return this.#lanes.running;
  }

  /** Messages fetched and waiting to start. */
  get buffered(): number {
    return this.#queue.size;
  }

  /** True while a batch runs or waits for its retry. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Accepts fetched records. Records below the next expected offset were delivered before (kafkajs
   * refetches from the committed offset after every rejoin) and are dropped: they are running or
   * done. So are records a previous owner finished (its done-map, read before the first batch).
   */
  enqueue(records: readonly RawRecord[]): void {
    if (this.#revoked || this.#stopping) return;
    if (this.#queue.enqueue(records)) this.#kick();
  }

  /** The partition was taken away: abort running work, drop queued work, commit nothing more. */
  revoke(): void {
    if (this.#revoked) return;
    this.#revoked = true;
    this.#abort.abort(new PartitionRevokedError(this.topic, this.partition));
    this.#sleepAbort.abort();
    this.#queue.clear();
    this.#ports.events.emit('partition.revoked', { topic: this.topic, partition: this.partition, runningLanes: this.#lanes.running });
  }

  /** Starts nothing new; resolves when the running batch has finished (or was abandoned). */
  drain(): Promise<void> {
    this.#stopping = true;
    this.#sleepAbort.abort();
    return this.#running ?? Promise.resolve();
  }

  /**
   * Ends this partition's transactional producer once no transaction runs (after revoke or drain),
   * or after `timeoutMs` with one still open: that transaction is abandoned (it never commits; the
   * next owner's producer fences it). Resolves false when a transaction was abandoned.
   */
  async close(timeoutMs: number): Promise<boolean> {
    const bound = new AbortController();
    const idle = await Promise.race([
      this.#transactions.idle().then(() => true),
      sleep(timeoutMs, bound.signal).then(() => false),
    ]);
    bound.abort();
    await this.#producer.close();
    return idle;
  }

  /** Pause state is lost when kafkajs restarts its consumer: apply it again. */
  reapplyPause(): void {
    this.#pause.reapply();
  }

  #kick(): void {
    if (this.#running || this.#queue.empty || this.#stopping || this.#revoked) return;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
      this.#kick();
    });
  }

  async #loop(): Promise<void> {
    if (!this.#prepared) {
      this.#prepared = true;
      await this.#prepare();
    }
    while (!this.#queue.empty && !this.#stopping && !this.#revoked) {
      const batch = this.#queue.next()!;
      try {
        await this.#process(batch);
        this.#attempts.clear();
      } catch (cause) {
        const error = toError(cause);
        this.#ports.events.emit('error', { error, topic: this.topic, partition: this.partition, kind: 'engine' });
      }
    }
  }

  async #process(batch: Message[]): Promise<void> {
    const { route } = this.#settings;
    const firstOffset = batch[0]!.offset;
    const lastOffset = batch[batch.length - 1]!.offset;
    const ref = { topic: this.topic, partition: this.partition };
    const isDone = (offset: number) => this.#tracker.isMarked(offset);
    const inBatchTransaction = route.virtualPartitions?.transactionScope === 'batch';
    let plan = this.#lanes.plan(batch);
    this.#tracker.track(plan.lanes.map((lane) => lane.map((message) => message.offset)));
    let collapsed = false;
    for (let attempt = 1; ; attempt += 1) {
      this.#ports.events.emit('batch.started', { ...ref, firstOffset, lastOffset, size: batch.length, lanes: plan.lanes.length, collapsed, attempt });
      if (this.#retryPlan.holdsFetchingWhileRunning) this.#pause.set('long-running', true);
      const lanes = plan;
      let outcomes: LaneOutcome[] = [];
      const runLanes = async () => {
        outcomes = await this.#lanes.run(lanes, collapsed);
        return laneErrors(outcomes);
      };
      const errors = inBatchTransaction
        ? await this.#transactions.runBatch(runLanes, () => this.#lanes.automaticMarks(lanes, outcomes))
        : await runLanes();
      if (this.#retryPlan.holdsFetchingWhileRunning) this.#pause.set('long-running', false);
      if (this.#revoked) return;
      // A lane that returned is done even when a sibling failed (its marks are not in an aborted
      // transaction): the collapsed retry must not run it again.
      if (!inBatchTransaction) for (const { offset } of this.#lanes.automaticMarks(plan, outcomes)) this.#tracker.mark(offset);
      this.#boundUnmarked();
      if (errors.length === 0) {
        this.#retryPlan.succeeded();
        // Within commitIntervalMs: a commit per batch would queue behind fetches on the broker
        // connection and delay them (measured: p99 latency).
        this.#commit(false);
        if (batch.every((message) => isDone(message.offset))) {
          this.#ports.events.emit('batch.completed', { ...ref, firstOffset, lastOffset, size: batch.length });
        }
        return;
      }
      this.#commit(true);
      const step = this.#retryPlan.failed({
        attempt,
        collapsed,
        batch: batch.map((message) => message.offset),
        lanes: plan.lanes.map((lane, index) => {
          const outcome = outcomes[index];
          return { offsets: lane.map((message) => message.offset), failed: outcome?.ran === true && outcome.error !== undefined };
        }),
        isDone,
        error: errors[0]!,
      });
      const skipped = step.action !== 'retry' && (await this.#deadLetter(batch.find((message) => message.offset === step.offset)!, step, errors[0]!));
      if (this.#revoked || this.#stopping) return;
      if (!skipped) {
        const { retryInMs } = step;
        this.#ports.events.emit('batch.failed', { ...ref, firstOffset, lastOffset, error: errors[0]!, attempt, retryInMs });
        this.#pause.set('backoff', true);
        await this.#sleep(retryInMs);
        this.#pause.set('backoff', false);
        if (this.#revoked || this.#stopping) return;
      }
      const remaining = this.#retryPlan.retryRun(batch, isDone);
      if (remaining.length === 0) {
        this.#retryPlan.succeeded();
        this.#commit(true);
        this.#ports.events.emit('batch.completed', { ...ref, firstOffset, lastOffset, size: batch.length });
        return;
      }
      collapsed = true;
      plan = { laneIds: [0], lanes: [remaining] };
      this.#tracker.relane([remaining.map((message) => message.offset)]);
    }
  }

  /**
   * Dead-letters (or skips) the failing message and marks it. Returns false when the dispatch
   * failed: the message then stays and is retried.
   */
  async #deadLetter(message: Message, step: Exclude<RetryStep, { action: 'retry' }>, error: Error): Promise<boolean> {
    if (!(await this.#deadLetters.dispatch(message, step, error))) return false;
    if (this.#revoked) return true;
    this.#tracker.mark(message.offset);
    this.#retryPlan.deadLettered();
    this.#commit(true);
    return true;
  }

  /**
   * Pauses fetching while the tracker holds more unmarked messages than its bound (a consumer
   * with manual offsets that does not mark), with an error event saying why; resumes at half.
   */
  #boundUnmarked(): void {
    const bound = this.#settings.maxBufferedMessages * UNMARKED_BOUND_FACTOR;
    const unmarked = this.#tracker.pending;
    const held = this.#pause.holds('unmarked');
    if (!held && unmarked > bound) {
      const oldest = this.#tracker.unmarked()[0];
      const error = new UnmarkedOffsetsError(
        `${this.topic}/${this.partition} holds ${unmarked} delivered messages not marked as consumed (oldest offset ${oldest}), ` +
          `over the bound of ${bound} (${UNMARKED_BOUND_FACTOR} × maxBufferedMessages); fetching is paused until marks bring it ` +
          `to ${bound / 2}. A manualOffsetManagement() consumer must mark every message it finished (markAsConsumed).`,
      );
      this.#ports.events.emit('error', { error, topic: this.topic, partition: this.partition, ...(oldest === undefined ? {} : { offset: oldest }), kind: 'unmarked-offsets' });
      this.#pause.set('unmarked', true);
    } else if (held && unmarked <= bound / 2) {
      this.#pause.set('unmarked', false);
    }
  }

  /** Before the first batch: where the partition starts (see {@link startPosition}). */
  async #prepare(): Promise<void> {
    const { route } = this.#settings;
    const start = await startPosition({
      topic: this.topic,
      partition: this.partition,
      fences: route.transactional || route.virtualPartitions?.transactionScope === 'batch',
      assigned: this.#assignedCommit,
      fence: () => this.#transactions.prepare(),
      fetchCommitted: () => this.#settings.fetchCommitted(),
      stopped: () => this.#revoked || this.#stopping,
      wait: (attempt) => this.#sleep(this.#retryPlan.backoff(attempt)),
      events: this.#ports.events,
    });
    if (!start) return;
    if (start.fenced && start.committed && start.committed.offset >= 0) this.#queue.dropBelow(start.committed.offset);
    this.#resume(start.committed);
  }

  /**
   * Reads the committed metadata: the user's part for the consumers, the done-map for the tracker.
   * Queued records the previous owner finished are dropped; later ones are dropped by `enqueue`.
   */
  #resume(committed: OffsetAndMetadata | undefined): void {
    const resumed = decodeCommitMetadata(committed?.metadata ?? null, committed?.offset ?? -1);
    this.#committedMetadata = resumed.metadata;
    if (!committed || committed.offset < 0) return;
    this.#tracker.resume({ offset: committed.offset, metadata: resumed.metadata }, resumed.finished);
    if (resumed.finished.length === 0) return;
    this.#queue.dropDone();
    this.#ports.events.emit('partition.inherited', { topic: this.topic, partition: this.partition, offset: committed.offset, finished: resumed.finished.length });
  }

  #mark(message: Message, metadata: string | null): boolean {
    if (this.#revoked || message.topic !== this.topic || message.partition !== this.partition) return false;
    if (PartitionTransactions.captureMark(this.topic, this.partition, { offset: message.offset, metadata })) return true;
    const marked = this.#tracker.mark(message.offset, metadata);
    if (marked) {
      this.#commit(false);
      if (this.#pause.holds('unmarked')) this.#boundUnmarked();
    }
    return marked || this.#tracker.isMarked(message.offset);
  }

  /** Asks for a commit once: later marks need not ask again until the committer has read the position. */
  #commit(urgent: boolean): void {
    if (this.#revoked || (this.#commitAsked && !urgent)) return;
    this.#commitAsked = true;
    this.#ports.commit(this.#commitSource, urgent);
  }

  #sleep(ms: number): Promise<void> {
    return sleep(ms, this.#sleepAbort.signal);
  }
}
