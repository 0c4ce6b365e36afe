import superjson from 'superjson';
import { BadMessageError, type MessageCoordinates } from '../errors.ts';

/** Header names a job message carries; routing reads these, never the value. */
export const JobHeaders = {
  jobClass: 'job-class',
  jobId: 'job-id',
  jobKey: 'job-key',
  contentType: 'content-type',
} as const;

/** The content type of a job envelope (superjson JSON). */
export const ENVELOPE_CONTENT_TYPE = 'application/vnd.partita.job+superjson';

/** A job as it travels in a message value. Key names follow ActiveJob's serialization. */
export interface JobEnvelope {
  job_class: string;
  job_id: string;
  queue_name: string;
  arguments: unknown[];
  executions: number;
  exception_executions: Record<string, number>;
  enqueued_at: string;
  /** When the job is due (ISO 8601); a worker never runs it earlier. */
  scheduled_at?: string;
}

/** A job ready to be produced. */
export interface EncodedJob {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/** Serializes an envelope; the key goes to the message key and the `job-key` header. */
export function encodeEnvelope(envelope: JobEnvelope, key: string | undefined): EncodedJob {
  const headers: Record<string, string> = {
    [JobHeaders.jobClass]: envelope.job_class,
    [JobHeaders.jobId]: envelope.job_id,
    [JobHeaders.contentType]: ENVELOPE_CONTENT_TYPE,
  };
  if (key !== undefined) headers[JobHeaders.jobKey] = key;
  return { key: key ?? null, value: superjson.stringify(envelope), headers };
}

/**
 * Turns a consumed message back into an envelope, or throws a {@link BadMessageError} that names
 * the kind of bad input and where it was.
 */
export function decodeEnvelope(
  value: Buffer | null,
  headers: Readonly<Record<string, string | undefined>>,
  at: MessageCoordinates,
): JobEnvelope {
  const headerClass = headers[JobHeaders.jobClass];
  if (headerClass === undefined || headerClass === '') {
    throw new BadMessageError('missing-header', at, `the "${JobHeaders.jobClass}" header is missing`);
  }
  const parsed = parseJsonValue(value, at);
  let envelope: unknown;
  try {
    envelope = isSuperjsonDocument(parsed) ? superjson.deserialize(parsed) : undefined;
  } catch (error) {
    throw new BadMessageError('not-envelope', at, `the value is not superjson (${(error as Error).message})`);
  }
  const problem = envelopeProblem(envelope);
  if (problem !== undefined) {
    throw new BadMessageError('not-envelope', at, `the value is not a job envelope: ${problem}`);
  }
  const job = envelope as JobEnvelope;
  if (job.job_class !== headerClass) {
    throw new BadMessageError(
      'header-mismatch',
      at,
      `the "${JobHeaders.jobClass}" header says "${headerClass}" but the envelope says "${job.job_class}"`,
    );
  }
  return job;
}

/**
 * Parses a message value as JSON, or throws a {@link BadMessageError} of kind `tombstone` (no value)
 * or `not-json` that says where the message was.
 */
export function parseJsonValue(value: Buffer | null, at: MessageCoordinates): unknown {
  if (value === null) throw new BadMessageError('tombstone', at, 'the message has no value (tombstone)');
  try {
    return JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new BadMessageError('not-json', at, `the value is not JSON (${(error as Error).message})`);
  }
}

function isSuperjsonDocument(value: unknown): value is { json: never } {
  return typeof value === 'object' && value !== null && 'json' in value;
}

function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const v = value as Record<string, unknown>;
  if (typeof v.job_class !== 'string' || v.job_class === '') return 'job_class is not a string';
  if (typeof v.job_id !== 'string' || v.job_id === '') return 'job_id is not a string';
  if (!Array.isArray(v.arguments)) return 'arguments is not an array';
  if (typeof v.executions !== 'number' || !Number.isInteger(v.executions) || v.executions < 0) {
    return 'executions is not a count';
  }
  if (typeof v.enqueued_at !== 'string') return 'enqueued_at is not a timestamp';
  if (v.scheduled_at !== undefined && (typeof v.scheduled_at !== 'string' || Number.isNaN(Date.parse(v.scheduled_at)))) {
    return 'scheduled_at is not a timestamp';
  }
  if (v.exception_executions !== undefined && (typeof v.exception_executions !== 'object' || v.exception_executions === null)) {
    return 'exception_executions is not an object';
  }
  return undefined;
}
