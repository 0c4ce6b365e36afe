import { InvalidOptionError, RouteValidationError } from '../errors.ts';
import { refuseUnknownOptions, validateInteger, validateTimerMs, validateTopicName } from '../validation.ts';
import type { PartitionerInput } from '../kafka/inbound-message.ts';
import type { Job, JobArguments, JobClass } from '../job/job.ts';
import { defineRecurring, type RecurringDefinition, type RecurringOptions } from './recurring.ts';


/** Maps a key to a lane index in [0, maxPartitions). */
export type Reducer = (key: string, maxPartitions: number) => number;

/** Virtual partitions of a route. */
export interface VirtualPartitionsOptions {
  /**
   * The key that decides a message's lane, read from headers or key only. Messages with one key run
   * in order in one lane; a null/undefined key means the message needs no order with others.
   */
  partitioner: (message: PartitionerInput) => string | number | null | undefined;
  /** Most lanes per partition batch. Default 8. */
  maxPartitions?: number;
  /** Key → lane index. Default: FNV-1a hash modulo maxPartitions. */
  reducer?: Reducer;
  /** `consistent` (default): a key always maps to the same lane. `balanced`: a key with nothing unfinished goes to the next free lane. */
  distribution?: 'consistent' | 'balanced';
  /** `current` (default): commit the latest metadata given. `exact`: the metadata given with the committed offset. */
  offsetMetadataStrategy?: 'exact' | 'current';
  /**
   * `block` (default): each `transaction()` block commits on its own; its marks apply after the
   * commit. `batch`: all lanes of a batch produce into one transaction that also commits the
   * batch's offset after every lane finished (exactly once with lanes); a failing lane aborts it.
   */
  transactionScope?: 'block' | 'batch';
}

/** Virtual-partition settings after defaults. */
export type VirtualPartitionsSettings = Required<Omit<VirtualPartitionsOptions, 'reducer'>> & { reducer?: Reducer };

/** The wait after a failed attempt. */
export interface BackoffSettings {
  /** First wait, in ms. Default 1000. */
  timeout: number;
  /** Longest wait, in ms. Default 30 000. */
  maxTimeout: number;
  /** Double the wait after each failed attempt. Default true. */
  exponentialBackoff: boolean;
}

/** Topic settings used when the worker creates a missing topic. */
export interface TopicConfig {
  /** Partitions of the topic. */
  partitions: number;
  /** Copies of each partition. @defaultValue the broker's `default.replication.factor` */
  replicationFactor?: number;
  /** Broker topic configs, e.g. `{ 'retention.ms': '604800000' }`. */
  configEntries?: Record<string, string>;
}

/** Where messages go that keep failing. */
export interface DeadLetterQueueOptions {
  /** The dead-letter topic, or `false` to skip such messages (with a `message.skipped` event). */
  topic: string | false;
  /** Retries before a message is dead-lettered: it goes after `maxRetries + 1` failed attempts. Default 3. */
  maxRetries?: number;
  /**
   * `true`: every message has its own retry budget, so each gets `maxRetries + 1` attempts whatever
   * failed before it. `false`: failed attempts count per partition and carry over to the next failing
   * message until a batch succeeds (a run of poison messages drains fast).
   * @defaultValue `true` on job topics (`activeJobTopic`, job patterns): attempts per job, as job-queue
   * users expect; `false` on consumer topics.
   */
  independent?: boolean;
}

/** Dead-letter settings after defaults. */
export type DeadLetterQueueSettings = Required<DeadLetterQueueOptions>;

/** A consumer class as routing sees it (routing does not depend on the consume layer). */
export type ConsumerConstructor = new () => object;

/** One topic → consumer mapping with its features. Data only: the consume layer acts on it. */
export interface RouteDefinition {
  /** The topic consumed (a pattern's template has `pattern:<name>`). */
  topic: string;
  /**
   * `jobs`: the built-in job consumer; `delay`: the built-in delay consumer of a delay tier topic;
   * `consumer`: a user consumer class.
   */
  kind: 'jobs' | 'delay' | 'consumer';
  /** The consumer class, for kind `consumer`. */
  consumer: ConsumerConstructor | undefined;
  /** Virtual partitions with their defaults filled in; undefined when the route has none. */
  virtualPartitions: VirtualPartitionsSettings | undefined;
  /** Whether the partition stays paused while its batch runs (`longRunningJob()`). */
  longRunningJob: boolean;
  /** Whether the consumer marks offsets itself (`manualOffsetManagement()`). */
  manualOffsetManagement: boolean;
  /** The route's backoff settings over the app's `backoff` (empty: the app's). */
  backoff: Partial<BackoffSettings>;
  /** Where a new consumer group starts. */
  initialOffset: 'earliest' | 'latest';
  /** How to create the topic when it is missing (`config(...)`); undefined: it must exist. */
  topicConfig: TopicConfig | undefined;
  /** Dead-letter settings with their defaults filled in; undefined when the route has none. */
  deadLetterQueue: DeadLetterQueueSettings | undefined;
  /** Each partition has a transactional producer; dead-letter copies commit with their mark. */
  transactional: boolean;
  /** Job topics only: route the topic's delay tiers (scheduled jobs and waiting retries). */
  delayTiers: boolean;
}

/** The settings a route has when its declaration does not give them (`partita config` lists them). */
export const ROUTE_DEFAULTS = {
  /** Defaults inside `virtualPartitions({ partitioner, ... })`. */
  virtualPartitions: { maxPartitions: 8, distribution: 'consistent', offsetMetadataStrategy: 'current', transactionScope: 'block' },
  /** Defaults inside `deadLetterQueue({ topic, ... })`; `independent` depends on the route's kind (delay routes count as consumer topics). */
  deadLetterQueue: { maxRetries: 3, independent: { jobs: true, consumer: false } },
  /** Where a new consumer group starts. */
  initialOffset: 'earliest',
  /** Whether the partition stays paused while its batch runs. */
  longRunningJob: false,
  /** Whether the consumer marks offsets itself. */
  manualOffsetManagement: false,
  /** Whether each partition fences the previous owner's transactional producer. */
  transactional: false,
  /** Whether a job topic's delay tiers are routed. */
  delayTiers: true,
} as const satisfies {
  virtualPartitions: Omit<VirtualPartitionsSettings, 'partitioner' | 'reducer'>;
  deadLetterQueue: { maxRetries: number; independent: Record<'jobs' | 'consumer', boolean> };
} & Pick<RouteDefinition, 'initialOffset' | 'longRunningJob' | 'manualOffsetManagement' | 'transactional' | 'delayTiers'>;

/** Switches features on for one route: `r.activeJobTopic('jobs', t => t.virtualPartitions({...}))`. */
export class RouteBuilder {
  readonly #route: RouteDefinition;

  /** @internal */
  constructor(route: RouteDefinition) {
    this.#route = route;
  }

  /** Runs each partition's batches in concurrent lanes chosen by `partitioner`. */
  virtualPartitions(options: VirtualPartitionsOptions): this {
    this.#route.virtualPartitions = validateVirtualPartitions(`routes.${this.#route.topic}.virtualPartitions`, options);
    return this;
  }

  /** Sends a message that keeps failing to a dead-letter topic (or skips it) and goes on. */
  deadLetterQueue(options: DeadLetterQueueOptions): this {
    const option = `routes.${this.#route.topic}.deadLetterQueue`;
    if (options === null || typeof options !== 'object') throw new InvalidOptionError(option, 'expected { topic, maxRetries?, independent? }');
    refuseUnknownOptions(option, options, ['topic', 'maxRetries', 'independent']);
    if (options.topic !== false) {
      validateTopicName(`${option}.topic`, options.topic);
      if (options.topic === this.#route.topic) throw new InvalidOptionError(`${option}.topic`, 'a route cannot dead-letter into the topic it consumes');
    }
    const maxRetries = options.maxRetries ?? ROUTE_DEFAULTS.deadLetterQueue.maxRetries;
    validateInteger(`${option}.maxRetries`, maxRetries, 0);
    const independent = options.independent ?? (this.#route.kind === 'jobs' ? ROUTE_DEFAULTS.deadLetterQueue.independent.jobs : ROUTE_DEFAULTS.deadLetterQueue.independent.consumer);
    if (typeof independent !== 'boolean') throw new InvalidOptionError(`${option}.independent`, 'expected true or false');
    this.#route.deadLetterQueue = { topic: options.topic, maxRetries, independent };
    return this;
  }

  /**
   * Exactly once across crashes: before its first batch each partition fences the previous owner's
   * transactional producer (waiting for a transaction it left open) and reads the committed offset
   * again; a dead-letter copy and its mark commit in one transaction. `transaction()` blocks work
   * on any route; this adds the fencing.
   */
  transactional(enabled = true): this {
    this.#route.transactional = enabled;
    return this;
  }

  /**
   * Job topics route their delay tiers (`<topic>.delay.*`, nine topics) by default. `false` skips
   * them for a queue that never gets scheduled jobs or waiting retries; such jobs sent to it would
   * wait in tiers nobody forwards.
   */
  delayTiers(enabled: boolean): this {
    this.#route.delayTiers = enabled;
    return this;
  }

  /** Work may run for minutes: the partition stays paused while its batch runs, and the worker stays in the group. */
  longRunningJob(enabled = true): this {
    this.#route.longRunningJob = enabled;
    return this;
  }

  /** The consumer marks offsets itself; nothing is marked automatically after `consume`. */
  manualOffsetManagement(enabled = true): this {
    this.#route.manualOffsetManagement = enabled;
    return this;
  }

  /** Backoff after a failure (overrides the app's `backoff`). */
  backoff(settings: Partial<BackoffSettings>): this {
    this.#route.backoff = validateBackoff(`routes.${this.#route.topic}.backoff`, settings);
    return this;
  }

  /** Where a new consumer group starts: `earliest` (default) or `latest`. */
  initialOffset(where: 'earliest' | 'latest'): this {
    if (where !== 'earliest' && where !== 'latest') {
      throw new InvalidOptionError(`routes.${this.#route.topic}.initialOffset`, `expected "earliest" or "latest", got ${JSON.stringify(where)}`);
    }
    this.#route.initialOffset = where;
    return this;
  }

  /** Creates the topic with these settings when it does not exist at start. */
  config(config: TopicConfig): this {
    const option = `routes.${this.#route.topic}.config`;
    if (!Number.isInteger(config?.partitions) || config.partitions < 1) {
      throw new InvalidOptionError(`${option}.partitions`, `expected an integer >= 1, got ${String(config?.partitions)}`);
    }
    if (config.replicationFactor !== undefined && (!Number.isInteger(config.replicationFactor) || config.replicationFactor < 1)) {
      throw new InvalidOptionError(`${option}.replicationFactor`, `expected an integer >= 1, got ${String(config.replicationFactor)}`);
    }
    this.#route.topicConfig = { ...config };
    return this;
  }
}

/** A regular-expression route: every topic that matches, now or later, gets its settings. */
export interface PatternDefinition {
  name: string;
  regex: RegExp;
  /** The settings each matching topic's route gets (its `topic` is replaced). */
  template: RouteDefinition;
  /** Whether the pattern may knowingly match dead-letter topics of the app (never its own). */
  allowDeadLetterTopics: boolean;
}

/** Route settings of a pattern, plus what only patterns have. */
export class PatternBuilder extends RouteBuilder {
  readonly #pattern: PatternDefinition;

  /** @internal */
  constructor(pattern: PatternDefinition) {
    super(pattern.template);
    this.#pattern = pattern;
  }

  /**
   * Lets the pattern match dead-letter topics of other routes, knowingly: their failures are then
   * consumed again, and a failure there goes to this pattern's own dead-letter topic (which it
   * never consumes), so the loop ends there.
   */
  allowDeadLetterTopics(enabled = true): this {
    this.#pattern.allowDeadLetterTopics = enabled;
    return this;
  }
}

/** Declares the routes of an app. */
export class RoutesBuilder {
  /** The routes declared, in order. */
  readonly routes: RouteDefinition[] = [];
  /** The patterns declared, in order. */
  readonly patterns: PatternDefinition[] = [];
  /** The recurring jobs declared with {@link recurring}. */
  readonly schedules: RecurringDefinition[] = [];

  /**
   * Enqueues `new JobClass(...args)` at every tick of a cron expression, exactly once per tick
   * across every worker process of the app (one of them owns the ticker at a time, and each tick
   * commits its job and its progress in one Kafka transaction):
   * `r.recurring('nightly-report', '0 3 * * *', NightlyReport, ['eu'], { timezone: 'Europe/Berlin' })`.
   * The job goes to its class's topic, with its enqueue callbacks, and `scheduledAt` set to the tick.
   */
  recurring<J extends Job<any[]>>(name: string, cron: string, jobClass: JobClass<J>, args: JobArguments<J>, options: RecurringOptions = {}): this {
    const definition = defineRecurring(name, cron, jobClass, args, options);
    if (this.schedules.some((existing) => existing.name === name)) {
      throw new InvalidOptionError(`routes.recurring.${name}`, 'two recurring jobs have this name; a name is one schedule per app');
    }
    this.schedules.push(definition);
    return this;
  }

  /**
   * Consumes every topic matching `regex`, including topics created while the worker runs
   * (discovered every `discoveryIntervalMs`). Without a consumer class the topics are job topics.
   * `r.pattern(/^events\..+/, Events, (t) => ...)`, or with a name first: `r.pattern('events', /^events\..+/, ...)`.
   */
  pattern(...args: PatternArguments): this {
    const [name, regex, consumer, configure] = normalizePatternArguments(args);
    if (!(regex instanceof RegExp)) throw new InvalidOptionError('routes.pattern', `expected a RegExp, got ${typeof regex}`);
    const source = new RegExp(regex.source, regex.flags.replace(/[gy]/g, ''));
    const duplicate = this.patterns.find((p) => p.regex.source === source.source && p.regex.flags === source.flags);
    if (duplicate) {
      throw new RouteValidationError(`The pattern ${source} is declared twice in one app (as "${duplicate.name}" and "${name}"); one consumer group consumes a pattern once.`);
    }
    if (this.patterns.some((p) => p.name === name)) throw new InvalidOptionError(`routes.pattern.${name}`, 'two patterns have this name');
    const pattern: PatternDefinition = { name, regex: source, template: routeDefinition(`pattern:${name}`, consumer ? 'consumer' : 'jobs', consumer), allowDeadLetterTopics: false };
    if (configure !== undefined && typeof configure !== 'function') throw new InvalidOptionError(`routes.pattern.${name}`, 'expected a function (route) => { ... }');
    configure?.(new PatternBuilder(pattern));
    validateRoute(pattern.template);
    this.patterns.push(pattern);
    return this;
  }

  /** Consumes `topic` with a consumer class. */
  topic(topic: string, consumer: ConsumerConstructor, configure?: (route: RouteBuilder) => void): this {
    if (typeof consumer !== 'function') {
      throw new InvalidOptionError(`routes.${topic}.consumer`, `expected a Consumer subclass, got ${typeof consumer}`);
    }
    return this.#add(topic, 'consumer', consumer, configure);
  }

  /** Consumes `topic` as a job queue: each message is a job run by the registry's class. */
  activeJobTopic(topic: string, configure?: (route: RouteBuilder) => void): this {
    return this.#add(topic, 'jobs', undefined, configure);
  }

  #add(topic: string, kind: RouteDefinition['kind'], consumer: ConsumerConstructor | undefined, configure?: (route: RouteBuilder) => void): this {
    validateTopicName(`routes.topic`, topic);
    if (this.routes.some((route) => route.topic === topic)) {
      throw new InvalidOptionError(`routes.${topic}`, 'the topic is routed twice; one topic has one route per app');
    }
    const route = routeDefinition(topic, kind, consumer);
    if (configure !== undefined && typeof configure !== 'function') {
      throw new InvalidOptionError(`routes.${topic}`, 'the third argument must be a function (route) => { ... }');
    }
    configure?.(new RouteBuilder(route));
    validateRoute(route);
    this.routes.push(route);
    return this;
  }
}

type PatternConfigure = (route: PatternBuilder) => void;
/** The forms `r.pattern(...)` accepts: optional name, the regex, optional consumer, optional settings. */
export type PatternArguments =
  | [regex: RegExp, configure?: PatternConfigure]
  | [regex: RegExp, consumer: ConsumerConstructor, configure?: PatternConfigure]
  | [name: string, regex: RegExp, configure?: PatternConfigure]
  | [name: string, regex: RegExp, consumer: ConsumerConstructor, configure?: PatternConfigure];

function normalizePatternArguments(args: PatternArguments): [string, RegExp, ConsumerConstructor | undefined, PatternConfigure | undefined] {
  const named = typeof args[0] === 'string';
  const name = named ? (args[0] as string) : String(args[0]);
  const rest = (named ? args.slice(1) : args) as unknown[];
  const regex = rest[0] as RegExp;
  const third = rest[1];
  // A consumer class and a configure function are both functions; the class is told by its source.
  const isClass = typeof third === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(third));
  return isClass ? [name, regex, third as ConsumerConstructor, rest[2] as PatternConfigure | undefined] : [name, regex, undefined, third as PatternConfigure | undefined];
}

/** A route with every feature off, as the builders start it. @internal */
export function routeDefinition(topic: string, kind: RouteDefinition['kind'], consumer: ConsumerConstructor | undefined): RouteDefinition {
  return {
    topic,
    kind,
    consumer,
    virtualPartitions: undefined,
    longRunningJob: ROUTE_DEFAULTS.longRunningJob,
    manualOffsetManagement: ROUTE_DEFAULTS.manualOffsetManagement,
    backoff: {},
    initialOffset: ROUTE_DEFAULTS.initialOffset,
    topicConfig: undefined,
    deadLetterQueue: undefined,
    transactional: ROUTE_DEFAULTS.transactional,
    delayTiers: ROUTE_DEFAULTS.delayTiers,
  };
}

/** Checks that a route's features can work together. */
function validateRoute(route: RouteDefinition): void {
  if (route.virtualPartitions && route.deadLetterQueue && route.deadLetterQueue.maxRetries === 0) {
    throw new RouteValidationError(
      `Route "${route.topic}": deadLetterQueue maxRetries 0 cannot be combined with virtualPartitions. The first failure ` +
        'happens while lanes run in parallel, where the guilty message cannot be told apart; it is found on the collapsed ' +
        'retry. Use maxRetries >= 1.',
    );
  }
}

function validateVirtualPartitions(option: string, options: VirtualPartitionsOptions): VirtualPartitionsSettings {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError(option, 'expected an object');
  refuseUnknownOptions(option, options, ['partitioner', 'maxPartitions', 'reducer', 'distribution', 'offsetMetadataStrategy', 'transactionScope']);
  if (typeof options.partitioner !== 'function') {
    throw new InvalidOptionError(`${option}.partitioner`, 'expected a function (message) => key, reading headers or key only');
  }
  const maxPartitions = options.maxPartitions ?? ROUTE_DEFAULTS.virtualPartitions.maxPartitions;
  validateInteger(`${option}.maxPartitions`, maxPartitions, 1, 1024);
  if (options.reducer !== undefined && typeof options.reducer !== 'function') {
    throw new InvalidOptionError(`${option}.reducer`, 'expected a function (key, maxPartitions) => lane index');
  }
  const distribution = options.distribution ?? ROUTE_DEFAULTS.virtualPartitions.distribution;
  if (distribution !== 'consistent' && distribution !== 'balanced') {
    throw new InvalidOptionError(`${option}.distribution`, `expected "consistent" or "balanced", got ${JSON.stringify(distribution)}`);
  }
  const offsetMetadataStrategy = options.offsetMetadataStrategy ?? ROUTE_DEFAULTS.virtualPartitions.offsetMetadataStrategy;
  if (offsetMetadataStrategy !== 'exact' && offsetMetadataStrategy !== 'current') {
    throw new InvalidOptionError(`${option}.offsetMetadataStrategy`, `expected "exact" or "current", got ${JSON.stringify(offsetMetadataStrategy)}`);
  }
  const transactionScope = options.transactionScope ?? ROUTE_DEFAULTS.virtualPartitions.transactionScope;
  if (transactionScope !== 'block' && transactionScope !== 'batch') {
    throw new InvalidOptionError(`${option}.transactionScope`, `expected "block" or "batch", got ${JSON.stringify(transactionScope)}`);
  }
  return { partitioner: options.partitioner, maxPartitions, reducer: options.reducer, distribution, offsetMetadataStrategy, transactionScope };
}

/** Validates backoff settings (app-wide or per route). @internal */
export function validateBackoff(option: string, settings: Partial<BackoffSettings>): Partial<BackoffSettings> {
  if (settings === null || typeof settings !== 'object') throw new InvalidOptionError(option, 'expected an object');
  for (const name of ['timeout', 'maxTimeout'] as const) validateTimerMs(`${option}.${name}`, settings[name]);
  if (settings.exponentialBackoff !== undefined && typeof settings.exponentialBackoff !== 'boolean') {
    throw new InvalidOptionError(`${option}.exponentialBackoff`, 'expected true or false');
  }
  return { ...settings };
}
