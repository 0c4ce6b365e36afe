/**
 * `partita/tracing`: OpenTelemetry through `@opentelemetry/api` only. Partita creates a producer
 * span for each enqueue and injects its context into the job's headers (`traceparent` with the W3C
 * propagator an SDK registers), and runs each job in a consumer span that continues that trace.
 * Without an SDK every call here is the API's no-op.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';

/** Name of the tracer Partita's spans come from. */
export const TRACER_NAME = 'partita';

/** Attribute names of Partita's spans: the messaging semantic conventions, plus the job's class and id. */
export const SpanAttributes = {
  /** Always `kafka`. */
  messagingSystem: 'messaging.system',
  /** The topic. */
  destinationName: 'messaging.destination.name',
  /** `send` or `process`. */
  operationType: 'messaging.operation.type',
  /** `send` or `process`. */
  operationName: 'messaging.operation.name',
  /** The job's id. */
  messageId: 'messaging.message.id',
  /** The message key, when it has one. */
  kafkaMessageKey: 'messaging.kafka.message.key',
  /** The partition (as a string). */
  partitionId: 'messaging.destination.partition.id',
  /** The message's offset. */
  kafkaOffset: 'messaging.kafka.offset',
  /** The worker's consumer group. */
  consumerGroup: 'messaging.consumer.group.name',
  /** The job's class name. */
  jobClass: 'partita.job.class',
  /** The job's id. */
  jobId: 'partita.job.id',
} as const;

/** A job as a span describes it. */
export interface TracedJob {
  /** The job's topic. */
  topic: string;
  /** The job's class name. */
  jobClass: string;
  /** The job's id. */
  jobId: string;
}

/** A consumed message as a span describes it. */
export interface TracedMessage {
  /** The topic. */
  topic: string;
  /** The partition of the topic. */
  partition: number;
  /** The offset in the partition. */
  offset: number;
  /** The message key; null when it has none. */
  key: string | null;
  /** The headers, where the enqueuer's trace context travels. */
  headers: Readonly<Record<string, string | undefined>>;
}

let tracerOf: { provider: TracerProvider; tracer: Tracer } | undefined;

/**
 * Partita's tracer from the global provider. Kept while the global provider stays the same object
 * (the API's proxy, whose tracers follow the provider registered behind it; `trace.disable()`
 * replaces the proxy): the proxy makes a new tracer on every call, and this runs once per job.
 */
function tracer(): Tracer {
  const provider = trace.getTracerProvider();
  if (tracerOf?.provider !== provider) tracerOf = { provider, tracer: provider.getTracer(TRACER_NAME) };
  return tracerOf.tracer;
}

/** Ends a span with the outcome of `body`: an exception and an error status when it threw. */
async function endWith<T>(span: Span, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Runs an enqueue in a producer span `send <topic>` (active meanwhile, so
 * {@link injectTraceContext} puts it in the headers), ended when `body` settles.
 */
export function inProducerSpan<T>(job: TracedJob, body: () => Promise<T>): Promise<T> {
  const attributes: Attributes = {
    [SpanAttributes.messagingSystem]: 'kafka',
    [SpanAttributes.destinationName]: job.topic,
    [SpanAttributes.operationType]: 'send',
    [SpanAttributes.operationName]: 'send',
    [SpanAttributes.messageId]: job.jobId,
    [SpanAttributes.jobClass]: job.jobClass,
    [SpanAttributes.jobId]: job.jobId,
  };
  return tracer().startActiveSpan(`send ${job.topic}`, { kind: SpanKind.PRODUCER, attributes }, (span) => endWith(span, body));
}

/** Writes the active trace context into outgoing headers (`traceparent`, `tracestate` with the W3C propagator). */
export function injectTraceContext(headers: Record<string, string>): void {
  propagation.inject(context.active(), headers);
}

/**
 * Runs a job in a consumer span `process <topic>` whose parent is the context in the message's
 * headers (the enqueuer's span), so the trace continues across processes. Jobs enqueued inside
 * become its children.
 */
export function inConsumerSpan<T>(message: TracedMessage, groupId: string | undefined, job: { jobClass: string; jobId: string }, body: () => Promise<T>): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, message.headers);
  const attributes: Attributes = {
    [SpanAttributes.messagingSystem]: 'kafka',
    [SpanAttributes.destinationName]: message.topic,
    [SpanAttributes.operationType]: 'process',
    [SpanAttributes.operationName]: 'process',
    [SpanAttributes.partitionId]: String(message.partition),
    [SpanAttributes.kafkaOffset]: message.offset,
    [SpanAttributes.messageId]: job.jobId,
    [SpanAttributes.jobClass]: job.jobClass,
    [SpanAttributes.jobId]: job.jobId,
  };
  // Set one by one, not spread: this runs once per job.
  if (message.key !== null) attributes[SpanAttributes.kafkaMessageKey] = message.key;
  if (groupId !== undefined) attributes[SpanAttributes.consumerGroup] = groupId;
  return tracer().startActiveSpan(`process ${message.topic}`, { kind: SpanKind.CONSUMER, attributes }, parent, (span) => endWith(span, body));
}
