/**
 * The one place kafkajs is loaded. kafkajs 2.2.4's read_committed filter takes the broker's list
 * of aborted transactions as if it were sorted by first offset and advances it by at most one
 * entry per record; the broker lists them in the order they ended. With two producers' aborted
 * transactions interleaved in a partition, records of an aborted transaction are delivered as if
 * committed (seen here with transactional consumers killed mid-transaction). kafkajs captures the
 * filter when it loads, so ours is placed in the module cache before kafkajs is required.
 */
import Module, { createRequire } from 'node:module';
import { filterAbortedRecords } from './aborted-transactions.ts';
import { PartitaError } from '../errors.ts';

const require = createRequire(import.meta.url);
const filterPath = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');

/** False when kafkajs was loaded before Partita (its own filter is then in use). */
export const abortedFilterInstalled: boolean = (() => {
  const cached = require.cache[filterPath];
  if (cached) return cached.exports === filterAbortedRecords;
  const entry = new Module(filterPath);
  entry.filename = filterPath;
  entry.loaded = true;
  entry.exports = filterAbortedRecords;
  require.cache[filterPath] = entry;
  return true;
})();

const kafkajs = require('kafkajs') as typeof import('kafkajs');

export const { Kafka, logLevel, CompressionTypes, Partitioners, ConfigResourceTypes } = kafkajs;

/**
 * A kafkajs cluster (connections to the brokers, metadata, broker requests) made by the client
 * with its own settings (ssl, sasl, socket factory, retries), as kafkajs makes one for each of its
 * producers and consumers. kafkajs keeps the factory under a private symbol; tools use it to send
 * fetch requests at chosen offsets without joining a consumer group (see `partition-reader.ts`).
 */
export function clusterOf(kafka: KafkaClientInstance, settings: { isolationLevel: number; allowAutoTopicCreation: boolean }): unknown {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof create !== 'function') throw new PartitaError('kafkajs changed: its client no longer has the cluster factory Partita reads topics with (kafkajs 2.2.4 has it)');
  return (create as (s: typeof settings) => unknown)(settings);
}

type KafkaClientInstance = InstanceType<typeof Kafka>;

/** kafkajs's table of Kafka protocol errors (type, code, the message its errors carry). */
export const protocolErrors = (require('kafkajs/src/protocol/error.js') as { errorCodes: { type: string; code: number; message: string }[] }).errorCodes;

export type {
  Kafka as KafkaClient,
  CompressionTypes as CompressionType,
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  KafkaConfig,
  KafkaMessage,
  logCreator,
  Message,
  Producer,
  ProducerBatch,
  RecordMetadata,
  Transaction,
} from 'kafkajs';
