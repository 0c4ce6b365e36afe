/**
 * One resolved configuration: every option of `createApp`, its default, where it applies and how it
 * is checked, in one table ({@link CONFIG_OPTIONS}). {@link resolveConfig} validates a configuration
 * once against it (unknown names, types, ranges; errors name the option's path) and fills in every
 * default, and the app hands the result whole to its worker, processors and dispatcher, which apply
 * no defaults of their own. Adding an option is one entry in the table (and its field in `AppConfig`).
 *
 * Parts that are also used on their own keep their defaults where they are applied standalone, and
 * the table lists them from there: the dispatcher's bounds (`configure()` makes dispatchers
 * outside an app), the Kafka connection (`createKafka` serves `configure()` and the CLI too), and
 * route settings (given to the route builders, checked where they are declared).
 */
import { resolveDispatcherOptions, DISPATCHER_DEFAULTS, type DispatcherOptions } from './dispatch/dispatcher.ts';
import { InvalidOptionError } from './errors.ts';
import type { JobClass } from './job/job.ts';
import { KAFKA_CONNECTION_DEFAULTS, resolveKafkaConnection, type KafkaConnection, type ResolvedKafkaConnection } from './kafka/client.ts';
import type { ConsumerSettings } from './kafka/consumer-client.ts';
import { LOG_LEVELS, resolveLogger, type Logger, type LogLevel } from './logging/logger.ts';
import { resolveMetricsOptions, type MetricsOptions } from './metrics/metrics.ts';
import { DEFAULT_REPORT_INTERVAL_MS, resolveReportsOptions, type ReportsOptions } from './reports/publisher.ts';
import { RECURRING_DEFAULTS } from './routing/recurring.ts';
import { ROUTE_DEFAULTS, type BackoffSettings } from './routing/route.ts';
import { refuseUnknownOptions, validateInteger, validateTimerMs } from './validation.ts';

/** Configuration of a worker app, as given to `createApp`: every option but `kafka.brokers` has a default (see {@link CONFIG_OPTIONS}). */
export interface AppConfig {
  /** Client id sent to Kafka; also the default group id. @defaultValue `kafka.clientId`, else `'partita'` */
  clientId?: string;
  /** How to reach Kafka. */
  kafka: KafkaConnection;
  /** Consumer group. @defaultValue the client id */
  groupId?: string;
  /** The job classes this worker may run. Messages naming any other class fail. @defaultValue `[]` */
  jobs?: JobClass[];
  /** Group membership and fetch settings (each has its default: see {@link ConsumerSettings}). */
  consumer?: Partial<ConsumerSettings>;
  /** Backoff after a failed batch; routes may override it. @defaultValue `{ timeout: 1000, maxTimeout: 30000, exponentialBackoff: true }` */
  backoff?: Partial<BackoffSettings>;
  /** Per partition: pause fetching while this many messages wait to start. @defaultValue 1000 */
  maxBufferedMessages?: number;
  /**
   * Most messages in one batch: the unit that is split into lanes and whose end is a commit point.
   * Larger batches keep lanes busier; smaller ones hold back fewer finished jobs from the commit
   * behind a slow lane (and so repeat fewer after a rebalance). @defaultValue 500
   */
  maxBatchSize?: number;
  /** Longest a mark waits before its offset is committed, in ms. @defaultValue 250 */
  commitIntervalMs?: number;
  /** How long `stop()` lets running jobs finish, in ms. @defaultValue 30000 */
  shutdownTimeoutMs?: number;
  /** How often patterns look for new topics, in ms. @defaultValue 5000, or 60000 when `NODE_ENV=production` */
  discoveryIntervalMs?: number;
  /** Bounds of the app's producer (jobs enqueued from jobs, consumers' produce). */
  dispatch?: DispatcherOptions;
  /**
   * Prefix of transactional ids; each input partition's producer is `<prefix><group>-<topic>-<partition>`.
   * Set it when several apps share a group name on one cluster. @defaultValue `''`
   */
  transactionalIdPrefix?: string;
  /** Stop gracefully on SIGINT/SIGTERM. The `partita worker` command turns it on. @defaultValue false */
  handleSignals?: boolean;
  /**
   * Where the app logs what it does (start, failures with stacks, backoffs, dead letters,
   * rebalances, stop) and kafkajs's lines: any pino logger, or an object with pino's level methods.
   * @defaultValue the process's logger: `PARTITA_LOG_LEVEL` (else `info`), `PARTITA_LOG_FORMAT` (else `text`), on stderr
   */
  logger?: Logger;
  /**
   * Level of the app's own logger, when no `logger` is given.
   * @defaultValue `PARTITA_LOG_LEVEL`, else `'info'`
   */
  logLevel?: LogLevel;
  /**
   * Worker reports: every `intervalMs` the app publishes what it runs (process, partitions, running
   * jobs, counts, recent errors) to the `partita.reports` topic, and each failure to
   * `partita.errors` (see `partita/reports`). `false` turns them off.
   * @defaultValue `{ intervalMs: 5000 }`
   */
  reports?: ReportsOptions | false;
  /**
   * Prometheus metrics (prom-client, see `partita/metrics`): `{ port }` serves `/metrics` on
   * 127.0.0.1 (or `host`) while the app runs; `true` collects them for `app.metrics.handler`.
   * @defaultValue `false` (off)
   */
  metrics?: MetricsOptions | boolean;
}

/** What a default app runs with: every option of {@link AppConfig} after {@link resolveConfig}. */
export interface ResolvedConfig {
  /** See {@link AppConfig.clientId}. */
  readonly clientId: string;
  /** The connection with its defaults; its client id is the app's. */
  readonly kafka: ResolvedKafkaConnection;
  /** See {@link AppConfig.groupId}. */
  readonly groupId: string;
  /** See {@link AppConfig.jobs}. */
  readonly jobs: readonly JobClass[];
  /** See {@link AppConfig.consumer}. */
  readonly consumer: Readonly<ConsumerSettings>;
  /** See {@link AppConfig.backoff}. */
  readonly backoff: Readonly<BackoffSettings>;
  /** See {@link AppConfig.maxBufferedMessages}. */
  readonly maxBufferedMessages: number;
  /** See {@link AppConfig.maxBatchSize}. */
  readonly maxBatchSize: number;
  /** See {@link AppConfig.commitIntervalMs}. */
  readonly commitIntervalMs: number;
  /** See {@link AppConfig.shutdownTimeoutMs}. */
  readonly shutdownTimeoutMs: number;
  /** See {@link AppConfig.discoveryIntervalMs}. */
  readonly discoveryIntervalMs: number;
  /** See {@link AppConfig.dispatch}. */
  readonly dispatch: Readonly<Required<DispatcherOptions>>;
  /** See {@link AppConfig.transactionalIdPrefix}. */
  readonly transactionalIdPrefix: string;
  /** See {@link AppConfig.handleSignals}; the `partita worker` command sets it before `run()`. */
  handleSignals: boolean;
  /** The logger the app logs through: `logger`, else one at `logLevel`, else the process's. */
  readonly logger: Logger;
  /** See {@link AppConfig.reports}: the interval, or `false` when reports are off. */
  readonly reports: Readonly<Required<ReportsOptions>> | false;
  /** See {@link AppConfig.metrics}: the metrics settings, or `false` when metrics are off. */
  readonly metrics: Readonly<MetricsOptions> | false;
}

/** One option in {@link CONFIG_OPTIONS}. */
export interface OptionEntry {
  /** What the option does, in a few words. */
  readonly summary: string;
  /** The part of Partita that uses the value. */
  readonly appliesTo: string;
  /** The default, as the README shows it (Markdown: values in backticks); `partita config` shows it without them. */
  readonly defaultText: string;
}

/** An option whose value {@link resolveConfig} checks and defaults. */
interface ValueOption<T> extends OptionEntry {
  /** The value when none is given; `given` is the configuration, `resolved` what was resolved before this option. */
  readonly defaultOf: (given: AppConfig, resolved: Record<string, unknown>) => T;
  /** Throws an {@link InvalidOptionError} naming `option` unless `value` is acceptable; returns the value to keep. */
  readonly check: (option: string, value: unknown, given: AppConfig) => T;
}

/** An option holding an object of options (`consumer`, `backoff`, ...), each its own row. */
export interface OptionSection extends OptionEntry {
  /** The options inside, by name. */
  readonly options: Readonly<Record<string, OptionEntry>>;
}

/** A section {@link resolveConfig} resolves. */
interface SectionOption extends OptionSection {
  /** Resolves the whole object (a part that checks its own options, also outside an app). */
  readonly resolve?: (option: string, value: unknown, given: AppConfig) => unknown;
}

function value<T>(summary: string, appliesTo: string, defaultValue: T, check: (option: string, value: unknown) => T): ValueOption<T> {
  return { summary, appliesTo, defaultText: formatDefault(defaultValue), defaultOf: () => defaultValue, check };
}

function derived<T>(summary: string, appliesTo: string, defaultText: string, defaultOf: ValueOption<T>['defaultOf'], check: ValueOption<T>['check']): ValueOption<T> {
  return { summary, appliesTo, defaultText, defaultOf, check };
}

/** A described option whose value another part resolves (the row shows that part's default). */
function listed(summary: string, appliesTo: string, defaultValue: unknown): OptionEntry {
  return { summary, appliesTo, defaultText: defaultValue === undefined ? 'required' : formatDefault(defaultValue) };
}

/** A described option whose default is told in words. */
function told(summary: string, appliesTo: string, defaultText: string): OptionEntry {
  return { summary, appliesTo, defaultText };
}

/** A default value as code (Markdown), e.g. `` `30000` `` or `` `'partita'` ``. */
function formatDefault(value: unknown): string {
  return `\`${Array.isArray(value) ? `[${value.map(literal).join(', ')}]` : literal(value)}\``;
}

function literal(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

function milliseconds(min: number): (option: string, value: unknown) => number {
  return (option, value) => {
    validateTimerMs(option, value, min);
    return value as number;
  };
}

function wholeNumber(min: number): (option: string, value: unknown) => number {
  return (option, value) => {
    validateInteger(option, value, min);
    return value as number;
  };
}

function text(option: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidOptionError(option, `expected a string, got ${typeof value}`);
  return value;
}

function flag(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, `expected true or false, got ${String(value)}`);
  return value;
}

const BACKOFF_DEFAULTS: BackoffSettings = { timeout: 1000, maxTimeout: 30_000, exponentialBackoff: true };

/** The table behind {@link CONFIG_OPTIONS}, with each option's check and default. */
const OPTIONS = {
  clientId: derived(
    'client id sent to Kafka; also the default group id',
    'kafkajs client (consumer, producers, admin)',
    "`kafka.clientId`, else `'partita'`",
    (given) => (given.kafka?.clientId === undefined ? KAFKA_CONNECTION_DEFAULTS.clientId : given.kafka.clientId),
    text,
  ),
  kafka: {
    summary: 'how to reach Kafka; `client` is passed to kafkajs (ssl, sasl, timeouts)',
    appliesTo: 'kafkajs client',
    defaultText: 'see its rows',
    options: {
      brokers: listed('`host:port` of one or more brokers', 'kafkajs client', undefined),
      clientId: listed('client id, when the app has none', 'kafkajs client', KAFKA_CONNECTION_DEFAULTS.clientId),
      logLevel: listed("which of kafkajs's own lines reach the logger", 'kafkajs log', KAFKA_CONNECTION_DEFAULTS.logLevel),
      client: told('extra kafkajs client settings, passed through', 'kafkajs client', '`{}`'),
      connectTimeoutMs: listed('bound of the first contact with the brokers (see Operations)', 'worker start, first send', KAFKA_CONNECTION_DEFAULTS.connectTimeoutMs),
    },
    resolve: (option, given, config) => {
      if (given === null || (given !== undefined && typeof given !== 'object')) throw new InvalidOptionError(option, 'expected { brokers: ["127.0.0.1:9092"] }');
      const connection = (given ?? {}) as KafkaConnection;
      return resolveKafkaConnection({ ...connection, clientId: config.clientId ?? connection.clientId }, option);
    },
  },
  groupId: derived('consumer group', 'worker (group membership, commits, transactional ids)', 'the client id', (_, resolved) => resolved.clientId as string, text),
  jobs: value('the job classes the worker may run', 'job consumer (registry)', [] as JobClass[], (option, jobs) => {
    if (!Array.isArray(jobs)) throw new InvalidOptionError(option, `expected an array of Job classes, got ${typeof jobs}`);
    return [...jobs] as JobClass[];
  }),
  consumer: {
    summary: 'group membership and fetch settings',
    appliesTo: 'kafkajs consumer',
    defaultText: 'see its rows',
    options: {
      sessionTimeout: value('ms without heartbeats before the member is removed', 'kafkajs consumer', 30_000, milliseconds(1)),
      rebalanceTimeout: value('ms members have to rejoin a rebalance; also how long `run()` waits for the first assignment', 'kafkajs consumer, worker start', 60_000, milliseconds(1)),
      heartbeatInterval: value('ms between heartbeats', 'kafkajs consumer', 3_000, milliseconds(1)),
      maxBytesPerPartition: value('most bytes fetched per partition per request (a larger record batch still comes whole when first in the response)', 'kafkajs consumer', 262_144, wholeNumber(1)),
      maxBytes: value('most bytes of one fetch response over all its partitions; fetched messages hold their response until done, so this bounds memory per fetch', 'kafkajs consumer', 2_097_152, wholeNumber(1)),
      maxWaitTimeInMs: value('longest the broker holds a fetch waiting for data; also bounds how fast a resumed partition is fetched again', 'kafkajs consumer', 100, milliseconds(0)),
    },
  },
  backoff: {
    summary: 'backoff after a failed batch; routes may override it',
    appliesTo: 'partition processor',
    defaultText: 'see its rows',
    options: {
      timeout: value('first wait after a failure, in ms', 'partition processor', BACKOFF_DEFAULTS.timeout, milliseconds(0)),
      maxTimeout: value('longest wait, in ms', 'partition processor', BACKOFF_DEFAULTS.maxTimeout, milliseconds(0)),
      exponentialBackoff: value('double the wait after each failed attempt', 'partition processor', BACKOFF_DEFAULTS.exponentialBackoff, flag),
    },
  },
  maxBufferedMessages: value('per partition: fetching pauses when this many messages wait to start, and resumes at half', 'partition processor', 1000, wholeNumber(1)),
  maxBatchSize: value('most messages admitted to the lanes at once, and in one run of a lane', 'partition processor', 500, wholeNumber(1)),
  commitIntervalMs: value('longest a mark waits before its offset is committed', 'committer', 250, milliseconds(0)),
  shutdownTimeoutMs: value('how long `stop()` lets running jobs finish', 'worker stop', 30_000, milliseconds(0)),
  discoveryIntervalMs: derived(
    'how often patterns look for new topics',
    'pattern discovery',
    '`5000` (`60000` when `NODE_ENV=production`)',
    () => (process.env.NODE_ENV === 'production' ? 60_000 : 5_000),
    milliseconds(1),
  ),
  dispatch: {
    summary: "bounds of the app's producer (jobs enqueued from jobs, consumers' produce)",
    appliesTo: "the app's dispatcher",
    defaultText: 'see its rows',
    options: {
      batchSize: listed('most messages in one produce request', 'dispatcher', DISPATCHER_DEFAULTS.batchSize),
      batchBytes: listed('most bytes in one produce request', 'dispatcher', DISPATCHER_DEFAULTS.batchBytes),
      lingerMs: listed('how long async messages wait for company while no request is in flight (0: until the end of the event-loop turn); during one they go out when it is answered', 'dispatcher', DISPATCHER_DEFAULTS.lingerMs),
      maxBufferedMessages: listed('async callers wait while this many messages are buffered', 'dispatcher', DISPATCHER_DEFAULTS.maxBufferedMessages),
      maxMessageBytes: listed('largest single message accepted', 'dispatcher', DISPATCHER_DEFAULTS.maxMessageBytes),
      deliveryTimeoutMs: listed("how long a message may wait for the broker's acknowledgement", 'dispatcher', DISPATCHER_DEFAULTS.deliveryTimeoutMs),
      retryBackoffMs: listed('first wait between async delivery attempts, doubled each time', 'dispatcher', DISPATCHER_DEFAULTS.retryBackoffMs),
    },
    resolve: (option, given) => resolveDispatcherOptions((given ?? {}) as DispatcherOptions, option),
  },
  transactionalIdPrefix: value('prefix of the per-partition transactional ids', 'transactional producers', '', text),
  handleSignals: value('stop on SIGINT/SIGTERM (the `partita worker` command turns it on)', 'app', false, flag),
  logger: derived(
    "any pino logger (or object with pino's `error`/`warn`/`info`/`debug`) the app logs through: see [Logs](#logs)",
    'app, worker and kafkajs logs',
    "the process's logger",
    (given) => resolveLogger(undefined, given.logLevel, 'createApp'),
    (option, logger, given) => resolveLogger(logger as Logger, given.logLevel, option.slice(0, -'.logger'.length)),
  ),
  logLevel: derived(
    "level of the app's own logger when no `logger` is given",
    'app logger',
    '`PARTITA_LOG_LEVEL`, else `info`',
    () => undefined,
    (option, level) => {
      if (!(LOG_LEVELS as readonly unknown[]).includes(level)) throw new InvalidOptionError(option, `expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
      return level as LogLevel;
    },
  ),
  reports: {
    summary: 'worker reports to `partita.reports` (and failures to `partita.errors`); `false` turns them off',
    appliesTo: 'report publisher',
    defaultText: 'see its rows',
    options: {
      intervalMs: listed('how often the worker report is published to `partita.reports`, in ms; `reports: false` turns reports off', 'report publisher', DEFAULT_REPORT_INTERVAL_MS),
    },
    resolve: (option, given) => {
      const intervalMs = resolveReportsOptions(option, given as ReportsOptions | false);
      return intervalMs === undefined ? false : { intervalMs };
    },
  },
  metrics: {
    summary: 'Prometheus metrics (`true`, or `{ port }` to serve `/metrics`); off by default',
    appliesTo: 'metrics (prom-client)',
    defaultText: '`false`',
    options: {
      port: told('port of the app\'s own `/metrics` server (`0`: any free one); without it nothing listens: mount `app.metrics.handler`', 'metrics server', 'none'),
      host: told('address the `/metrics` server binds to', 'metrics server', "`'127.0.0.1'` once metrics are on"),
      processMetrics: told("prom-client's default process metrics in the same registry", 'metrics registry', '`true` once metrics are on'),
    },
    resolve: (option, given) => resolveMetricsOptions(option, given as MetricsOptions | boolean | undefined) ?? false,
  },
} satisfies Record<keyof AppConfig, ValueOption<unknown> | SectionOption>;

/**
 * Every option of `createApp`: what it does, its default, where it applies. {@link resolveConfig}
 * resolves a configuration by it; `partita config` prints it; README's option tables are checked
 * against it. Sections (`consumer`, `backoff`, `dispatch`, `kafka`, `reports`) hold a row per option inside.
 */
export const CONFIG_OPTIONS: Readonly<Record<keyof AppConfig, OptionEntry | OptionSection>> = OPTIONS;

/**
 * Settings of each route (`r.topic(...)`, `r.activeJobTopic(...)`, patterns), with their defaults:
 * the route builders check them where they are declared and fill them from `ROUTE_DEFAULTS`.
 */
export const ROUTE_OPTIONS: Readonly<Record<string, OptionEntry>> = {
  'virtualPartitions.maxPartitions': listed('most lanes per partition running at once', 'partition processor (lanes)', ROUTE_DEFAULTS.virtualPartitions.maxPartitions),
  'virtualPartitions.distribution': listed('`consistent`: a key keeps its lane; `balanced`: a key with nothing unfinished goes to the next free lane', 'lane scheduler', ROUTE_DEFAULTS.virtualPartitions.distribution),
  'virtualPartitions.offsetMetadataStrategy': listed('which metadata is committed: `current` (latest given) or `exact` (given with the committed offset)', 'offset tracker', ROUTE_DEFAULTS.virtualPartitions.offsetMetadataStrategy),
  'virtualPartitions.transactionScope': listed('`block`: each transaction() commits alone; `batch`: one transaction per batch (batches then run one at a time)', 'partition processor (transactions)', ROUTE_DEFAULTS.virtualPartitions.transactionScope),
  'deadLetterQueue.maxRetries': listed('retries before a message is dead-lettered', 'partition processor (retry budget)', ROUTE_DEFAULTS.deadLetterQueue.maxRetries),
  'deadLetterQueue.independent': {
    summary: 'each message has its own retry budget',
    appliesTo: 'partition processor (retry budget)',
    defaultText: `${formatDefault(ROUTE_DEFAULTS.deadLetterQueue.independent.jobs)} on job topics, ${formatDefault(ROUTE_DEFAULTS.deadLetterQueue.independent.consumer)} on consumer topics`,
  },
  backoff: told('backoff after a failure on this route', 'partition processor', "the app's `backoff`"),
  initialOffset: listed('where a new consumer group starts', 'kafkajs subscription', ROUTE_DEFAULTS.initialOffset),
  longRunningJob: listed('the partition stays paused while its batch runs', 'partition processor', ROUTE_DEFAULTS.longRunningJob),
  manualOffsetManagement: listed('nothing is marked automatically after `consume`', 'consumer', ROUTE_DEFAULTS.manualOffsetManagement),
  transactional: listed('fence the previous owner before the first batch', 'partition processor (transactions)', ROUTE_DEFAULTS.transactional),
  delayTiers: listed('job topics: route (and create) the delay-tier topics', 'app (delay consumers)', ROUTE_DEFAULTS.delayTiers),
  'recurring.timezone': listed('`r.recurring(...)`: the IANA time zone its cron expression is read in', 'recurring-job ticker (tick planning)', RECURRING_DEFAULTS.timezone),
  'recurring.missed': listed('`r.recurring(...)`: ticks due longer than the catch-up window: `run-once` (one job, for the newest) or `skip`', 'recurring-job ticker (tick planning)', RECURRING_DEFAULTS.missed),
  'recurring.catchUpWindowMs': listed('`r.recurring(...)`: ticks due at most this long at a takeover are each enqueued, in ms', 'recurring-job ticker (tick planning)', RECURRING_DEFAULTS.catchUpWindowMs),
};

/** One row of {@link configRows}: an option's dotted path and its entry. */
export interface ConfigRow extends OptionEntry {
  /** The option's path, e.g. `consumer.sessionTimeout` or `routes.virtualPartitions.maxPartitions`. */
  readonly option: string;
}

/** Every option of {@link CONFIG_OPTIONS} (sections as their inner rows), then every route setting under `routes.`. */
export function configRows(): ConfigRow[] {
  const rows: ConfigRow[] = [];
  for (const [name, entry] of Object.entries(CONFIG_OPTIONS) as [string, OptionEntry][]) {
    if (isSection(entry)) {
      for (const [inner, row] of Object.entries(entry.options)) rows.push({ option: `${name}.${inner}`, ...row });
    } else {
      rows.push({ option: name, ...entry });
    }
  }
  for (const [name, row] of Object.entries(ROUTE_OPTIONS)) rows.push({ option: `routes.${name}`, ...row });
  return rows;
}

function isSection(entry: OptionEntry): entry is OptionSection {
  return 'options' in entry;
}

/**
 * Validates a configuration against {@link CONFIG_OPTIONS} and fills in every default. Refuses an
 * option name the table does not have, a value of the wrong type or out of range, with an
 * {@link InvalidOptionError} naming the option's path (`createApp.consumer.sessionTimeout`).
 * @param option the name errors start with
 */
export function resolveConfig(config: AppConfig, option = 'createApp'): ResolvedConfig {
  if (config === null || typeof config !== 'object') throw new InvalidOptionError(option, 'expected a configuration object');
  refuseUnknownOptions(option, config, Object.keys(OPTIONS));
  if (config.logger !== undefined && config.logLevel !== undefined) {
    throw new InvalidOptionError(`${option}.logLevel`, 'give either logger (which has its own level) or logLevel, not both');
  }
  const resolved: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(OPTIONS) as [string, ValueOption<unknown> | SectionOption][]) {
    const given = (config as unknown as Record<string, unknown>)[name];
    const path = `${option}.${name}`;
    if ('options' in entry) resolved[name] = resolveSection(path, entry, given, config);
    else resolved[name] = given === undefined ? entry.defaultOf(config, resolved) : entry.check(path, given, config);
  }
  // The logger option resolves the level too; logLevel is not kept apart from the logger it made.
  delete resolved.logLevel;
  return resolved as unknown as ResolvedConfig;
}

function resolveSection(option: string, entry: SectionOption, given: unknown, config: AppConfig): unknown {
  if (entry.resolve) return entry.resolve(option, given, config);
  if (given !== undefined && (given === null || typeof given !== 'object')) throw new InvalidOptionError(option, `expected an object, got ${String(given)}`);
  const values = (given ?? {}) as Record<string, unknown>;
  refuseUnknownOptions(option, values, Object.keys(entry.options));
  const resolved: Record<string, unknown> = {};
  for (const [name, inner] of Object.entries(entry.options) as [string, ValueOption<unknown>][]) {
    resolved[name] = values[name] === undefined ? inner.defaultOf(config, resolved) : inner.check(`${option}.${name}`, values[name], config);
  }
  return resolved;
}
