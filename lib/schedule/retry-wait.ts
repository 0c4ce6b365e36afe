import { InvalidOptionError } from '../errors.ts';

/**
 * How long a job waits before its next attempt (`retryOn(..., { wait })`): milliseconds, a function
 * of the executions so far (this one included) and of the failed job `J`, or
 * `'polynomiallyLonger'`: (executions⁴ + 2) s.
 */
export type RetryWait<J = unknown> = number | ((executions: number, job: J) => number) | 'polynomiallyLonger';

/** Options of `Job.retryOn`; `J` is the job the functions are given. */
export interface RetryOnOptions<J = unknown> {
  /**
   * Executions in all before the job gives up (it then goes to the route's dead-letter queue): a
   * number, or a function of the failed job (per-job attempts, e.g. from its arguments).
   * @defaultValue 5
   */
  attempts?: number | ((job: J) => number);
  /**
   * Wait before each retry. With a wait, the job is enqueued again through the delay tiers and its
   * partition moves on (the retry gives up its place in the per-key order). Without, the job is
   * retried in place by the engine's backoff and keeps its order.
   */
  wait?: RetryWait<J>;
  /**
   * Extra random wait, as a fraction of the wait (ActiveJob's jitter): a number wait of `w` becomes
   * `w + random × w × jitter`; for `'polynomiallyLonger'` the random part is taken of executions⁴ s.
   * Not applied to a function wait. Default 0.15.
   */
  jitter?: number;
}

/** A validated retry wait. */
export interface RetryWaitSettings<J = unknown> {
  wait: RetryWait<J>;
  jitter: number;
}

const DEFAULT_JITTER = 0.15;

/** Validates `wait` and `jitter` of `retryOn`; `owner` names the option in errors (`SendEmail.retryOn`). */
export function retryWaitSettings<J>(owner: string, options: RetryOnOptions<J>): RetryWaitSettings<J> | undefined {
  const { wait, jitter } = options;
  if (wait === undefined) {
    if (jitter !== undefined) throw new InvalidOptionError(`${owner}.jitter`, 'jitter applies to a wait; give wait as well');
    return undefined;
  }
  const known = typeof wait === 'function' || wait === 'polynomiallyLonger' || isMilliseconds(wait);
  if (!known) {
    throw new InvalidOptionError(`${owner}.wait`, `expected milliseconds >= 0, a function (executions) => ms, or 'polynomiallyLonger', got ${describe(wait)}`);
  }
  if (jitter !== undefined && !isMilliseconds(jitter)) {
    throw new InvalidOptionError(`${owner}.jitter`, `expected a number >= 0 (a fraction of the wait, e.g. 0.15), got ${describe(jitter)}`);
  }
  return { wait, jitter: jitter ?? DEFAULT_JITTER };
}

/**
 * The wait in ms before the next attempt of `job`, after `executions` executions. `random` returns a
 * number in [0, 1). Throws when a wait function returns something that is not milliseconds >= 0.
 */
export function retryWaitMs<J>(owner: string, settings: RetryWaitSettings<J>, executions: number, job: J, random: () => number = Math.random): number {
  const { wait, jitter } = settings;
  if (typeof wait === 'function') {
    const ms = wait(executions, job);
    if (!isMilliseconds(ms)) throw new InvalidOptionError(`${owner}.wait`, `the wait function returned ${describe(ms)} for executions ${executions}; expected milliseconds >= 0`);
    return Math.round(ms);
  }
  if (wait === 'polynomiallyLonger') {
    const base = executions ** 4 * 1000;
    return Math.round(base + random() * base * jitter + 2000);
  }
  return Math.round(wait + random() * wait * jitter);
}

function isMilliseconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : `${typeof value} ${String(value)}`;
}
