import superjson from 'superjson';
import { BadMessageError, SerializationError, type MessageCoordinates } from '../errors.ts';
import { parseJsonValue } from '../kafka/inbound-message.ts';

/**
 * `Buffer` arguments travel as base64 and arrive as `Buffer` (superjson alone would write a typed
 * array it cannot read back). Registered on superjson's default instance, where apps register
 * their own classes, so that both enqueuers and workers know it.
 */
superjson.registerCustom<Buffer, string>(
  {
    isApplicable: (value): value is Buffer => Buffer.isBuffer(value),
    serialize: (buffer) => buffer.toString('base64'),
    deserialize: (base64) => Buffer.from(base64, 'base64'),
  },
  'partita.Buffer',
);

/** Header names a job message carries; routing reads these, never the value. */
export const JobHeaders = {
  /** The job's class name. */
  jobClass: 'job-class',
  /** The job's id. */
  jobId: 'job-id',
  /** The job's key, when its partitioner gave one (partitioners of virtual partitions read it). */
  jobKey: 'job-key',
  /** The envelope's content type ({@link ENVELOPE_CONTENT_TYPE}). */
  contentType: 'content-type',
} as const;

/** The content type of a job envelope (superjson JSON). */
export const ENVELOPE_CONTENT_TYPE = 'application/vnd.partita.job+superjson';

/** A job as it travels in a message value. Key names follow ActiveJob's serialization. */
export interface JobEnvelope {
  /** The job's class name, looked up in the worker's registry. */
  job_class: string;
  /** The job's id (a UUID unless given). */
  job_id: string;
  /** The topic the job was enqueued to (its queue). */
  queue_name: string;
  /** The arguments `perform` gets (superjson keeps their types). */
  arguments: unknown[];
  /** How many times the job was performed before. */
  executions: number;
  /** Failures so far per `retryOn` rule, by the rule's name. */
  exception_executions: Record<string, number>;
  /** When the job was enqueued (ISO 8601). */
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

/**
 * Serializes an envelope; the key goes to the message key and the `job-key` header. Arguments
 * superjson would drop or change on the way are refused with a {@link SerializationError}.
 */
export function encodeEnvelope(envelope: JobEnvelope, key: string | undefined): EncodedJob {
  assertArgumentsRoundTrip(envelope.job_class, envelope.arguments);
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
    // In place: the document was just parsed and nothing else holds it, so superjson's copy is waste.
    envelope = isSuperjsonDocument(parsed) ? superjson.deserialize(parsed, { inPlace: true }) : undefined;
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

/** Typed arrays superjson writes and reads back (Buffer has Partita's own transformer). */
const TYPED_ARRAYS = new Set([
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
]);

/**
 * Throws a {@link SerializationError} naming the first argument (by its path, e.g.
 * `arguments[1].user.save`) that would not arrive as it was sent: functions, symbols and class
 * instances superjson does not know (see `superjson.registerSymbol` / `registerClass` /
 * `registerCustom`), Error subclasses, symbol-keyed properties, and objects with a prototype
 * superjson drops.
 */
export function assertArgumentsRoundTrip(jobClass: string, args: readonly unknown[]): void {
  const found = firstUnserializable(args, 'arguments', new Set());
  if (found === undefined) return;
  throw new SerializationError(
    found.path,
    `${jobClass} cannot be enqueued: ${found.path} ${found.problem}. Job arguments must survive superjson ` +
      '(plain objects and arrays, strings, numbers, booleans, null, undefined, BigInt, Date, RegExp, URL, Map, Set, ' +
      'Error, Buffer and typed arrays, and what is registered with superjson); pass plain data such as ids instead.',
  );
}

function firstUnserializable(value: unknown, path: string, seen: Set<object>): { path: string; problem: string } | undefined {
  if (typeof value === 'function') return { path, problem: 'is a function (superjson drops it)' };
  if (typeof value === 'symbol') {
    return superjsonRule(value) === 'symbol' ? undefined : { path, problem: 'is a symbol not registered with superjson.registerSymbol (it would arrive as a new symbol)' };
  }
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const found = firstUnserializable(value[index], `${path}[${index}]`, seen);
      if (found) return found;
    }
    return undefined;
  }
  const prototype = Object.getPrototypeOf(value) as object | null;
  if (prototype === Object.prototype || prototype === null) return firstInProperties(value, path, seen);
  const { constructor } = value;
  if (constructor === Map) {
    let index = 0;
    for (const [key, entry] of value as Map<unknown, unknown>) {
      const found = firstUnserializable(key, `${path}.keys()[${index}]`, seen) ?? firstUnserializable(entry, `${path}.get(${describeKey(key)})`, seen);
      if (found) return found;
      index += 1;
    }
    return undefined;
  }
  if (constructor === Set) {
    let index = 0;
    for (const entry of value as Set<unknown>) {
      const found = firstUnserializable(entry, `${path}.values()[${index}]`, seen);
      if (found) return found;
      index += 1;
    }
    return undefined;
  }
  if (constructor === Date || constructor === RegExp || constructor === URL || constructor === Error) return undefined;
  if (ArrayBuffer.isView(value) && TYPED_ARRAYS.has(constructor.name) && constructor === (globalThis as Record<string, unknown>)[constructor.name]) return undefined;
  const registered = superjsonRule(value);
  if (registered === 'custom') return undefined;
  if (registered === 'class') return firstInProperties(value, path, seen);
  const name = (constructor as { name?: string } | undefined)?.name || 'an unnamed class';
  if (value instanceof Error) return { path, problem: `is a ${name} (superjson sends Error subclasses as a plain Error)` };
  return {
    path,
    problem: `is an instance of ${name}, which superjson does not know (it would arrive as a plain object without its methods); register it with superjson.registerClass(${name})`,
  };
}

function firstInProperties(value: object, path: string, seen: Set<object>): { path: string; problem: string } | undefined {
  const symbolKey = Object.getOwnPropertySymbols(value)[0];
  if (symbolKey !== undefined) return { path: `${path}[${String(symbolKey)}]`, problem: 'is a symbol-keyed property (superjson drops it)' };
  for (const [key, entry] of Object.entries(value)) {
    const found = firstUnserializable(entry, /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, seen);
    if (found) return found;
  }
  return undefined;
}

function describeKey(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : typeof key === 'object' && key !== null ? '{...}' : String(key);
}

/** The registered rule superjson writes this value with: a class, symbol or custom transformer the app (or Partita) registered. */
function superjsonRule(value: object | symbol): 'class' | 'symbol' | 'custom' | undefined {
  const annotation = (superjson.serialize(value as never).meta?.values as unknown[] | undefined)?.[0];
  if (!Array.isArray(annotation)) return undefined;
  const [rule] = annotation as unknown[];
  return rule === 'class' || rule === 'symbol' || rule === 'custom' ? rule : undefined;
}
