/**
 * Checks shared by every option and argument the library validates: topic names, known option
 * names, number ranges and timer lengths. Each throws an {@link InvalidOptionError} naming the
 * option's path (e.g. `routes.orders.deadLetterQueue.maxRetries`) and what was expected.
 * @module
 */
import { InvalidOptionError } from './errors.ts';

/** Kafka's own rule for topic names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * The longest wait a Node.js timer can take (2³¹−1 ms, about 24.8 days): a longer `setTimeout`
 * fires at once. Every configurable wait is validated against it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Validates a topic name the way the broker would, naming the option on failure.
 * @internal
 */
export function validateTopicName(option: string, topic: unknown): string {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new InvalidOptionError(option, `expected a non-empty topic name, got ${describeValue(topic)}`);
  }
  if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
    throw new InvalidOptionError(option, `"${topic}" is not a valid Kafka topic name (letters, digits, '.', '_', '-', at most 249 characters)`);
  }
  return topic;
}

/**
 * Refuses option names outside `known`, naming the first unknown one, e.g.
 * `Invalid option createApp.consumer.sessionTimeot: unknown option (known: ...)`.
 * @internal
 */
export function refuseUnknownOptions(owner: string, options: object, known: readonly string[]): void {
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) throw new InvalidOptionError(`${owner}.${name}`, `unknown option (known: ${known.join(', ')})`);
  }
}

/**
 * Throws unless `value` is an integer from `min` (and up to `max`, when given).
 * @internal
 */
export function validateInteger(option: string, value: unknown, min: number, max?: number): void {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && (max === undefined || value <= max)) return;
  const range = max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
  throw new InvalidOptionError(option, `expected an integer ${range}, got ${String(value)}`);
}

/**
 * Throws unless `value` is undefined or milliseconds from `min` up to {@link MAX_TIMER_MS}.
 * @internal
 */
export function validateTimerMs(option: string, value: unknown, min = 0): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidOptionError(option, `expected milliseconds >= ${min}, got ${String(value)}`);
  }
  if (value > MAX_TIMER_MS) {
    throw new InvalidOptionError(option, `${value} ms is longer than a timer can wait (${MAX_TIMER_MS} ms, about 24.8 days); give a shorter wait`);
  }
}

/** A value as an error message shows it: strings quoted, objects not spelled out. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
