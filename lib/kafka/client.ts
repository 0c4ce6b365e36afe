import { abortedFilterInstalled, Kafka, logLevel as KafkaLogLevel, type KafkaClient, type KafkaConfig as KafkaJsConfig } from './kafkajs.ts';
import { InvalidOptionError } from '../errors.ts';
import { refuseUnknownOptions } from '../validation.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS, registerBrokerCheck } from './broker-check.ts';
import { kafkaLogCreator, type KafkaLogPort } from './kafka-log.ts';

/** How to reach the Kafka cluster. */
export interface KafkaConnection {
  /** `host:port` of one or more brokers. Use `127.0.0.1`, not `localhost` (IPv6 first on Node ≥ 17). */
  brokers: string[];
  /** Client id sent to the brokers. @defaultValue `'partita'` */
  clientId?: string;
  /**
   * Which of kafkajs's own lines reach Partita's logger: `nothing`, `error`, `warn`, `info`,
   * `debug`. The logger's level then filters them like any other line.
   * @defaultValue `'warn'`
   */
  logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  /** Extra kafkajs client settings (ssl, sasl, timeouts), passed through. @defaultValue `{}` */
  client?: Omit<KafkaJsConfig, 'brokers' | 'clientId' | 'logLevel' | 'logCreator'>;
  /**
   * How long the first contact with the brokers (when a worker starts, when a dispatcher first
   * sends) may take before it fails with a `BrokerUnavailableError`, in ms. A refused connection is
   * tried again meanwhile, so a broker that is still starting is waited for.
   * @defaultValue 10000
   */
  connectTimeoutMs?: number;
}

const CONNECTION_OPTIONS = { brokers: true, clientId: true, logLevel: true, client: true, connectTimeoutMs: true } satisfies Record<keyof KafkaConnection, true>;

const LOG_LEVELS = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
} as const;

/** The connection settings that have defaults, and those defaults. */
export const KAFKA_CONNECTION_DEFAULTS = {
  /** Client id sent to the brokers. */
  clientId: 'partita',
  /** Which of kafkajs's own lines reach Partita's logger. */
  logLevel: 'warn',
  /** Bound of the first contact with the brokers, in ms. */
  connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
} as const satisfies Partial<KafkaConnection>;

/** A connection after {@link resolveKafkaConnection}: every setting present. */
export type ResolvedKafkaConnection = Required<KafkaConnection>;

let warnedAboutFilter = false;

/**
 * Validates a connection description (unknown names, brokers, `logLevel`, `connectTimeoutMs`) and
 * fills in {@link KAFKA_CONNECTION_DEFAULTS}.
 * @param option name used in errors, e.g. `createApp.kafka`
 */
export function resolveKafkaConnection(connection: KafkaConnection, option: string): ResolvedKafkaConnection {
  if (connection === null || typeof connection !== 'object') {
    throw new InvalidOptionError(option, 'expected { brokers: ["127.0.0.1:9092"] }');
  }
  const { brokers } = connection;
  if (!Array.isArray(brokers) || brokers.length === 0 || brokers.some((b) => typeof b !== 'string' || !/^[^:\s]+:\d+$/.test(b))) {
    throw new InvalidOptionError(`${option}.brokers`, `expected a non-empty list of "host:port", got ${JSON.stringify(brokers)}`);
  }
  refuseUnknownOptions(option, connection, Object.keys(CONNECTION_OPTIONS));
  const connectTimeoutMs = connection.connectTimeoutMs ?? KAFKA_CONNECTION_DEFAULTS.connectTimeoutMs;
  if (typeof connectTimeoutMs !== 'number' || !Number.isFinite(connectTimeoutMs) || connectTimeoutMs < 1) {
    throw new InvalidOptionError(`${option}.connectTimeoutMs`, `expected milliseconds >= 1, got ${String(connectTimeoutMs)}`);
  }
  const logLevel = connection.logLevel ?? KAFKA_CONNECTION_DEFAULTS.logLevel;
  if (!(logLevel in LOG_LEVELS)) {
    throw new InvalidOptionError(`${option}.logLevel`, `expected one of ${Object.keys(LOG_LEVELS).join(', ')}, got ${JSON.stringify(logLevel)}`);
  }
  const clientId = connection.clientId ?? KAFKA_CONNECTION_DEFAULTS.clientId;
  if (typeof clientId !== 'string') throw new InvalidOptionError(`${option}.clientId`, `expected a string, got ${typeof clientId}`);
  const client = connection.client ?? {};
  if (client === null || typeof client !== 'object') throw new InvalidOptionError(`${option}.client`, `expected an object of kafkajs settings, got ${String(client)}`);
  return { brokers: [...brokers], clientId, logLevel, client, connectTimeoutMs };
}

/**
 * Validates a connection description and builds the kafkajs client for it.
 * @param option name used in errors, e.g. `configure.kafka`
 * @param logger where kafkajs's log lines go (see {@link kafkaLogCreator})
 */
export function createKafka(connection: KafkaConnection, option: string, logger: KafkaLogPort): KafkaClient {
  return kafkaClient(resolveKafkaConnection(connection, option), logger);
}

/**
 * Builds the kafkajs client for a resolved connection.
 * @param logger where kafkajs's log lines go (see {@link kafkaLogCreator})
 */
export function kafkaClient(connection: ResolvedKafkaConnection, logger: KafkaLogPort): KafkaClient {
  if (!abortedFilterInstalled && !warnedAboutFilter) {
    warnedAboutFilter = true;
    logger.warn(
      {},
      'kafkajs was loaded before partita, so its read_committed filter (which can let records of aborted ' +
        'transactions through) is in use. Import partita before kafkajs.',
    );
  }
  const settings = { ...connection.client, brokers: connection.brokers, clientId: connection.clientId };
  const kafka = new Kafka({
    ...settings,
    logLevel: LOG_LEVELS[connection.logLevel],
    logCreator: kafkaLogCreator(logger),
  });
  registerBrokerCheck(kafka, settings, connection.connectTimeoutMs);
  return kafka;
}
