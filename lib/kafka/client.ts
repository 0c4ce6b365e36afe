import { abortedFilterInstalled, Kafka, logLevel as KafkaLogLevel, type KafkaClient, type KafkaConfig as KafkaJsConfig } from './kafkajs.ts';
import { InvalidOptionError } from '../errors.ts';
import { refuseUnknownOptions } from '../validation.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS, registerBrokerCheck } from './broker-check.ts';
import { kafkaLogCreator, type KafkaLogPort } from './kafka-log.ts';

/** How to reach the Kafka cluster. */
export interface KafkaConnection {
  /** `host:port` of one or more brokers. Use `127.0.0.1`, not `localhost` (IPv6 first on Node ≥ 17). */
  brokers: string[];
  /** Client id sent to the brokers. Default `partita`. */
  clientId?: string;
  /**
   * Which of kafkajs's own lines reach Partita's logger: `nothing`, `error`, `warn`, `info`,
   * `debug`. The logger's level then filters them like any other line.
   * @defaultValue `'warn'`
   */
  logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  /** Extra kafkajs client settings (ssl, sasl, timeouts), passed through. */
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

let warnedAboutFilter = false;

/**
 * Validates a connection description and builds the kafkajs client for it.
 * @param option name used in errors, e.g. `createApp.kafka`
 * @param logger where kafkajs's log lines go (see {@link kafkaLogCreator})
 */
export function createKafka(connection: KafkaConnection, option: string, logger: KafkaLogPort): KafkaClient {
  if (connection === null || typeof connection !== 'object') {
    throw new InvalidOptionError(option, 'expected { brokers: ["127.0.0.1:9092"] }');
  }
  const { brokers } = connection;
  if (!Array.isArray(brokers) || brokers.length === 0 || brokers.some((b) => typeof b !== 'string' || !/^[^:\s]+:\d+$/.test(b))) {
    throw new InvalidOptionError(`${option}.brokers`, `expected a non-empty list of "host:port", got ${JSON.stringify(brokers)}`);
  }
  refuseUnknownOptions(option, connection, Object.keys(CONNECTION_OPTIONS));
  const connectTimeoutMs = connection.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (typeof connectTimeoutMs !== 'number' || !Number.isFinite(connectTimeoutMs) || connectTimeoutMs < 1) {
    throw new InvalidOptionError(`${option}.connectTimeoutMs`, `expected milliseconds >= 1, got ${String(connectTimeoutMs)}`);
  }
  const level = connection.logLevel ?? 'warn';
  if (!(level in LOG_LEVELS)) {
    throw new InvalidOptionError(`${option}.logLevel`, `expected one of ${Object.keys(LOG_LEVELS).join(', ')}, got ${JSON.stringify(level)}`);
  }
  if (!abortedFilterInstalled && !warnedAboutFilter) {
    warnedAboutFilter = true;
    logger.warn(
      {},
      'kafkajs was loaded before partita, so its read_committed filter (which can let records of aborted ' +
        'transactions through) is in use. Import partita before kafkajs.',
    );
  }
  const settings = { ...connection.client, brokers, clientId: connection.clientId ?? 'partita' };
  const kafka = new Kafka({
    ...settings,
    logLevel: LOG_LEVELS[level],
    logCreator: kafkaLogCreator(logger),
  });
  registerBrokerCheck(kafka, settings, connectTimeoutMs);
  return kafka;
}
