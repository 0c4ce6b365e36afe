/**
 * Partita: background jobs for Node.js and TypeScript on Apache Kafka.
 * This module is the whole public surface.
 */
export { App, createApp } from './app.ts';
export { resolveConfig, configRows, CONFIG_OPTIONS, ROUTE_OPTIONS, type AppConfig, type ResolvedConfig, type OptionEntry, type OptionSection, type ConfigRow } from './config.ts';
export type { ReportsOptions } from './reports/publisher.ts';
export type { MetricsOptions, PartitaMetrics } from './metrics/metrics.ts';
export { Job, ConfiguredJob, type JobClass, type JobArguments, type Enqueued, type EnqueueOverrides, type JobOptions, type JobHook, type AroundHook } from './job/job.ts';
export type { DispatchMethod, DispatchManyMethod } from './job/options.ts';
export { JobHeaders, ENVELOPE_CONTENT_TYPE, type JobEnvelope } from './job/envelope.ts';
export { JobRegistry } from './job/registry.ts';
export { DELAY_TIERS, delayTopics, ScheduleHeaders, type DelayTier } from './schedule/tiers.ts';
export type { RetryOnOptions, RetryWait } from './schedule/retry-wait.ts';
export { configure, closeDispatcher, IDLE_DISCONNECT_MS, type DispatchConfiguration } from './dispatch/default-dispatcher.ts';
export type { ConsumerSettings } from './kafka/consumer-client.ts';
export { Dispatcher, type DispatcherOptions, type DispatcherEvents, type CloseOptions } from './dispatch/dispatcher.ts';
export type { Delivery, OutboundMessage } from './kafka/outbound-message.ts';
export type { TransactionHandle } from './job/ports.ts';
export { Consumer, MAX_OFFSET_METADATA_BYTES, type ProducedMessage } from './consume/consumer.ts';
export { Message, type PartitionerInput } from './kafka/inbound-message.ts';
export type {
  PartitionRef,
  GroupRef,
  BatchRef,
  MessageRef,
  JobRef,
  JobStartedEvent,
  UndecodedJobRef,
  WorkerStartedEvent,
  WorkerStoppingEvent,
  WorkerStoppedEvent,
  GroupRebalancedEvent,
  TopicDiscoveredEvent,
  PartitionRevokedEvent,
  PartitionPausedEvent,
  PartitionInheritedEvent,
  PartitionFetchedEvent,
  BatchStartedEvent,
  BatchCompletedEvent,
  BatchFailedEvent,
  LaneStartedEvent,
  LaneFinishedEvent,
  MessageDeadLetteredEvent,
  MessageSkippedEvent,
  CommittedOffset,
  BatchCommittedEvent,
  JobPerformedEvent,
  JobScheduledEvent,
  JobFailedEvent,
  RecurringOwnedEvent,
  RecurringEnqueuedEvent,
  RecurringSkippedEvent,
  WarningEvent,
  ErrorEvent,
  WorkerEvents,
} from './consume/worker-events.ts';
export type {
  RoutesBuilder,
  RouteBuilder,
  PatternBuilder,
  PatternArguments,
  RouteDefinition,
  VirtualPartitionsOptions,
  Reducer,
  BackoffSettings,
  TopicConfig,
  DeadLetterQueueOptions,
} from './routing/route.ts';
export type { RecurringOptions } from './routing/recurring.ts';
export type { MissedTickPolicy } from './schedule/cron.ts';
export { DeadLetterHeaders } from './consume/dead-letter.ts';
export { DeadLetters, type DeadLetter, type DeadLetterCounts, type DeadLetterPage, type ReplayResult } from './admin/index.ts';
export type { KafkaConnection } from './kafka/client.ts';
export type { OffsetAndMetadata } from './kafka/records.ts';
export { startLocalBroker, stopLocalBroker, type LocalBroker } from './local-broker/index.ts';
export { onShutdownStarted, type ShutdownContext } from './shutdown.ts';
export { createLogger, LOG_LEVELS, type Logger, type LoggerOptions, type LogFields, type LogLevel, type LogFormat } from './logging/logger.ts';
export {
  PartitaError,
  InvalidOptionError,
  UnsupportedOptionError,
  RouteValidationError,
  DispatcherNotConfiguredError,
  DispatcherClosedError,
  MessageTooLargeError,
  BadMessageError,
  UnknownJobClassError,
  PartitionerError,
  PartitionRevokedError,
  OffsetMetadataTooLargeError,
  UnmarkedOffsetsError,
  BrokerUnavailableError,
  DeliveryError,
  NotKafkaBrokerError,
  TopicsError,
  MissingTopicError,
  DeadLetterNotFoundError,
  ReplayConflictError,
  TopicNotReadyError,
  ProduceError,
  SerializationError,
  UnrecoverableError,
  TransactionError,
  SchedulingError,
  ConsumerRestartError,
  ShutdownTimeoutError,
  JobsLostError,
  EndlessJobsError,
  WebAuthRequiredError,
  UsageError,
  WorkerFileError,
  type LostMessage,
  type BadInputKind,
  type MessageCoordinates,
} from './errors.ts';
