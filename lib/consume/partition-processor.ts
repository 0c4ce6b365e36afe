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
import { laneErrors, LaneRunner, type LaneOutcome, type LanePlan } from './lane-runner.ts';
import { LaneScheduler } from './lane-scheduler.ts';
import { defaultReducer } from './lanes.ts';
import { OffsetTracker } from './offset-tracker.ts';
import { IdlePoll, type IdlePollSettings } from './idle-poll.ts';
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
  /** A fetched batch is admitted in batches of at most this many messages; a lane's run takes at most this many. */
  maxBatchSize: number;
  /**
   * The offset and metadata committed for this partition when it was assigned (read before the
   * first batch): the user's metadata and the done-map of the previous owner.
   */
  committedAtAssignment: Promise<OffsetAndMetadata | undefined>;
  /** Set to keep the partition out of most fetches while it is caught up and idle (see {@link IdlePoll}). */
  idlePoll?: IdlePollSettings;
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

/** A lane's run that ended while a failure waits for the lanes to stop. */
interface EndedRun {
  lane: number;
  messages: Message[];
  outcome: LaneOutcome;
}

/** A batch admitted to the lanes, until every message of it has run. */
interface OpenBatch {
  messages: Message[];
  /** Messages whose run is over. */
  settled: number;
}

/**
 * Runs one assigned partition: takes batches from the fetch loop without blocking it, runs its
 * lanes without a batch barrier (the {@link LaneScheduler} gives a free lane its next run while
 * slower lanes still run, keeping per-key order), tracks marks, asks for commits of the
 * materialized offset only, retries failures collapsed after a backoff, and stops cleanly on
 * revocation or shutdown. A `transactionScope: 'batch'` route runs one batch at a time instead
 * (its transaction needs the batch's end). Its collaborators hold each concern: the
 * {@link BatchQueue}, the {@link PauseState}, the {@link RetryPlan}, the {@link LaneRunner}, the
 * {@link DeadLetterDispatch}, the partition's transactions and its {@link TransactionalProducer}.
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
  readonly #idlePoll: IdlePoll | undefined;
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
  /** Attempts of messages in progress; forgotten when their run (or their batch, or the retry) ends. */
  readonly #attempts = new Map<number, AttemptMemory>();
  /** Who runs which messages, without a batch barrier (unused in batch-at-a-time mode). */
  readonly #scheduler: LaneScheduler<Message>;
  /** True for `transactionScope: 'batch'`: one batch at a time, its lanes in one transaction. */
  readonly #batchAtATime: boolean;
  /** Admitted batches not yet run whole, in admission order. */
  #openBatches: OpenBatch[] = [];
  /** Runs in progress. */
  #inFlight = 0;
  /** Set by the first failed run: no run starts until the lanes stopped and the retry is over. */
  #failure: EndedRun[] | undefined;
  /** A batch whose keys could not be read: it runs alone, once the lanes are idle. */
  #unsplittable: Message[] | undefined;
  /** Wakes the loop when a run ends or records arrive. */
  #wake: (() => void) | undefined;

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
    const lanes = route.virtualPartitions;
    this.#batchAtATime = lanes?.transactionScope === 'batch';
    this.#scheduler = new LaneScheduler({
      maxPartitions: lanes?.maxPartitions ?? 1,
      distribution: lanes?.distribution ?? 'consistent',
      reducer: lanes?.reducer ?? defaultReducer,
    });
    // Handled at once: a partition may never get a batch, and a transactional one reads its own.
    this.#assignedCommit = settings.committedAtAssignment.then(
      (committed) => ({ committed }),
      () => undefined,
    );
    // Every running job of the partition may listen to this one signal.
    setMaxListeners(LISTENERS_PER_SIGNAL, this.#abort.signal);
    this.#idlePoll = settings.idlePoll
      ? new IdlePoll(settings.idlePoll, {
          hold: (on) => this.#pause.set('idle', on),
          schedule: (callback, ms) => {
            const timer = setTimeout(callback, ms);
            timer.unref();
            return () => clearTimeout(timer);
          },
        })
      : undefined;
    this.#idlePoll?.start();
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
    return this.#queue.size + this.#scheduler.waiting;
  }

  /** True while a lane runs or a failure waits for its retry. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Accepts fetched records. Records below the next expected offset were delivered before (kafkajs
   * refetches from the committed offset after every rejoin) and are dropped: they are running or
   * done. So are records a previous owner finished (its done-map, read before the first batch).
   * `highWatermark` is the partition's end offset when the broker answered the fetch.
   */
  enqueue(records: readonly RawRecord[], highWatermark?: number): void {
    if (this.#revoked || this.#stopping) return;
    const last = records[records.length - 1];
    this.#idlePoll?.fetched(last !== undefined && highWatermark !== undefined && last.offset + 1 >= highWatermark);
    if (this.#queue.enqueue(records)) this.#kick();
    else if (!this.#running) this.#idlePoll?.idle();
  }

  /** The partition was taken away: abort running work, drop queued work, commit nothing more. */
  revoke(): void {
    if (this.#revoked) return;
    this.#revoked = true;
    this.#idlePoll?.stop();
    this.#abort.abort(new PartitionRevokedError(this.topic, this.partition));
    this.#sleepAbort.abort();
    this.#queue.clear();
    this.#scheduler.clear();
    this.#openBatches = [];
    this.#unsplittable = undefined;
    this.#wake?.();
    this.#ports.events.emit('partition.revoked', { topic: this.topic, partition: this.partition, runningLanes: this.#lanes.running });
  }

  /** Starts nothing new; resolves when the running lanes have finished (or were abandoned). */
  drain(): Promise<void> {
    this.#stopping = true;
    this.#idlePoll?.stop();
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
    if (this.#running) {
      this.#wake?.();
      return;
    }
    if (this.#queue.empty || this.#stopping || this.#revoked) return;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
      this.#kick();
      if (!this.#running) this.#idlePoll?.idle();
    });
  }

  async #loop(): Promise<void> {
    if (!this.#prepared) {
      this.#prepared = true;
      await this.#prepare();
    }
    if (this.#batchAtATime) {
      while (!this.#queue.empty && !this.#stopping && !this.#revoked) await this.#processAlone(this.#queue.next()!);
      return;
    }
    await this.#flow();
  }

  /**
   * The lanes without a batch barrier: admits queued batches while fewer than `maxBatchSize`
   * messages wait, gives every free lane its next run, and on a failure starts nothing more until
   * the running lanes ended, then retries what they left unfinished (collapsed). Returns when
   * nothing waits or runs, or once stopped and the running lanes ended.
   */
  async #flow(): Promise<void> {
    for (;;) {
      const stopped = this.#stopping || this.#revoked;
      if (!stopped && !this.#failure) {
        this.#admit();
        this.#startRuns();
      }
      if (this.#inFlight === 0) {
        if (stopped) return;
        if (this.#failure) {
          await this.#guard(() => this.#recover());
          continue;
        }
        const unsplittable = this.#unsplittable;
        if (unsplittable) {
          this.#unsplittable = undefined;
          await this.#processAlone(unsplittable);
          continue;
        }
        if (this.#scheduler.idle && this.#queue.empty) return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  /** Moves queued batches into the lanes while fewer than a batch of messages wait there. */
  #admit(): void {
    const { maxBatchSize } = this.#settings;
    while (!this.#unsplittable && this.#scheduler.waiting < maxBatchSize && !this.#queue.empty) {
      const batch = this.#queue.next()!;
      let lanes: number;
      try {
        lanes = this.#scheduler.admit(batch, (message) => this.#lanes.keyOf(message));
      } catch {
        // Run alone after everything before it, as one lane; its run reports the partitioner's error.
        this.#unsplittable = batch;
        return;
      }
      this.#tracker.track([batch.map((message) => message.offset)]);
      this.#openBatches.push({ messages: batch, settled: 0 });
      const firstOffset = batch[0]!.offset;
      const lastOffset = batch[batch.length - 1]!.offset;
      this.#ports.events.emit('batch.started', { topic: this.topic, partition: this.partition, firstOffset, lastOffset, size: batch.length, lanes, collapsed: false, attempt: 1 });
    }
  }

  #startRuns(): void {
    const { maxBatchSize } = this.#settings;
    for (const lane of this.#scheduler.startable()) {
      const messages = this.#scheduler.take(lane, maxBatchSize);
      if (messages) void this.#guard(() => this.#runOne(lane, messages));
    }
  }

  async #runOne(lane: number, messages: Message[]): Promise<void> {
    this.#inFlight += 1;
    if (this.#inFlight === 1 && this.#retryPlan.holdsFetchingWhileRunning) this.#pause.set('long-running', true);
    let outcome: LaneOutcome = { ran: false };
    try {
      // The run is one lane of the tracker: marking a message marks the run's earlier ones.
      this.#tracker.relane([messages.map((message) => message.offset)]);
      outcome = await this.#lanes.runOne(lane, messages);
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0 && this.#retryPlan.holdsFetchingWhileRunning) this.#pause.set('long-running', false);
      this.#wake?.();
    }
    this.#ended(lane, messages, outcome);
  }

  /** A run ended: marks a plain consumer's run, then frees its lane, or keeps it for the retry. */
  #ended(lane: number, messages: Message[], outcome: LaneOutcome): void {
    if (this.#revoked || !outcome.ran) return;
    // A run that returned is done even when a sibling failed: the collapsed retry must not run it again.
    for (const { offset } of this.#lanes.automaticMarks({ laneIds: [lane], lanes: [messages] }, [outcome])) this.#tracker.mark(offset);
    this.#boundUnmarked();
    if (outcome.error || this.#failure) {
      (this.#failure ??= []).push({ lane, messages, outcome });
      return;
    }
    this.#scheduler.finish(lane);
    this.#retryPlan.succeeded();
    if (this.#attempts.size > 0) for (const message of messages) this.#attempts.delete(message.offset);
    // Within commitIntervalMs: a commit per run would queue behind fetches on the broker
    // connection and delay them (measured: p99 latency).
    this.#commit(false);
    this.#settle(messages);
  }

  /**
   * After a failure, with every lane stopped: the collapsed retry of the messages the ended runs
   * left unfinished (the window handed out), then their lanes are free again.
   */
  async #recover(): Promise<void> {
    const runs = this.#failure!;
    const window = runs.flatMap((run) => run.messages).sort((a, b) => a.offset - b.offset);
    const plan: LanePlan = { laneIds: runs.map((run) => run.lane), lanes: runs.map((run) => run.messages) };
    const outcomes = runs.map((run) => run.outcome);
    const settled = await this.#retry(window, plan, outcomes, laneErrors(outcomes), false);
    if (!settled) return;
    this.#failure = undefined;
    for (const run of runs) this.#scheduler.finish(run.lane);
    this.#attempts.clear();
    this.#settle(window);
  }

  /** Counts the messages' runs as over, and reports each batch whose messages all ran (completed when all are done). */
  #settle(messages: readonly Message[]): void {
    const open = this.#openBatches;
    for (const message of messages) {
      const batch = open.find((candidate) => candidate.messages[candidate.messages.length - 1]!.offset >= message.offset);
      if (batch) batch.settled += 1;
    }
    if (!open.some((batch) => batch.settled === batch.messages.length)) return;
    this.#openBatches = open.filter((batch) => batch.settled < batch.messages.length);
    for (const batch of open) {
      if (batch.settled < batch.messages.length || !batch.messages.every((message) => this.#tracker.isMarked(message.offset))) continue;
      const firstOffset = batch.messages[0]!.offset;
      const lastOffset = batch.messages[batch.messages.length - 1]!.offset;
      this.#ports.events.emit('batch.completed', { topic: this.topic, partition: this.partition, firstOffset, lastOffset, size: batch.messages.length });
    }
  }

  /** Runs `body`, reporting what it throws as an engine error. */
  async #guard(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (cause) {
      const error = toError(cause);
      this.#ports.events.emit('error', { error, topic: this.topic, partition: this.partition, kind: 'engine' });
    }
  }

  /** One batch to its end, its lanes together: batch-at-a-time mode, and a batch whose keys could not be read. */
  async #processAlone(batch: Message[]): Promise<void> {
    await this.#guard(async () => {
      const plan = this.#lanes.plan(batch);
      this.#tracker.track(plan.lanes.map((lane) => lane.map((message) => message.offset)));
      const { outcomes, errors } = await this.#attempt(batch, plan, false, 1);
      if (this.#revoked) return;
      await this.#retry(batch, plan, outcomes, errors, true);
    });
    this.#attempts.clear();
  }

  /** One attempt at `batch`: its lanes run (in one transaction with `transactionScope: 'batch'`), then a plain consumer's lanes that returned are marked. */
  async #attempt(batch: Message[], plan: LanePlan, collapsed: boolean, attempt: number): Promise<{ outcomes: LaneOutcome[]; errors: Error[] }> {
    const firstOffset = batch[0]!.offset;
    const lastOffset = batch[batch.length - 1]!.offset;
    const inBatchTransaction = this.#batchAtATime;
    this.#ports.events.emit('batch.started', { topic: this.topic, partition: this.partition, firstOffset, lastOffset, size: batch.length, lanes: plan.lanes.length, collapsed, attempt });
    if (this.#retryPlan.holdsFetchingWhileRunning) this.#pause.set('long-running', true);
    let outcomes: LaneOutcome[] = [];
    const runLanes = async () => {
      outcomes = await this.#lanes.run(plan, collapsed);
      return laneErrors(outcomes);
    };
    const errors = inBatchTransaction ? await this.#transactions.runBatch(runLanes, () => this.#lanes.automaticMarks(plan, outcomes)) : await runLanes();
    if (this.#retryPlan.holdsFetchingWhileRunning) this.#pause.set('long-running', false);
    if (this.#revoked) return { outcomes, errors };
    // A lane that returned is done even when a sibling failed (its marks are not in an aborted
    // transaction): the collapsed retry must not run it again.
    if (!inBatchTransaction) for (const { offset } of this.#lanes.automaticMarks(plan, outcomes)) this.#tracker.mark(offset);
    this.#boundUnmarked();
    return { outcomes, errors };
  }

  /**
   * From an attempt at `batch` that ended with `errors`: on success commits; on a failure the
   * retry plan decides (dead-letter, skip or back off), and what is not done runs again as one
   * collapsed lane until it all is. `completes`: report `batch.completed` here (batch-at-a-time).
   * Resolves true once the batch is through, false when the partition stopped first.
   */
  async #retry(batch: Message[], firstPlan: LanePlan, firstOutcomes: LaneOutcome[], firstErrors: Error[], completes: boolean): Promise<boolean> {
    const firstOffset = batch[0]!.offset;
    const lastOffset = batch[batch.length - 1]!.offset;
    const ref = { topic: this.topic, partition: this.partition };
    const isDone = (offset: number) => this.#tracker.isMarked(offset);
    let plan = firstPlan;
    let outcomes = firstOutcomes;
    let errors = firstErrors;
    let collapsed = false;
    for (let attempt = 1; ; attempt += 1) {
      if (attempt > 1) {
        ({ outcomes, errors } = await this.#attempt(batch, plan, collapsed, attempt));
        if (this.#revoked) return false;
      }
      if (errors.length === 0) {
        this.#retryPlan.succeeded();
        // Within commitIntervalMs: a commit per batch would queue behind fetches on the broker
        // connection and delay them (measured: p99 latency).
        this.#commit(false);
        if (completes && batch.every((message) => isDone(message.offset))) {
          this.#ports.events.emit('batch.completed', { ...ref, firstOffset, lastOffset, size: batch.length });
        }
        return true;
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
      if (this.#revoked || this.#stopping) return false;
      if (!skipped) {
        const { retryInMs } = step;
        this.#ports.events.emit('batch.failed', { ...ref, firstOffset, lastOffset, error: errors[0]!, attempt, retryInMs });
        this.#pause.set('backoff', true);
        await this.#sleep(retryInMs);
        this.#pause.set('backoff', false);
        if (this.#revoked || this.#stopping) return false;
      }
      const remaining = this.#retryPlan.retryRun(batch, isDone);
      if (remaining.length === 0) {
        this.#retryPlan.succeeded();
        this.#commit(true);
        if (completes) this.#ports.events.emit('batch.completed', { ...ref, firstOffset, lastOffset, size: batch.length });
        return true;
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
   * Also pauses (`run-ahead`, no error) while it holds more than the bound in all: without a batch
   * barrier fast lanes run ahead of a slow one, and what they finish waits above the commit point.
   */
  #boundUnmarked(): void {
    const bound = this.#settings.maxBufferedMessages * UNMARKED_BOUND_FACTOR;
    const ahead = this.#tracker.pending;
    const runningAhead = this.#pause.holds('run-ahead');
    if (!runningAhead && ahead > bound) this.#pause.set('run-ahead', true);
    else if (runningAhead && ahead <= bound / 2) this.#pause.set('run-ahead', false);
    const unmarked = this.#tracker.unmarkedCount;
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
      if (this.#pause.holds('unmarked') || this.#pause.holds('run-ahead')) this.#boundUnmarked();
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
