import { InvalidOptionError, type KafkaConnection } from '../index.ts';

/**
 * BullMQ's `{ host, port }` shape, read as one Kafka broker: `host` (`localhost` becomes
 * `127.0.0.1`, since Node tries IPv6 first) and `port`.
 */
export interface HostPortConnection {
  /** The broker's host. @defaultValue `'127.0.0.1'` */
  host?: string;
  /** The broker's port (a Kafka listener, not Redis's 6379). @defaultValue 9092 */
  port?: number;
}

/**
 * Where a queue's Kafka cluster is: Partita's own `{ brokers: ['host:port', ...], client?, ... }`
 * (see `KafkaConnection`), or BullMQ's `{ host, port }` naming one broker. A Redis client instance
 * is not a connection here.
 */
export type ConnectionOptions = KafkaConnection | HostPortConnection;

const DEFAULT_PORT = 9092;

/**
 * The Kafka connection a queue, worker or queue-events object uses. Without one: the brokers in
 * `KAFKA_BROKERS` (comma-separated), else `127.0.0.1:9092`.
 */
export function kafkaConnectionOf(connection: ConnectionOptions | undefined, option: string): KafkaConnection {
  if (connection === undefined) {
    return { brokers: (process.env.KAFKA_BROKERS ?? `127.0.0.1:${DEFAULT_PORT}`).split(',').map((broker) => broker.trim()) };
  }
  if (connection === null || typeof connection !== 'object') {
    throw new InvalidOptionError(option, `expected { brokers: ['127.0.0.1:9092'] } or { host, port }, got ${String(connection)}`);
  }
  if ('brokers' in connection) return connection;
  const { host, port, ...others } = connection;
  const unknown = Object.keys(others);
  if (unknown.length > 0) {
    throw new InvalidOptionError(
      `${option}.${unknown[0]}`,
      'a { host, port } connection names one Kafka broker and takes nothing else; for client settings (ssl, sasl, timeouts) ' +
        "give { brokers: ['host:port'], client: {...} } instead",
    );
  }
  if (host !== undefined && (typeof host !== 'string' || host.length === 0)) {
    throw new InvalidOptionError(`${option}.host`, `expected a host name, got ${String(host)}`);
  }
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
    throw new InvalidOptionError(`${option}.port`, `expected a port number, got ${String(port)}`);
  }
  const broker = `${host === undefined || host === 'localhost' ? '127.0.0.1' : host}:${port ?? DEFAULT_PORT}`;
  return { brokers: [broker] };
}
