import { logLevel as KafkaLogLevel, protocolErrors, type logCreator } from './kafkajs.ts';

/**
 * Where the kafka boundary writes kafkajs's log lines: pino-style level methods taking structured
 * fields and a message (Partita's `Logger` is one).
 */
export interface KafkaLogPort {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

/**
 * Protocol errors of normal operation: those kafkajs retries by itself while a group rebalances or
 * a coordinator or partition leader loads or moves (a fresh broker creating its offsets topic, a
 * member joining the group: "The group is rebalancing, so a rejoin is needed" on every heartbeat
 * until the rejoin), and the fencing of a previous owner's transactions after a rebalance. Their
 * lines are debug, whatever level kafkajs gave them: what they end in, if anything, Partita reports
 * itself (a failed attempt with its stack, or work cut short by a revocation).
 */
const EXPECTED_PROTOCOL_ERRORS = [
  'REBALANCE_IN_PROGRESS',
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  // A topic just created (a job, delay-tier or report topic), asked of a broker whose metadata does
  // not have it yet: kafkajs retries; a topic that stays missing is Partita's MissingTopicError.
  'UNKNOWN_TOPIC_OR_PARTITION',
  // A new owner's transactional producer initializing while the previous owner's transaction ends.
  'CONCURRENT_TRANSACTIONS',
  // The previous owner's transactional producer, fenced by the new owner after a rebalance.
  'INVALID_PRODUCER_EPOCH',
];

const expectedMessages = new Set(protocolErrors.filter((error) => EXPECTED_PROTOCOL_ERRORS.includes(error.type)).map((error) => error.message));

/**
 * kafkajs's producer logs a failed send as the error's message, or `Failed to send messages: <message>`.
 * Its consumer's `Crash: ...` and `Restarting the consumer in ...` lines are told by Partita itself,
 * which hears of every crash (and says whether the worker recovers).
 */
function isExpected(namespace: string, message: string): boolean {
  if (namespace === 'Consumer' && /^(Crash: |Restarting the consumer in )/.test(message)) return true;
  return expectedMessages.has(message.replace(/^Failed to send messages: /, ''));
}

type Method = keyof KafkaLogPort;
const METHODS: Record<number, Method> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/**
 * A kafkajs `logCreator` writing every line kafkajs emits (kafkajs's `logLevel` still decides
 * which) to `port`, at kafkajs's level except for the expected protocol errors and the consumer's
 * crash lines above (debug).
 * The message carries kafkajs's namespace and extra fields, for text logs; the fields carry them
 * too, for JSON logs.
 */
export function kafkaLogCreator(port: KafkaLogPort): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, stack, ...extra } = log as Record<string, unknown>;
      const expected = (typeof extra.error === 'string' && expectedMessages.has(extra.error)) || isExpected(namespace, String(message));
      const method: Method = expected ? 'debug' : (METHODS[level] ?? 'info');
      const detail = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
      port[method]({ component: 'kafkajs', namespace, ...extra, ...(stack === undefined ? {} : { stack }) }, `kafkajs [${namespace}] ${String(message)}${detail}`);
    };
}
