import { Kafka, logLevel as KafkaLogLevel, type KafkaClient, type KafkaConfig } from './kafkajs.ts';
import { BrokerUnavailableError, NotKafkaBrokerError, PartitaError } from '../errors.ts';

/** Longest the first contact with the brokers may take, by default, before it is reported. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The first contact's own kafkajs settings: a refused connection is tried again, 300 ms doubling to
 * 2 s apart, for most of `connectTimeoutMs` (about 6 s of the default 10 s: a broker that is still
 * starting gets that long); a request nobody answers gives up after 5 s. The client used
 * afterwards keeps kafkajs's (or the app's) settings.
 */
function firstContactSettings(timeoutMs: number): Pick<KafkaConfig, 'requestTimeout' | 'retry'> {
  return { requestTimeout: 5_000, retry: { retries: Math.max(1, Math.round(timeoutMs / 2_000)), initialRetryTime: 300, maxRetryTime: 2_000 } };
}

const TO_DO =
  'Is Kafka running? Set KAFKA_BROKERS (or kafka.brokers) to a running broker, or run `npx partita kafka start`.';

const checks = new WeakMap<KafkaClient, BrokerCheck>();

/** How {@link reachBrokers} reaches the brokers of one client. @internal */
export function registerBrokerCheck(kafka: KafkaClient, config: KafkaConfig, timeoutMs: number): void {
  checks.set(kafka, new BrokerCheck(config, timeoutMs));
}

/**
 * Resolves once a Kafka broker of this client answered (checked once per client, quietly, within
 * the connection's `connectTimeoutMs`), or rejects with a {@link BrokerUnavailableError} that names
 * the brokers and says what to do, or a {@link NotKafkaBrokerError} when the address answered but
 * is not Kafka. Clients not made by `createKafka` are not checked.
 */
export function reachBrokers(kafka: KafkaClient): Promise<void> {
  return checks.get(kafka)?.reach() ?? Promise.resolve();
}

/** The brokers a client made by `createKafka` connects to (empty for other clients). */
export function brokersOf(kafka: KafkaClient): readonly string[] {
  return checks.get(kafka)?.brokers ?? [];
}

/**
 * Turns a kafkajs connection failure after the first contact (the brokers answered before) into a
 * {@link BrokerUnavailableError} that names the brokers; other errors are returned as they are.
 */
export function describeConnectionFailure(error: unknown, brokers: readonly string[]): unknown {
  if (error instanceof PartitaError || connectionFailureOf(error) === undefined) return error;
  return new BrokerUnavailableError(`Lost Kafka at ${brokers.join(', ')} (${(error as Error).message}). ${TO_DO}`, { brokers, cause: error });
}

/** A failed `connect()` of a kafkajs client as a Partita error naming the brokers. */
export function describeConnectFailure(error: unknown, brokers: readonly string[]): PartitaError {
  const described = describeConnectionFailure(error, brokers);
  if (described instanceof PartitaError) return described;
  return new BrokerUnavailableError(`Could not connect to Kafka at ${brokers.join(', ')}: ${String((error as Error)?.message ?? error)}`, { brokers, cause: error });
}

/** The first contact's failure: nothing there, something that is not Kafka, or a refusal (TLS, SASL). */
function describeFirstContactFailure(error: unknown, brokers: readonly string[]): PartitaError {
  if (error instanceof PartitaError) return error;
  const failure = connectionFailureOf(error);
  if (failure === undefined) {
    return new BrokerUnavailableError(
      `Kafka at ${brokers.join(', ')} refused the connection: ${String((error as Error)?.message ?? error)}. Check kafka.client.ssl / kafka.client.sasl.`,
      { brokers, cause: error },
    );
  }
  const { detail } = failure;
  if (failure.kind === 'not-kafka') {
    return new NotKafkaBrokerError(
      `${failure.address ?? brokers.join(', ')} answered but is not a Kafka broker: ${detail}. Check that kafka.brokers ` +
        '(or KAFKA_BROKERS) names the Kafka listener\'s host:port, not an HTTP server, the controller port or another service; ' +
        'if the listener uses TLS or SASL, set kafka.client.ssl / kafka.client.sasl.',
      { brokers, cause: error },
    );
  }
  return new BrokerUnavailableError(`No Kafka broker reachable at ${brokers.join(', ')} (${detail}). ${TO_DO}`, { brokers, cause: error });
}

class BrokerCheck {
  readonly #config: KafkaConfig;
  readonly #timeoutMs: number;
  #reached: Promise<void> | undefined;

  constructor(config: KafkaConfig, timeoutMs: number) {
    this.#config = config;
    this.#timeoutMs = timeoutMs;
  }

  get brokers(): readonly string[] {
    return this.#config.brokers as string[];
  }

  reach(): Promise<void> {
    this.#reached ??= this.#contact().catch((error: unknown) => {
      this.#reached = undefined;
      throw error;
    });
    return this.#reached;
  }

  async #contact(): Promise<void> {
    const { brokers } = this;
    const admin = new Kafka({
      ...this.#config,
      ...firstContactSettings(this.#timeoutMs),
      connectionTimeout: Math.min(this.#config.connectionTimeout ?? 1_000, this.#timeoutMs),
      logLevel: KafkaLogLevel.NOTHING,
    }).admin();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new BrokerUnavailableError(
              `No Kafka broker answered at ${brokers.join(', ')} within ${this.#timeoutMs} ms (kafka.connectTimeoutMs). ${TO_DO}`,
              { brokers },
            ),
          ),
        this.#timeoutMs,
      );
    });
    try {
      // kafkajs counts a connection whose ApiVersions request went unanswered as connected: only a
      // request shows that a Kafka broker is there.
      await Promise.race([admin.connect().then(() => admin.describeCluster()), deadline]);
    } catch (error) {
      throw describeFirstContactFailure(error, brokers);
    } finally {
      clearTimeout(timer);
      // Not awaited: after the deadline kafkajs may still wait for an unanswered request.
      void admin.disconnect().catch(() => {});
    }
  }
}

interface ConnectionFailure {
  kind: 'unreachable' | 'not-kafka';
  /** What happened, for the message. */
  detail: string;
  address: string | undefined;
}

/** Node's codes for an address where nothing answers. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/**
 * Reads kafkajs's error (and the errors it wraps after retries): refused or timed-out connections
 * mean nothing is there; a connection that closes or stays silent after kafkajs's first request
 * (ApiVersions) means something that is not Kafka answered.
 */
function connectionFailureOf(error: unknown): ConnectionFailure | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const { name, message } = current;
    const details = current as Error & { code?: string; host?: string; port?: number; broker?: string };
    const address = details.host !== undefined && details.port !== undefined ? `${details.host}:${details.port}` : details.broker;
    if (name === 'KafkaJSConnectionClosedError') return { kind: 'not-kafka', detail: 'it closed the connection instead of answering a Kafka request', address };
    if (name === 'KafkaJSRequestTimeoutError' || message === 'Broker not connected') {
      return { kind: 'not-kafka', detail: 'it accepted the connection but did not answer a Kafka request', address };
    }
    if (name === 'KafkaJSConnectionError') {
      if (details.code === 'ECONNRESET') return { kind: 'not-kafka', detail: 'it reset the connection instead of answering a Kafka request', address };
      if (details.code !== undefined && !UNREACHABLE_CODES.has(details.code)) return undefined;
      return { kind: 'unreachable', detail: message, address };
    }
  }
  return undefined;
}
