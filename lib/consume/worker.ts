import type { KafkaClient as Kafka } from '../kafka/kafkajs.ts';
import type { Dispatcher } from '../dispatch/dispatcher.ts';
import { ConsumerRestartError, InvalidOptionError, ShutdownTimeoutError, toError } from '../errors.ts';
import type { JobRegistry } from '../job/registry.ts';
import { KafkaConsumerClient, type ConsumerSettings } from '../kafka/consumer-client.ts';
import { KafkaProducerSender } from '../kafka/producer.ts';
import type { Assignment, RawBatch, OffsetAndMetadata } from '../kafka/records.ts';
import type { BackoffSettings, RouteDefinition } from '../routing/route.ts';
import { diffAssignments, partitionKey } from './assignment.ts';
import { backoffDelay, RESTART_BACKOFF } from './backoff.ts';
import { Committer } from './committer.ts';
import { Consumer } from './consumer.ts';
import { DEFAULT_TOPIC_MAX_MESSAGE_BYTES } from './dead-letter.ts';
import { DelayConsumer, delayTierIdlePoll } from './delay-consumer.ts';
import type { IdlePollSettings } from './idle-poll.ts';
import { JobConsumer } from './job-consumer.ts';
import type { JobHold } from './job-hold.ts';
import { PartitionProcessor } from './partition-processor.ts';
import type { WorkerEmitter } from './worker-events.ts';

/** Engine settings of a worker: the app's resolved configuration (defaults in `config.ts`) and what it learnt of the topics. */
export interface WorkerSettings {
  /** The consumer group. */
  groupId: string;
  /** Group membership and fetch settings. */
  consumer: ConsumerSettings;
  /** App-wide backoff after failures; routes may override it. */
  backoff: BackoffSettings;
  /** Per partition: pause fetching while this many messages wait to start. */
  maxBufferedMessages: number;
  /** Most messages in one batch (one set of lanes, one commit point). */
  maxBatchSize: number;
  /** Longest a mark waits before its offset is committed, in ms. */
  commitIntervalMs: number;
  /** How long `stop()` lets running jobs finish before it gives up on them, in ms. */
  shutdownTimeoutMs: number;
  /** Partitions of each dead-letter topic the routes use. */
  deadLetterPartitions: ReadonlyMap<string, number>;
  /** `max.message.bytes` of each dead-letter topic the routes use (the broker's default when unknown). */
  deadLetterMaxMessageBytes: ReadonlyMap<string, number>;
  /** Prefix of the transactional ids (`<prefix><group>-<topic>-<partition>`). */
  transactionalIdPrefix: string;
  /** The app's pause of jobs: job lanes start no job while it is held. */
  jobHold: JobHold;
}

/** The load of one assigned partition at one moment. */
export interface PartitionLoad {
  topic: string;
  partition: number;
  /** Lanes running now. */
  runningLanes: number;
  /** Messages fetched and waiting to start. */
  buffered: number;
}

/**
 * A consumer-group member running the app's routes: one {@link PartitionProcessor} per assigned
 * partition, a shared {@link Committer}, and assignment tracking from kafkajs's join events.
 */
export class Worker {
  readonly #kafka: Kafka;
  readonly #routes: Map<string, RouteDefinition>;
  readonly #registry: JobRegistry;
  readonly #dispatcher: () => Dispatcher;
  readonly #events: WorkerEmitter;
  readonly #settings: WorkerSettings;
  readonly #processors = new Map<string, PartitionProcessor>();
  readonly #committer: Committer;
  #client: KafkaConsumerClient | undefined;
  /** The client's start (connect, subscribe, first join) while it is under way; never rejects. */
  #clientStarting: Promise<void> = Promise.resolve();
  #assignment: Assignment = new Map();
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #joined: (() => void) | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  /** New consumers tried since kafkajs last gave up on one; reset by a successful join. */
  #restartAttempts = 0;

  constructor(kafka: Kafka, routes: readonly RouteDefinition[], registry: JobRegistry, dispatcher: () => Dispatcher, events: WorkerEmitter, settings: WorkerSettings) {
    this.#kafka = kafka;
    this.#routes = new Map(routes.map((route) => [route.topic, route]));
    this.#registry = registry;
    this.#dispatcher = dispatcher;
    this.#events = events;
    this.#settings = settings;
    this.#committer = new Committer(
      {
        commit: (offsets) => (this.#client ? this.#client.commit(offsets) : Promise.reject(new Error('not connected'))),
        owns: (topic, partition) => this.#owns(topic, partition),
        events,
      },
      settings.commitIntervalMs,
    );
  }

  get groupId(): string {
    return this.#settings.groupId;
  }

  /** What runs and waits now on each assigned partition (for reports and metrics). */
  partitionLoads(): PartitionLoad[] {
    return [...this.#processors.values()].map((processor) => ({
      topic: processor.topic,
      partition: processor.partition,
      runningLanes: processor.runningLanes,
      buffered: processor.buffered,
    }));
  }

  /**
   * Joins the group and starts consuming; resolves once the first assignment arrived (or after the
   * rebalance timeout), or at once when {@link stop} is called meanwhile.
   */
  async start(): Promise<void> {
    const joined = new Promise<void>((resolve) => (this.#joined = resolve));
    await this.#startClient();
    const timeout = this.#settings.consumer.rebalanceTimeout;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([joined, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]);
    clearTimeout(timer);
    if (this.#stopping) return;
    this.#events.emit('worker.started', { groupId: this.groupId, topics: [...this.#routes.keys()] });
  }

  /**
   * Stops fetching, lets running batches finish within `shutdownTimeoutMs`, commits what is done,
   * and leaves the group. Work not finished by then is abandoned (its signal aborts) and runs
   * again on the partition's next owner. Its transactions get `shutdownTimeoutMs` again to end
   * (a revoked one aborts); one still open then is abandoned too (it never commits; the next
   * owner's producer fences it). A commit held by a rebalance in progress is sent after the
   * rejoin, for the partitions still owned, within the first bound. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    const deadline = Date.now() + this.#settings.shutdownTimeoutMs;
    clearTimeout(this.#restartTimer);
    this.#joined?.();
    await this.#clientStarting;
    this.#client?.pauseAll(this.#assignment);
    const processors = [...this.#processors.values()];
    const running = (kind: RouteDefinition['kind']) =>
      processors.reduce((sum, processor) => sum + (this.#routes.get(processor.topic)?.kind === kind ? processor.runningLanes : 0), 0);
    this.#events.emit('worker.stopping', { groupId: this.groupId, runningJobs: running('jobs'), runningConsumers: running('consumer') + running('delay'), timeoutMs: this.#settings.shutdownTimeoutMs });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(processors.map((processor) => processor.drain())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining(deadline)))),
    ]);
    clearTimeout(timer);
    // Commit before abandoning unfinished batches: their commits carry the jobs that did finish
    // (offset and done-map), which a revoked partition could no longer commit.
    await this.#committer.flush(deadline);
    let unfinished = 0;
    for (const processor of processors) {
      if (processor.busy) {
        unfinished += 1;
        processor.revoke();
      }
    }
    // Revoked work gets as long again to end its transactions (a revoked one aborts and rolls back).
    const closed = await Promise.all(processors.map((processor) => processor.close(this.#settings.shutdownTimeoutMs)));
    processors.forEach((processor, index) => {
      if (closed[index]) return;
      const { topic, partition } = processor;
      const error = new ShutdownTimeoutError(
        `A transaction on ${topic}/${partition} was still open after twice shutdownTimeoutMs (${this.#settings.shutdownTimeoutMs} ms each): ` +
          'it was abandoned (nothing it produced or marked is committed; the next owner fences it). ' +
          "Let jobs end their transaction when this.signal aborts, or raise shutdownTimeoutMs.",
      );
      this.#events.emit('error', { error, topic, partition, kind: 'shutdown' });
    });
    await this.#client?.stop().catch((cause: unknown) => {
      this.#events.emit('error', { error: toError(cause), kind: 'shutdown' });
    });
    this.#client = undefined;
    this.#processors.clear();
    this.#events.emit('worker.stopped', { groupId: this.groupId, unfinished });
  }

  /** Connects a new consumer client and starts it; a client that fails to start is closed again. */
  async #startClient(): Promise<void> {
    const client = new KafkaConsumerClient(this.#kafka, this.#settings.groupId, this.#settings.consumer);
    this.#client = client;
    const subscriptions = [...this.#routes.values()].map((route) => ({ topic: route.topic, fromBeginning: route.initialOffset === 'earliest' }));
    const started = client.start(subscriptions, {
      onBatch: (batch) => this.#onBatch(batch),
      onAssignment: (assignment) => this.#onAssignment(assignment),
      onRebalancing: () => {
        this.#committer.hold();
        this.#events.emit('group.rebalancing', { groupId: this.groupId });
      },
      onCrash: (error, willRestart) => this.#onCrash(client, error, willRestart),
      onInternalError: (error) => this.#events.emit('error', { error, kind: 'engine' }),
    });
    this.#clientStarting = started.catch(() => undefined);
    try {
      await started;
    } catch (error) {
      if (this.#client === client) this.#client = undefined;
      await client.stop().catch(() => undefined);
      throw error;
    }
  }

  #owns(topic: string, partition: number): boolean {
    if (!this.#client) return false;
    const processor = this.#processors.get(partitionKey(topic, partition));
    return processor !== undefined && !processor.revoked && (this.#assignment.get(topic)?.includes(partition) ?? false);
  }

  #onAssignment(next: Assignment): void {
    const change = diffAssignments(this.#assignment, next);
    this.#assignment = next;
    this.#events.emit('group.rebalanced', { groupId: this.groupId, assigned: change.assigned, revoked: change.revoked, kept: change.kept });
    // kafkajs keeps pause state across assignments: a partition paused here and assigned back
    // later would never be fetched again. Revoked and new partitions start unpaused.
    for (const { topic, partition } of change.revoked) {
      const key = partitionKey(topic, partition);
      const processor = this.#processors.get(key);
      processor?.revoke();
      void processor?.close(this.#settings.shutdownTimeoutMs);
      this.#processors.delete(key);
      this.#committer.forget(topic, partition);
      this.#client?.resume(topic, partition);
    }
    const committed = this.#fetchCommitted(change.assigned.map(({ topic }) => topic));
    for (const { topic, partition } of change.assigned) {
      this.#client?.resume(topic, partition);
      this.#processorFor(topic, partition, committed);
      this.#events.emit('partition.assigned', { topic, partition });
    }
    for (const { topic, partition } of change.kept) this.#processors.get(partitionKey(topic, partition))?.reapplyPause();
    if (this.#stopping) this.#client?.pauseAll(next);
    this.#restartAttempts = 0;
    this.#committer.release();
    this.#joined?.();
    this.#joined = undefined;
  }

  #onBatch(batch: RawBatch): void {
    if (this.#stopping || !(this.#assignment.get(batch.topic)?.includes(batch.partition) ?? false)) return;
    if (this.#events.listenerCount('partition.fetched') > 0) {
      this.#events.emit('partition.fetched', { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, size: batch.records.length });
    }
    this.#processorFor(batch.topic, batch.partition)?.enqueue(batch.records, batch.highWatermark);
  }

  #onCrash(client: KafkaConsumerClient, error: Error, willRestart: boolean): void {
    if (this.#client !== client) return;
    this.#events.emit('error', { error, kind: willRestart ? 'consumer-restart' : 'consumer-crash' });
    if (this.#stopping) return;
    // kafkajs left the group before it reported the crash: everything this member owned may
    // already run elsewhere. Whether kafkajs rejoins itself or a new client does, the partitions
    // it gets back start from their committed offsets, with new processors.
    this.#revokeAll();
    if (willRestart) return;
    this.#client = undefined;
    void client.stop().catch(() => undefined);
    this.#scheduleRestart();
  }

  /** Drops every partition: running work sees its signal abort, queued work never starts. */
  #revokeAll(): void {
    for (const processor of this.#processors.values()) {
      processor.revoke();
      void processor.close(this.#settings.shutdownTimeoutMs);
      this.#committer.forget(processor.topic, processor.partition);
    }
    this.#processors.clear();
    this.#assignment = new Map();
  }

  /** kafkajs gave up on its consumer: a new one joins after a backoff, tried until one starts. */
  #scheduleRestart(): void {
    this.#restartAttempts += 1;
    const attempt = this.#restartAttempts;
    this.#restartTimer = setTimeout(() => {
      if (this.#stopping) return;
      this.#startClient().catch((cause: unknown) => {
        if (this.#stopping) return;
        const retryInMs = backoffDelay(RESTART_BACKOFF, attempt + 1);
        const reason = toError(cause).message;
        const error = new ConsumerRestartError(
          `A new consumer for group "${this.groupId}" could not start (attempt ${attempt}): ${reason}. Trying again in ${retryInMs} ms.`,
          { cause },
        );
        this.#events.emit('error', { error, kind: 'consumer-crash' });
        this.#scheduleRestart();
      });
    }, backoffDelay(RESTART_BACKOFF, attempt));
  }

  /** Offsets committed for the group, read once per assignment change for all new partitions. */
  #fetchCommitted(topics: string[]): Promise<Map<string, Map<number, OffsetAndMetadata>>> {
    const client = this.#client;
    if (!client || topics.length === 0) return Promise.resolve(new Map());
    const fetched = client.committedOffsets([...new Set(topics)]);
    fetched.catch((error: unknown) => {
      this.#events.emit('error', { error: toError(error), kind: 'offset-fetch' });
    });
    return fetched;
  }

  #processorFor(
    topic: string,
    partition: number,
    committed?: Promise<Map<string, Map<number, OffsetAndMetadata>>>,
  ): PartitionProcessor | undefined {
    const key = partitionKey(topic, partition);
    let processor = this.#processors.get(key);
    if (processor) return processor;
    const route = this.#routes.get(topic);
    if (!route) return undefined;
    const client = () => this.#client;
    processor = new PartitionProcessor(
      {
        route,
        topic,
        partition,
        backoff: { ...this.#settings.backoff, ...route.backoff },
        maxBufferedMessages: this.#settings.maxBufferedMessages,
        maxBatchSize: this.#settings.maxBatchSize,
        ...(route.kind === 'delay' ? this.#delayIdlePoll(topic) : {}),
        committedAtAssignment: (committed ?? this.#fetchCommitted([topic])).then((offsets) => offsets.get(topic)?.get(partition)),
        fetchCommitted: async () => {
          const current = this.#client;
          if (!current) throw new Error('the consumer is not connected');
          return (await current.committedOffsets([topic])).get(topic)?.get(partition);
        },
        groupId: this.groupId,
        deadLetterPartitions: route.deadLetterQueue?.topic ? (this.#settings.deadLetterPartitions.get(route.deadLetterQueue.topic) ?? 1) : 1,
        deadLetterMaxMessageBytes:
          (route.deadLetterQueue?.topic ? this.#settings.deadLetterMaxMessageBytes.get(route.deadLetterQueue.topic) : undefined) ?? DEFAULT_TOPIC_MAX_MESSAGE_BYTES,
      },
      {
        createConsumer: () => this.#createConsumer(route),
        pausePartition: () => client()?.pause(topic, partition),
        resumePartition: () => client()?.resume(topic, partition),
        commit: (position, urgent) => this.#committer.request(topic, partition, position, urgent),
        committedInTransaction: (position) => this.#committer.acknowledge(topic, partition, position),
        transactionalSender: () => new KafkaProducerSender(this.#kafka, { transactionalId: `${this.#settings.transactionalIdPrefix}${this.groupId}-${topic}-${partition}` }),
        dispatcher: this.#dispatcher,
        events: this.#events,
      },
    );
    this.#processors.set(key, processor);
    return processor;
  }

  /** Long delay tiers leave the fetch while caught up and idle: each fetched partition costs every fetch. */
  #delayIdlePoll(topic: string): { idlePoll?: IdlePollSettings } {
    const idlePoll = delayTierIdlePoll(topic, this.#settings.consumer.maxWaitTimeInMs);
    return idlePoll ? { idlePoll } : {};
  }

  #createConsumer(route: RouteDefinition): Consumer {
    if (route.kind === 'jobs') return new JobConsumer(this.#registry, this.#settings.jobHold, this.groupId);
    if (route.kind === 'delay') return new DelayConsumer();
    const consumer = new route.consumer!();
    if (!(consumer instanceof Consumer)) {
      throw new InvalidOptionError(`routes.${route.topic}.consumer`, 'expected a subclass of Consumer');
    }
    return consumer;
  }
}

function remaining(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}
