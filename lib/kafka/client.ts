import { abortedFilterInstalled, Kafka, logLevel as KafkaLogLevel, type KafkaClient, type KafkaConfig as KafkaJsConfig, type logCreator } from './kafkajs.ts';
import { InvalidOptionError } from '../errors.ts';

/** How to reach the Kafka cluster. */
export interface KafkaConnection {
  /** `host:port` of one or more brokers. Use `127.0.0.1`, not `localhost` (IPv6 first on Node ≥ 17). */
  brokers: string[];
  /** Client id sent to the brokers. Default `partita`. */
  clientId?: string;
  /** kafkajs's own log output: `nothing`, `error`, `warn` (default), `info`, `debug`. */
  logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  /** Extra kafkajs client settings (ssl, sasl, timeouts), passed through. */
  client?: Omit<KafkaJsConfig, 'brokers' | 'clientId' | 'logLevel' | 'logCreator'>;
}

const LOG_LEVELS = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
} as const;

const LEVEL_NAMES: Record<number, string> = { 1: 'ERROR', 2: 'WARN', 4: 'INFO', 5: 'DEBUG' };

/** kafkajs log lines on stderr, one line each, prefixed so they are told apart from ours. */
const stderrLogCreator: logCreator = () => ({ namespace, level, log }) => {
  const { message, timestamp: _timestamp, logger: _logger, ...extra } = log as Record<string, unknown>;
  const detail = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
  process.stderr.write(`kafkajs ${LEVEL_NAMES[level] ?? level} [${namespace}] ${String(message)}${detail}\n`);
};

let warnedAboutFilter = false;

/**
 * Validates a connection description and builds the kafkajs client for it.
 * @param option name used in errors, e.g. `createApp.kafka`
 */
export function createKafka(connection: KafkaConnection, option: string): KafkaClient {
  if (connection === null || typeof connection !== 'object') {
    throw new InvalidOptionError(option, 'expected { brokers: ["127.0.0.1:9092"] }');
  }
  const { brokers } = connection;
  if (!Array.isArray(brokers) || brokers.length === 0 || brokers.some((b) => typeof b !== 'string' || !/^[^:\s]+:\d+$/.test(b))) {
    throw new InvalidOptionError(`${option}.brokers`, `expected a non-empty list of "host:port", got ${JSON.stringify(brokers)}`);
  }
  const level = connection.logLevel ?? 'warn';
  if (!(level in LOG_LEVELS)) {
    throw new InvalidOptionError(`${option}.logLevel`, `expected one of ${Object.keys(LOG_LEVELS).join(', ')}, got ${JSON.stringify(level)}`);
  }
  if (!abortedFilterInstalled && !warnedAboutFilter) {
    warnedAboutFilter = true;
    process.stderr.write(
      'partita: kafkajs was loaded before partita, so its read_committed filter (which can let records of aborted ' +
        'transactions through) is in use. Import partita before kafkajs.\n',
    );
  }
  return new Kafka({
    ...connection.client,
    brokers,
    clientId: connection.clientId ?? 'partita',
    logLevel: LOG_LEVELS[level],
    logCreator: stderrLogCreator,
  });
}
