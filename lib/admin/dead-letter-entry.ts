import { DeadLetterHeaders, type DroppedPart } from '../consume/dead-letter.ts';
import { BadMessageError } from '../errors.ts';
import { decodeEnvelope, JobHeaders } from '../job/envelope.ts';
import type { RawRecord } from '../kafka/records.ts';
import type { ReplayMark } from './replay-marks.ts';

/** Where a dead letter came from, as its `source-*` headers say. */
export interface DeadLetterSource {
  /** The topic it was consumed from (`source-topic`). */
  topic: string | undefined;
  /** Its partition there (`source-partition`). */
  partition: number | undefined;
  /** Its offset there (`source-offset`). */
  offset: number | undefined;
  /** The consumer group that gave up on it. */
  consumerGroup: string | undefined;
}

/**
 * One dead letter as tools show it, decoded from its record without running or loading anything
 * it names: the job class is only read from its header and the envelope, never looked up.
 */
export interface DeadLetter {
  /** The dead-letter topic. */
  topic: string;
  /** Its partition in the dead-letter topic. */
  partition: number;
  /** Its offset in the dead-letter topic. */
  offset: number;
  /** The message key as UTF-8 (the job's key), or null. */
  key: string | null;
  /** The `job-class` header (or the envelope's class when the header is missing). */
  jobClass: string | undefined;
  /** The `job-id` header (or the envelope's id). */
  jobId: string | undefined;
  /**
   * The job's arguments as they travel: the JSON part of the superjson envelope (a Date is its
   * ISO string, a Map a list of pairs, a BigInt a string). Undefined when the value is not a job
   * envelope (see `problem`).
   */
  arguments: unknown[] | undefined;
  /** Why the value is not a readable job envelope (not JSON, no envelope, tombstone), if it is not. */
  problem: string | undefined;
  /** When the job was enqueued (the envelope's `enqueued_at`, ISO 8601). */
  enqueuedAt: string | undefined;
  /** When it was dead-lettered: the record's timestamp, ISO 8601. */
  failedAt: string;
  /** Failed attempts before it was dead-lettered (`source-attempts`). */
  attempts: number | undefined;
  /** The error class of the last failure (`error-class`). */
  errorClass: string | undefined;
  /** The error message of the last failure (`error-message`, at most 2 000 characters). */
  errorMessage: string | undefined;
  /** Where it came from. */
  source: DeadLetterSource;
  /** Bytes of the record: key, value, and header names and values. */
  sizeBytes: number;
  /**
   * What a reduced copy left out to fit the dead-letter topic (`dead-letter-dropped`); empty for
   * a whole copy. A reduced copy cannot be replayed.
   */
  dropped: DroppedPart[];
  /** When and where it was replayed; undefined while it waits. */
  replayed: ReplayMark | undefined;
}

/** A dead letter with its whole record: every header and the value as text. */
export interface DeadLetterDetail extends DeadLetter {
  /** Every header of the record, the dead-letter ones included. */
  headers: Record<string, string>;
  /** The value as UTF-8, or null for a record without one. */
  value: string | null;
}

/** Decodes a dead-letter record (see {@link DeadLetter}); `replayed` is its replay mark, if any. */
export function describeDeadLetter(record: RawRecord, replayed: ReplayMark | undefined): DeadLetter {
  const h = record.headers;
  const { envelope, problem } = readEnvelope(record);
  const dropped = h[DeadLetterHeaders.dropped];
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key === null ? null : record.key.toString('utf8'),
    jobClass: h[JobHeaders.jobClass] ?? stringField(envelope, 'job_class'),
    jobId: h[JobHeaders.jobId] ?? stringField(envelope, 'job_id'),
    arguments: problem === undefined && Array.isArray(envelope?.arguments) ? envelope.arguments : undefined,
    problem,
    enqueuedAt: stringField(envelope, 'enqueued_at'),
    failedAt: new Date(record.timestamp).toISOString(),
    attempts: numberHeader(h[DeadLetterHeaders.sourceAttempts]),
    errorClass: h[DeadLetterHeaders.errorClass],
    errorMessage: h[DeadLetterHeaders.errorMessage],
    source: {
      topic: h[DeadLetterHeaders.sourceTopic],
      partition: numberHeader(h[DeadLetterHeaders.sourcePartition]),
      offset: numberHeader(h[DeadLetterHeaders.sourceOffset]),
      consumerGroup: h[DeadLetterHeaders.sourceConsumerGroup],
    },
    sizeBytes: recordBytes(record),
    dropped: dropped ? (dropped.split(',') as DroppedPart[]) : [],
    replayed,
  };
}

/** {@link describeDeadLetter} with the record's headers and value. */
export function describeDeadLetterDetail(record: RawRecord, replayed: ReplayMark | undefined): DeadLetterDetail {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers)) if (value !== undefined) Object.defineProperty(headers, name, { value, enumerable: true });
  return { ...describeDeadLetter(record, replayed), headers, value: record.value === null ? null : record.value.toString('utf8') };
}

/**
 * The envelope's JSON part, checked by the worker's own decoder (which reads the `job-class`
 * header but looks nothing up), or why it is not an envelope.
 */
function readEnvelope(record: RawRecord): { envelope: Record<string, unknown> | undefined; problem: string | undefined } {
  try {
    decodeEnvelope(record.value, record.headers, record);
  } catch (error) {
    if (!(error instanceof BadMessageError)) throw error;
    return { envelope: plainDocument(record.value), problem: error.message };
  }
  return { envelope: plainDocument(record.value), problem: undefined };
}

function plainDocument(value: Buffer | null): Record<string, unknown> | undefined {
  if (value === null) return undefined;
  try {
    const document: unknown = JSON.parse(value.toString('utf8'));
    const json = typeof document === 'object' && document !== null ? (document as { json?: unknown }).json : undefined;
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function stringField(envelope: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = envelope?.[name];
  return typeof value === 'string' ? value : undefined;
}

function numberHeader(value: string | undefined): number | undefined {
  return value === undefined || value === '' || Number.isNaN(Number(value)) ? undefined : Number(value);
}

function recordBytes(record: RawRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers)) bytes += Buffer.byteLength(name) + (value === undefined ? 0 : Buffer.byteLength(value));
  return bytes;
}
