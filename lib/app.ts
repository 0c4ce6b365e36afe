import type { KafkaClient as Kafka } from './kafka/kafkajs.ts';
import { resolveConfig, type AppConfig, type ResolvedConfig } from './config.ts';
import { backoffDelay, RESTART_BACKOFF } from './consume/backoff.ts';
import { sleep } from './consume/sleep.ts';
import { JobHold } from './consume/job-hold.ts';
import { RecurringRunner } from './consume/recurring-runner.ts';
import { Worker } from './consume/worker.ts';
import { WorkerEmitter, type WorkerEvents } from './consume/worker-events.ts';
import { currentDispatcher, hasDispatcher, useDispatcher, closeDispatcher } from './dispatch/default-dispatcher.ts';
import { Dispatcher } from './dispatch/dispatcher.ts';
import { ConsumerRestartError, InvalidOptionError, toError } from './errors.ts';
import { JobRegistry } from './job/registry.ts';
import { checkDeclaredTopics, ensureTopics, maxMessageBytes, partitionCounts, withAdmin } from './kafka/admin.ts';
import { kafkaClient } from './kafka/client.ts';
import { logDispatcherEvents } from './dispatch/dispatcher-log.ts';
import type { Logger } from './logging/logger.ts';
import { logWorkerEvents } from './consume/worker-log.ts';
import { KafkaProducerSender } from './kafka/producer.ts';
import { discoverTopics, validatePatterns } from './routing/patterns.ts';
import { RoutesBuilder, type RouteDefinition } from './routing/route.ts';
import { delayRoutes } from './routing/delay-routes.ts';
import { PartitaMetrics } from './metrics/metrics.ts';
import { ReportPublisher } from './reports/publisher.ts';
import { reportTopicSpecs } from './reports/topics.ts';
import { onShutdownSignal, ShutdownOrder } from './shutdown.ts';

/**
 * A worker app: routes, job registry, and the engine that runs them.
 *
 * ```ts
 * const app = createApp({ kafka: { brokers: ['127.0.0.1:9092'] }, jobs: [SendEmail] })
 *   .routes((r) => r.activeJobTopic('mail', (t) => t.virtualPartitions({ partitioner: (m) => m.headers['job-key'], maxPartitions: 8 })));
 * await app.run();
 * ```
 */
export class App extends WorkerEmitter {
  /** The app's configuration, resolved: every option with its default (see `resolveConfig`). */
  readonly config: ResolvedConfig;
  /** The job classes the app's worker runs (`jobs`). */
  readonly registry: JobRegistry;
  /** What the app logs through (see `AppConfig.logger`). */
  readonly logger: Logger;
  readonly #kafka: Kafka;
  readonly #routes = new RoutesBuilder();
  #dispatcher: Dispatcher | undefined;
  #ownsDefaultDispatcher = false;
  #worker: Worker | undefined;
  #recurring: RecurringRunner | undefined;
  #started = false;
  #stopping = false;
  /** The routes of the running worker: the declared ones and those patterns picked up. */
  #activeRoutes: RouteDefinition[] = [];
  #discoveryTimer: NodeJS.Timeout | undefined;
  #reconfiguring: Promise<void> = Promise.resolve();
  /** The preparation (discovery, topic creation) of the start under way; never rejects. */
  #preparing: Promise<unknown> = Promise.resolve();
  /** Aborts the waits between restart attempts when the app stops. */
  readonly #stopAbort = new AbortController();
  readonly #jobHold = new JobHold();
  #removeSignalHook: (() => void) | undefined;
  #stopped: Promise<void> | undefined;
  readonly #reports: ReportPublisher | undefined;
  /** The app's Prometheus metrics (`createApp({ metrics })`); undefined when they are off. */
  readonly metrics: PartitaMetrics | undefined;

  constructor(config: AppConfig) {
    super();
    this.config = resolveConfig(config);
    this.logger = this.config.logger;
    this.#kafka = kafkaClient(this.config.kafka, this.logger);
    this.registry = new JobRegistry([...this.config.jobs]);
    logWorkerEvents(this, this.logger);
    const loads = () => this.#worker?.partitionLoads() ?? [];
    this.metrics = this.config.metrics === false ? undefined : new PartitaMetrics(this, loads, this.config.metrics);
    if (this.config.reports !== false) {
      const context = {
        kafka: this.#kafka,
        events: this,
        groupId: this.groupId,
        clientId: this.config.clientId,
        loads,
        deadLetterTopics: () => [...new Set(this.#activeRoutes.flatMap((route) => (typeof route.deadLetterQueue?.topic === 'string' ? [route.deadLetterQueue.topic] : [])))],
        logger: this.logger,
      };
      this.#reports = new ReportPublisher(context, this.config.reports.intervalMs);
    }
  }

  /** The id of this app's worker reports (`WorkerReport.processId`); undefined with `reports: false`. */
  get reportsProcessId(): string | undefined {
    return this.#reports?.processId;
  }

  /** The consumer group this app joins. */
  get groupId(): string {
    return this.config.groupId;
  }

  /** Declares routes: `app.routes((r) => { r.activeJobTopic('jobs'); r.topic('events', Events); })`. */
  routes(draw: (routes: RoutesBuilder) => void): this {
    if (this.#started) throw new InvalidOptionError('routes', 'routes cannot change while the app runs');
    draw(this.#routes);
    return this;
  }

  /** The app's dispatcher (created on first use). */
  get dispatcher(): Dispatcher {
    if (!this.#dispatcher) {
      this.#dispatcher = new Dispatcher(new KafkaProducerSender(this.#kafka), this.config.dispatch);
      logDispatcherEvents(this.#dispatcher, this.logger);
    }
    return this.#dispatcher;
  }

  /**
   * Creates declared topics that are missing, joins the consumer group and starts consuming.
   * Every job topic also gets its delay tiers routed (and created when missing): see
   * `delayTopics()`. Resolves once the first partition assignment arrived. Jobs enqueued from
   * inside jobs use the app's dispatcher unless `configure()` set another one. Recurring jobs
   * (`r.recurring(...)`) make the app compete for their ticker (see `RoutesBuilder.recurring`).
   * When `stop()` is called meanwhile, `run()` resolves without leaving a worker running.
   */
  async run(): Promise<void> {
    if (this.#started) throw new InvalidOptionError('run', 'the app is already running');
    this.#started = true;
    await this.metrics?.listen();
    this.#reports?.start();
    const prepared = this.#prepareRun();
    this.#preparing = prepared.catch(() => undefined);
    const { patterns } = await prepared;
    if (this.#stopping) return;
    if (this.#activeRoutes.length > 0) await this.#startWorker();
    if (this.#stopping) return;
    await this.#startRecurring();
    if (this.#stopping || patterns.length === 0) return;
    const interval = this.config.discoveryIntervalMs;
    this.#discoveryTimer = setInterval(() => {
      this.#reconfiguring = this.#reconfiguring.then(() => this.#pickUpNewTopics());
    }, interval);
    this.#discoveryTimer.unref();
  }

  /** Validation, the default dispatcher, the signal hook, and the first discovery. */
  async #prepareRun(): Promise<RoutesBuilder> {
    const { routes, patterns } = this.#routes;
    validatePatterns(routes, patterns);
    if (!hasDispatcher()) {
      await useDispatcher(this.dispatcher);
      this.#ownsDefaultDispatcher = true;
    }
    if (this.config.handleSignals) this.#removeSignalHook = onShutdownSignal(ShutdownOrder.worker, () => this.stop());
    this.#activeRoutes = [...routes, ...(await this.#discover())];
    if (this.#activeRoutes.length === 0 && patterns.length === 0 && this.#routes.schedules.length === 0) {
      throw new InvalidOptionError('routes', 'the app has no routes; add r.activeJobTopic(...), r.topic(...), r.pattern(...) or r.recurring(...)');
    }
    return this.#routes;
  }

  /**
   * Joins the competition for the recurring-job ticker when the app declares recurring jobs
   * (see `RoutesBuilder.recurring`): the process that wins it enqueues their ticks.
   */
  async #startRecurring(): Promise<void> {
    const { schedules } = this.#routes;
    if (schedules.length === 0) return;
    const { consumer, transactionalIdPrefix } = this.config;
    this.#recurring = new RecurringRunner(this.#kafka, schedules, this, {
      groupId: this.groupId,
      transactionalIdPrefix,
      sessionTimeout: consumer.sessionTimeout,
      heartbeatInterval: consumer.heartbeatInterval,
      rebalanceTimeout: consumer.rebalanceTimeout,
    });
    const started = this.#recurring.start();
    this.#preparing = started.catch(() => undefined);
    await started;
  }

  /** Topics that patterns match now and that no route consumes yet (reported as `topic.discovered`). */
  async #discover(): Promise<RouteDefinition[]> {
    const { routes, patterns } = this.#routes;
    if (patterns.length === 0) return [];
    const consumed = new Set(this.#activeRoutes.map((route) => route.topic));
    const found = discoverTopics(await withAdmin(this.#kafka, (admin) => admin.listTopics()), routes, patterns).filter((d) => !consumed.has(d.route.topic));
    for (const { pattern, route } of found) this.emit('topic.discovered', { pattern, topic: route.topic });
    return found.map((d) => d.route);
  }

  /**
   * kafkajs reads a subscription once, so new topics need a new consumer: the running worker stops
   * gracefully (finishing and committing what runs, within shutdownTimeoutMs) and a worker with the
   * larger subscription starts from the committed offsets. Nothing is lost or committed twice. A
   * worker that fails to start is reported and tried again with a backoff until one runs.
   */
  async #pickUpNewTopics(): Promise<void> {
    if (this.#stopping) return;
    let found: RouteDefinition[];
    try {
      found = await this.#discover();
    } catch (cause) {
      this.emit('error', { error: toError(cause), kind: 'topic-discovery' });
      return;
    }
    if (found.length === 0 || this.#stopping) return;
    this.#activeRoutes = [...this.#activeRoutes, ...found];
    await this.#worker?.stop();
    for (let attempt = 1; !this.#stopping; attempt += 1) {
      try {
        await this.#startWorker();
        return;
      } catch (cause) {
        if (this.#stopping) return;
        const retryInMs = backoffDelay(RESTART_BACKOFF, attempt);
        const reason = toError(cause).message;
        const topics = this.#activeRoutes.map((route) => route.topic).join(', ');
        const error = new ConsumerRestartError(
          `The worker of group "${this.groupId}" for ${topics} could not start after new topics were found (attempt ${attempt}): ${reason}. ` +
            `Trying again in ${retryInMs} ms.`,
          { cause },
        );
        this.emit('error', { error, kind: 'worker-start' });
        await this.#worker?.stop();
        await sleep(retryInMs, this.#stopAbort.signal);
      }
    }
  }

  async #startWorker(): Promise<void> {
    const prepared = this.#prepareTopics(this.#activeRoutes);
    this.#preparing = prepared.catch(() => undefined);
    const { routes, deadLetterPartitions, deadLetterMaxMessageBytes } = await prepared;
    if (this.#stopping) return;
    const worker = new Worker(this.#kafka, routes, this.registry, () => this.dispatcher, this, {
      groupId: this.config.groupId,
      consumer: this.config.consumer,
      backoff: this.config.backoff,
      maxBufferedMessages: this.config.maxBufferedMessages,
      maxBatchSize: this.config.maxBatchSize,
      commitIntervalMs: this.config.commitIntervalMs,
      shutdownTimeoutMs: this.config.shutdownTimeoutMs,
      deadLetterPartitions,
      deadLetterMaxMessageBytes,
      transactionalIdPrefix: this.config.transactionalIdPrefix,
      jobHold: this.#jobHold,
    });
    this.#worker = worker;
    await worker.start();
  }

  /**
   * Refuses declared topics that are missing and have no `config({ partitions })` (MissingTopicError),
   * warns of existing ones with fewer partitions than configured (`topic.partitions-mismatch`),
   * creates declared topics that are missing; then missing dead-letter topics and delay topics with
   * as many partitions as their source topic (so each source partition has its own, ordered, DLQ
   * partition, and one key stays in one partition number along its delay tiers). Returns the
   * routes to run (the declared ones and the delay tiers of every job topic), and the partition
   * count and `max.message.bytes` of every dead-letter topic.
   */
  async #prepareTopics(
    declared: readonly RouteDefinition[],
  ): Promise<{ routes: RouteDefinition[]; deadLetterPartitions: Map<string, number>; deadLetterMaxMessageBytes: Map<string, number> }> {
    const deadLetterRoutes = declared.filter((route) => typeof route.deadLetterQueue?.topic === 'string');
    const deadLetterTopics = deadLetterRoutes.map((route) => route.deadLetterQueue!.topic as string);
    const jobRoutes = declared.filter((route) => route.kind === 'jobs' && route.delayTiers);
    return withAdmin(this.#kafka, async (admin) => {
      const mismatches = await checkDeclaredTopics(admin, declared.map((route) => ({ topic: route.topic, partitions: route.topicConfig?.partitions })));
      for (const { topic, message } of mismatches) this.emit('warning', { kind: 'topic.partitions-mismatch', topic, message });
      await ensureTopics(
        admin,
        declared.flatMap((route) => (route.topicConfig ? [{ topic: route.topic, ...route.topicConfig }] : [])),
      );
      const sources = await partitionCounts(admin, [...deadLetterRoutes, ...jobRoutes].map((route) => route.topic));
      const partitionsOf = (route: RouteDefinition) => sources.get(route.topic) ?? route.topicConfig?.partitions ?? 1;
      const delay = delayRoutes(jobRoutes.map((route) => ({ topic: route.topic, partitions: partitionsOf(route), backoff: route.backoff })));
      // Routes may share a dead-letter topic: it is asked for once (kafkajs refuses a topic named
      // twice in one request), with the partitions of its largest source.
      const deadLetterSpecs = new Map<string, { topic: string; partitions: number }>();
      for (const route of deadLetterRoutes) {
        const topic = route.deadLetterQueue!.topic as string;
        const partitions = Math.max(partitionsOf(route), deadLetterSpecs.get(topic)?.partitions ?? 0);
        deadLetterSpecs.set(topic, { topic, partitions });
      }
      // The report topics are created with the app's own, at start, rather than by the first report.
      const reportTopics = this.#reports ? reportTopicSpecs() : [];
      await ensureTopics(admin, [...deadLetterSpecs.values(), ...delay.map((route) => ({ topic: route.topic, ...route.topicConfig! })), ...reportTopics]);
      this.#reports?.topicsCreated();
      return {
        routes: [...declared, ...delay],
        deadLetterPartitions: await partitionCounts(admin, deadLetterTopics),
        deadLetterMaxMessageBytes: await maxMessageBytes(admin, deadLetterTopics),
      };
    });
  }

  /**
   * Pauses the app's jobs: no job starts until `resume()`; running jobs finish and are committed.
   * The worker keeps its partitions and its group membership; a partition stops fetching once
   * `maxBufferedMessages` wait. Applies to job routes (plain consumers and delay tiers go on),
   * also across rebalances and to partitions assigned meanwhile. `stop()` while paused ends
   * without starting the held jobs: they run on the partitions' next owner. Idempotent.
   */
  pause(): void {
    this.#jobHold.hold();
  }

  /** Lets the jobs paused by `pause()` start again. Idempotent. */
  resume(): void {
    this.#jobHold.release();
  }

  /** True between `pause()` and `resume()`. */
  get paused(): boolean {
    return this.#jobHold.held;
  }

  /**
   * Stops consuming, then delivers what the app's producer buffered. Fetching stops, running jobs
   * get `shutdownTimeoutMs` to finish and commit, and the worker leaves its group; work not finished
   * by then is abandoned (its signal aborts) and runs again on the partition's next owner. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    this.#stopAbort.abort();
    if (this.#discoveryTimer) clearInterval(this.#discoveryTimer);
    // A start under way (run(), a pick-up) creates no worker once its preparation sees the stop;
    // a worker it already created is stopped here, even while it is still joining the group.
    for (let preparing: Promise<unknown> | undefined; preparing !== this.#preparing; ) {
      preparing = this.#preparing;
      await preparing;
    }
    this.#removeSignalHook?.();
    await this.#recurring?.stop();
    await this.#worker?.stop();
    await this.#reconfiguring;
    await this.#worker?.stop();
    await this.#reports?.stop();
    await this.metrics?.close();
    if (this.#ownsDefaultDispatcher && hasDispatcher() && currentDispatcher() === this.#dispatcher) await closeDispatcher();
    await this.#dispatcher?.close();
  }
}

/** Creates a worker app. */
export function createApp(config: AppConfig): App {
  return new App(config);
}

export type { AppConfig, WorkerEvents };
