import { setMaxListeners } from 'node:events';
import type { Dispatcher } from '../dispatch/dispatcher.ts';
import { MessageTooLargeError, PartitionerError, PartitionRevokedError, UnmarkedOffsetsError, toError } from '../errors.ts';
import type { KafkaTransaction } from '../kafka/producer.ts';
import type { RawRecord } from '../kafka/records.ts';
import type { PauseSettings, RouteDefinition } from '../routing/route.ts';
import type { CommitPosition } from './committer.ts';
import { attachContext, attemptMemoryOf, consumeLane, type AttemptMemory, type Consumer } from './consumer.ts';
import { DeadLetterHeaders, deadLetterMaxBytes, deadLetterMessage, isTooLargeError, smallestDeadLetterCopy, type DeadLetterCopy } from './dead-letter.ts';
import { decodeCommitMetadata, encodeCommitMetadata } from './done-map.ts';
import { defaultReducer, splitIntoLanes } from './lanes.ts';
import { Message } from '../kafka/inbound-message.ts';
import { OffsetTracker, type Materialized } from './offset-tracker.ts';
import { RetryPlan, type RetryStep } from './retry-plan.ts';
import { sleep } from './sleep.ts';
import { PartitionTransactions, type PendingMark } from './transactions.ts';
import type { WorkerEmitter } from './worker-events.ts';

/** Settings of one partition's processor. */
export interface ProcessorSettings {
  route: RouteDefinition;
  topic: string;
  partition: number;
  pause: PauseSettings;
  /** Pause fetching this partition while this many messages wait to start. */
  maxBufferedMessages: number;
  /** A fetched batch is run in batches of at most this many messages. */
  maxBatchSize: number;
  /**
   * The offset and metadata committed for this partition when it was assigned (read before the
   * first batch): the user's metadata and the done-map of the previous owner.
   */
  committedAtAssignment: Promise<{ offset: number; metadata: string | null } | undefined>;
  /** Reads the group's committed offset and metadata for this partition now. */
  fetchCommitted(): Promise<{ offset: number; metadata: string | null } | undefined>;
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
  /** Asks for `position` to be committed; `urgent` skips the commit interval. */
  commit(position: CommitPosition, urgent: boolean): void;
  /** A transaction committed `position` with its output. */
  committedInTransaction(position: Materialized): void;
  /** A new transactional producer for this partition (its id fences a previous owner's). */
  transactionalSender(): TransactionalSender;
  dispatcher(): Dispatcher;
  events: WorkerEmitter;
}

const LISTENERS_PER_SIGNAL = 10_000;

/** The transactional producer a partition's transactions run on. */
export interface TransactionalSender {
  connect(): Promise<void>;
  beginTransaction(): Promise<KafkaTransaction>;
  disconnect(): Promise<void>;
}

interface LanePlan {
  laneIds: number[];
  lanes: Message[][];
}

/** How one lane's run ended: it returned, it threw, or it never started (revoked or stopping). */
type LaneOutcome = { ran: true; error: Error | undefined } | { ran: false };

/**
 * Tracked messages not yet marked that pause fetching, as a multiple of `maxBufferedMessages`: a
 * `manualOffsetManagement()` consumer that never marks would otherwise grow the tracker without end.
 */
const UNMARKED_BOUND_FACTOR = 10;

/**
 * Runs one assigned partition: takes batches from the fetch loop without blocking it, runs each
 * batch's lanes concurrently (one batch at a time, so per-key order holds across batches), tracks
 * marks, asks for commits of the materialized offset only, retries failed batches collapsed after
 * a backoff, and stops cleanly on revocation or shutdown.
 */
export class PartitionProcessor {
  readonly topic: string;
  readonly partition: number;
  readonly #settings: ProcessorSettings;
  readonly #ports: ProcessorPorts;
  readonly #tracker: OffsetTracker;
  readonly #abort = new AbortController();
  readonly #sleepAbort = new AbortController();
  readonly #consumers = new Map<number, Consumer>();
  readonly #pauseReasons = new Set<string>();
  #queue: Message[][] = [];
  #queued = 0;
  #nextOffset: number | undefined;
  #running: Promise<void> | undefined;
  #runningLanes = 0;
  #stopping = false;
  #revoked = false;
  #paused = false;
  #committedMetadata: string | null = null;
  /** The read made at assignment; `undefined` when it failed (it was reported, and is read again). */
  readonly #assignedCommit: Promise<{ committed: { offset: number; metadata: string | null } | undefined } | undefined>;
  #prepared = false;
  readonly #retryPlan: RetryPlan;
  /** Attempts of messages of the batch in progress; cleared when a batch ends. */
  readonly #attempts = new Map<number, AttemptMemory>();
  readonly #transactions: PartitionTransactions;
  #transactionalSender: Promise<TransactionalSender> | undefined;

  constructor(settings: ProcessorSettings, ports: ProcessorPorts) {
    this.#settings = settings;
    this.#ports = ports;
    this.topic = settings.topic;
    this.partition = settings.partition;
    this.#tracker = new OffsetTracker(settings.route.virtualPartitions?.offsetMetadataStrategy ?? 'current');
    this.#retryPlan = new RetryPlan({ pause: settings.pause, deadLetterQueue: settings.route.deadLetterQueue, longRunningJob: settings.route.longRunningJob });
    this.#transactions = new PartitionTransactions({
      topic: this.topic,
      partition: this.partition,
      groupId: settings.groupId,
      begin: async () => (await this.#transactionalSenderReady()).beginTransaction(),
      resetProducer: () => this.#closeTransactionalSender(),
      revoked: () => this.#revoked,
      preview: (marks) => this.#tracker.preview(marks),
      commitMetadata: (position) => encodeCommitMetadata({ ...position, finished: this.#tracker.finished() }).metadata,
      apply: (marks, committed) => {
        for (const { offset, metadata } of marks) this.#tracker.mark(offset, metadata);
        if (committed) this.#ports.committedInTransaction(committed);
        this.#commit(false);
      },
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
    return this.#runningLanes;
  }

  /** Messages fetched and waiting to start. */
  get buffered(): number {
    return this.#queued;
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
    const next = this.#nextOffset;
    const unseen = next === undefined ? records : records.filter((record) => record.offset >= next);
    if (unseen.length === 0) return;
    this.#nextOffset = unseen[unseen.length - 1]!.offset + 1;
    const fresh = unseen.filter((record) => !this.#tracker.isMarked(record.offset));
    if (fresh.length === 0) return;
    // Smaller batches let the slowest lane hold back fewer finished jobs from the commit.
    for (let start = 0; start < fresh.length; start += this.#settings.maxBatchSize) {
      this.#queue.push(fresh.slice(start, start + this.#settings.maxBatchSize).map((record) => new Message(record)));
    }
    this.#queued += fresh.length;
    if (this.#queued >= this.#settings.maxBufferedMessages) this.#setPaused('backpressure', true);
    this.#kick();
  }

  /** The partition was taken away: abort running work, drop queued work, commit nothing more. */
  revoke(): void {
    if (this.#revoked) return;
    this.#revoked = true;
    this.#abort.abort(new PartitionRevokedError(this.topic, this.partition));
    this.#sleepAbort.abort();
    this.#queue = [];
    this.#queued = 0;
    this.#ports.events.emit('partition.revoked', { topic: this.topic, partition: this.partition, runningLanes: this.#runningLanes });
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
    await this.#closeTransactionalSender();
    return idle;
  }

  /** Pause state is lost when kafkajs restarts its consumer: apply it again. */
  reapplyPause(): void {
    if (this.#paused) this.#ports.pausePartition();
  }

  #kick(): void {
    if (this.#running || this.#queue.length === 0 || this.#stopping || this.#revoked) return;
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
    while (this.#queue.length > 0 && !this.#stopping && !this.#revoked) {
      const batch = this.#queue.shift()!;
      this.#queued -= batch.length;
      // Resume at half the bound, so the next fetch arrives before the queue runs dry.
      if (this.#queued <= this.#settings.maxBufferedMessages / 2) this.#setPaused('backpressure', false);
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
    let plan = this.#split(batch);
    this.#tracker.track(plan.lanes.map((lane) => lane.map((message) => message.offset)));
    let collapsed = false;
    for (let attempt = 1; ; attempt += 1) {
      this.#ports.events.emit('batch.started', { ...ref, firstOffset, lastOffset, size: batch.length, lanes: plan.lanes.length, collapsed, attempt });
      if (this.#retryPlan.holdsFetchingWhileRunning) this.#setPaused('long-running', true);
      const lanes = plan;
      const inBatchTransaction = route.virtualPartitions?.transactionScope === 'batch';
      let outcomes: LaneOutcome[] = [];
      const runLanes = async () => {
        outcomes = await this.#runLanes(lanes, collapsed);
        return laneErrors(outcomes);
      };
      const errors = inBatchTransaction
        ? await this.#transactions.runBatch(runLanes, () => this.#automaticMarks(lanes, outcomes))
        : await runLanes();
      if (this.#retryPlan.holdsFetchingWhileRunning) this.#setPaused('long-running', false);
      if (this.#revoked) return;
      // A lane that returned is done even when a sibling failed (its marks are not in an aborted
      // transaction): the collapsed retry must not run it again.
      if (!inBatchTransaction) for (const { offset } of this.#automaticMarks(plan, outcomes)) this.#tracker.mark(offset);
      this.#boundUnmarked();
      if (errors.length === 0) {
        this.#retryPlan.succeeded();
        // Within commitIntervalMs: a commit per batch would queue behind fetches on the broker
        // connection and delay them (measured: p99 latency).
        this.#commit(false);
        if (batch.every((message) => this.#tracker.isMarked(message.offset))) {
          this.#ports.events.emit('batch.completed', { ...ref, firstOffset, lastOffset, size: batch.length });
        }
        return;
      }
      this.#commit(true);
      const isDone = (offset: number) => this.#tracker.isMarked(offset);
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
        this.#setPaused('backoff', true);
        await this.#sleep(retryInMs);
        this.#setPaused('backoff', false);
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
   * Plain consumers without manual offset management: the last message of each lane that ran and
   * returned. A lane that threw or never started (the processor was stopping) is not marked.
   */
  #automaticMarks(plan: LanePlan, outcomes: readonly LaneOutcome[]): PendingMark[] {
    const { route } = this.#settings;
    if (route.kind !== 'consumer' || route.manualOffsetManagement) return [];
    return plan.lanes
      .filter((_, index) => {
        const outcome = outcomes[index];
        return outcome?.ran === true && outcome.error === undefined;
      })
      .map((lane) => ({ offset: lane[lane.length - 1]!.offset, metadata: null }));
  }

  /**
   * Pauses fetching while the tracker holds more unmarked messages than its bound (a consumer
   * with manual offsets that does not mark), with an error event saying why; resumes at half.
   */
  #boundUnmarked(): void {
    const bound = this.#settings.maxBufferedMessages * UNMARKED_BOUND_FACTOR;
    const unmarked = this.#tracker.pending;
    const held = this.#pauseReasons.has('unmarked');
    if (!held && unmarked > bound) {
      const oldest = this.#tracker.unmarked()[0];
      const error = new UnmarkedOffsetsError(
        `${this.topic}/${this.partition} holds ${unmarked} delivered messages not marked as consumed (oldest offset ${oldest}), ` +
          `over the bound of ${bound} (${UNMARKED_BOUND_FACTOR} × maxBufferedMessages); fetching is paused until marks bring it ` +
          `to ${bound / 2}. A manualOffsetManagement() consumer must mark every message it finished (markAsConsumed).`,
      );
      this.#ports.events.emit('error', { error, topic: this.topic, partition: this.partition, ...(oldest === undefined ? {} : { offset: oldest }), kind: 'unmarked-offsets' });
      this.#setPaused('unmarked', true);
    } else if (held && unmarked <= bound / 2) {
      this.#setPaused('unmarked', false);
    }
  }

  #transactionalSenderReady(): Promise<TransactionalSender> {
    if (!this.#transactionalSender) {
      const sender = this.#ports.transactionalSender();
      this.#transactionalSender = sender.connect().then(() => sender);
      this.#transactionalSender.catch(() => (this.#transactionalSender = undefined));
    }
    return this.#transactionalSender;
  }

  async #closeTransactionalSender(): Promise<void> {
    const closing = this.#transactionalSender;
    this.#transactionalSender = undefined;
    const sender = await closing?.catch(() => undefined);
    await sender?.disconnect().catch(() => undefined);
  }

  /**
   * Sends the failing message to the dead-letter topic (or skips it with `topic: false`) and marks
   * it. Returns false when the dispatch failed: the message then stays and is retried.
   */
  async #deadLetter(message: Message, step: Exclude<RetryStep, { action: 'retry' }>, error: Error): Promise<boolean> {
    const at = { topic: this.topic, partition: this.partition, offset: message.offset };
    const { attempts } = step;
    try {
      if (step.action === 'skip') {
        this.#ports.events.emit('message.skipped', { ...at, attempts, error });
      } else {
        const dispatcher = this.#ports.dispatcher();
        const target = {
          topic: step.topic,
          partitions: this.#settings.deadLetterPartitions,
          maxBytes: deadLetterMaxBytes(dispatcher.options.maxMessageBytes, this.#settings.deadLetterMaxMessageBytes),
        };
        const context = { groupId: this.#settings.groupId, attempts, error };
        const send = async (copy: DeadLetterCopy) => {
          if (this.#settings.route.transactional) {
            // The copy and the mark commit together: the message is dead-lettered exactly once.
            await this.#transactions.run(async () => {
              await dispatcher.produceSync([copy.message]);
              this.#mark(message, null);
            }, true);
          } else {
            await dispatcher.produceSync([copy.message]);
          }
          return copy;
        };
        const first = deadLetterMessage(message, target, context);
        // A broker that accepts less than its topic says (a lower broker-wide limit) gets the
        // smallest copy: retrying the same one would block the partition for good.
        const sent = await send(first).catch((cause: unknown) => {
          if (!isTooLargeError(cause) || first.dropped.length === 3) throw cause;
          return send(smallestDeadLetterCopy(message, target, context));
        });
        if (sent.dropped.length > 0) {
          const reduced = new MessageTooLargeError(
            `The dead-letter copy of ${this.topic}/${this.partition}@${message.offset} would be ${sent.fullBytes} bytes, over what ` +
              `${step.topic} accepts (${target.maxBytes} bytes: the dispatcher's maxMessageBytes and the topic's max.message.bytes); ` +
              `it was sent without its ${sent.dropped.join(', ')} (header ${DeadLetterHeaders.dropped}). The original stays at ` +
              `${this.topic}/${this.partition}@${message.offset} while the topic retains it.`,
          );
          this.#ports.events.emit('error', { error: reduced, ...at, kind: 'dead-letter-reduced' });
        }
        this.#ports.events.emit('message.dead-lettered', { ...at, attempts, error, deadLetterTopic: step.topic, dropped: sent.dropped });
      }
    } catch (cause) {
      const dispatchError = toError(cause);
      this.#ports.events.emit('error', { error: dispatchError, ...at, kind: 'dead-letter-dispatch' });
      return false;
    }
    if (this.#revoked) return true;
    this.#tracker.mark(message.offset);
    this.#retryPlan.deadLettered();
    this.#commit(true);
    return true;
  }

  /**
   * Before the first batch: the metadata committed for the partition (read at assignment, read
   * again here until it works when that failed). A transactional route first fences the previous
   * owner (waiting for the transaction it left open to end) and then reads the committed offset,
   * now stable; records below it were delivered from an older committed offset and are already done.
   */
  async #prepare(): Promise<void> {
    const { route } = this.#settings;
    const fences = route.transactional || route.virtualPartitions?.transactionScope === 'batch';
    if (!fences) {
      const assigned = await this.#assignedCommit;
      if (assigned) {
        this.#resume(assigned.committed);
        return;
      }
    }
    for (let attempt = 1; !this.#revoked && !this.#stopping; attempt += 1) {
      try {
        if (fences) await this.#transactions.prepare();
        const committed = await this.#settings.fetchCommitted();
        if (fences && committed && committed.offset >= 0) this.#dropBelow(committed.offset);
        this.#resume(committed);
        return;
      } catch (cause) {
        const error = toError(cause);
        this.#ports.events.emit('error', { error, topic: this.topic, partition: this.partition, kind: fences ? 'transaction-prepare' : 'offset-fetch' });
        await this.#sleep(this.#retryPlan.backoff(attempt));
      }
    }
  }

  /**
   * Reads the committed metadata: the user's part for the consumers, the done-map for the tracker.
   * Queued records the previous owner finished are dropped; later ones are dropped by `enqueue`.
   */
  #resume(committed: { offset: number; metadata: string | null } | undefined): void {
    const resumed = decodeCommitMetadata(committed?.metadata ?? null, committed?.offset ?? -1);
    this.#committedMetadata = resumed.metadata;
    if (!committed || committed.offset < 0) return;
    this.#tracker.resume({ offset: committed.offset, metadata: resumed.metadata }, resumed.finished);
    if (resumed.finished.length === 0) return;
    this.#queue = this.#queue.map((batch) => batch.filter((message) => !this.#tracker.isMarked(message.offset))).filter((batch) => batch.length > 0);
    this.#queued = this.#queue.reduce((sum, batch) => sum + batch.length, 0);
    this.#ports.events.emit('partition.inherited', { topic: this.topic, partition: this.partition, offset: committed.offset, finished: resumed.finished.length });
  }

  #dropBelow(offset: number): void {
    this.#queue = this.#queue.map((batch) => batch.filter((message) => message.offset >= offset)).filter((batch) => batch.length > 0);
    this.#queued = this.#queue.reduce((sum, batch) => sum + batch.length, 0);
    if (this.#nextOffset === undefined || this.#nextOffset < offset) this.#nextOffset = offset;
  }

  #split(batch: Message[]): LanePlan {
    const settings = this.#settings.route.virtualPartitions;
    if (!settings) return { laneIds: [0], lanes: [batch] };
    const split = splitIntoLanes(batch, {
      maxPartitions: settings.maxPartitions,
      distribution: settings.distribution,
      reducer: settings.reducer ?? defaultReducer,
      keyOf: (message) => settings.partitioner(message.partitionerInput()),
    });
    if (split.error !== undefined) {
      const reason = toError(split.error).message;
      const error = new PartitionerError(
        `The virtual-partition partitioner of route "${this.topic}" threw on ${this.topic}/${this.partition} ` +
          `(batch ${batch[0]!.offset}..${batch[batch.length - 1]!.offset}): ${reason}. The batch runs as one lane.`,
        { cause: split.error },
      );
      this.#ports.events.emit('error', { error, topic: this.topic, partition: this.partition, offset: batch[0]!.offset, kind: 'partitioner' });
    }
    return split;
  }

  /** Runs every lane to its end (a failing lane does not stop its siblings); one outcome per lane. */
  #runLanes(plan: LanePlan, collapsed: boolean): Promise<LaneOutcome[]> {
    return Promise.all(plan.lanes.map((messages, index) => this.#runLane(plan.laneIds[index]!, messages, collapsed)));
  }

  async #runLane(lane: number, messages: Message[], collapsed: boolean): Promise<LaneOutcome> {
    if (this.#revoked || this.#stopping) return { ran: false };
    const ref = { topic: this.topic, partition: this.partition, lane, size: messages.length };
    const consumer = this.#consumerFor(lane);
    attachContext(consumer, {
      topic: this.topic,
      partition: this.partition,
      lane,
      collapsed,
      signal: this.#abort.signal,
      committedMetadata: this.#committedMetadata,
      events: this.#ports.events,
      mark: (message, metadata) => this.#mark(message, metadata),
      shouldStop: () => this.#revoked || this.#stopping,
      stopSignal: this.#sleepAbort.signal,
      holdFetching: (hold) => this.#setPaused(`hold:${lane}`, hold),
      attemptsOf: (offset) => attemptMemoryOf(this.#attempts, offset),
      transaction: (body) => this.#transactions.run(body, !this.#settings.route.virtualPartitions || collapsed),
      dispatcher: () => this.#ports.dispatcher(),
    });
    this.#runningLanes += 1;
    this.#ports.events.emit('lane.started', { ...ref, collapsed, at: Date.now() });
    let error: Error | undefined;
    try {
      await consumeLane(consumer, messages);
    } catch (cause) {
      error = toError(cause);
    } finally {
      this.#runningLanes -= 1;
    }
    this.#ports.events.emit('lane.finished', { ...ref, at: Date.now(), ...(error ? { error, revoked: this.#revoked } : {}) });
    return { ran: true, error };
  }

  #consumerFor(lane: number): Consumer {
    let consumer = this.#consumers.get(lane);
    if (!consumer) {
      consumer = this.#ports.createConsumer();
      this.#consumers.set(lane, consumer);
    }
    return consumer;
  }

  #mark(message: Message, metadata: string | null): boolean {
    if (this.#revoked || message.topic !== this.topic || message.partition !== this.partition) return false;
    if (PartitionTransactions.captureMark(this.topic, this.partition, { offset: message.offset, metadata })) return true;
    const marked = this.#tracker.mark(message.offset, metadata);
    if (marked) {
      this.#commit(false);
      if (this.#pauseReasons.has('unmarked')) this.#boundUnmarked();
    }
    return marked || this.#tracker.isMarked(message.offset);
  }

  #commit(urgent: boolean): void {
    if (this.#revoked) return;
    const position = this.#tracker.commitPoint();
    if (!position) return;
    this.#ports.commit({ ...position, finishedCount: this.#tracker.finishedCount, finished: () => this.#tracker.finished() }, urgent);
  }

  #setPaused(reason: string, on: boolean): void {
    if (on) this.#pauseReasons.add(reason);
    else this.#pauseReasons.delete(reason);
    const shouldPause = this.#pauseReasons.size > 0 && !this.#revoked;
    if (shouldPause === this.#paused) return;
    this.#paused = shouldPause;
    const ref = { topic: this.topic, partition: this.partition };
    if (shouldPause) {
      this.#ports.pausePartition();
      this.#ports.events.emit('partition.paused', { ...ref, reason });
    } else {
      this.#ports.resumePartition();
      this.#ports.events.emit('partition.resumed', ref);
    }
  }

  #sleep(ms: number): Promise<void> {
    return sleep(ms, this.#sleepAbort.signal);
  }
}

function laneErrors(outcomes: readonly LaneOutcome[]): Error[] {
  return outcomes.flatMap((outcome) => (outcome.ran && outcome.error ? [outcome.error] : []));
}
