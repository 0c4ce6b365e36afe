import { InvalidOptionError, UnrecoverableError } from '../errors.ts';
import type { RetryWaitSettings } from '../schedule/retry-wait.ts';
import { ancestorsFirst } from './class-chain.ts';

/** An error class, matched with `instanceof`. */
export type ErrorClass = abstract new (...args: any[]) => Error;

/**
 * What error handling reads of a failed job. job.ts's `Job` has it; this module knows jobs only
 * through it (and their constructor, which is their class), so it does not import job.ts.
 */
export interface FailedJob {
  readonly jobClass: string;
  readonly jobId: string;
  /** Failures so far per `retryOn` handler. */
  readonly exceptionExecutions: Readonly<Record<string, number>>;
}

/** What to do with a job of type `J` that threw. */
export type ErrorDecision<J> =
  | { action: 'raise' }
  | { action: 'retry'; handler: string; wait: RetryWaitSettings<J> | undefined }
  | { action: 'give-up'; handler: string; attempts: number }
  | { action: 'discard' };

interface RetryRule<J> {
  errorClass: ErrorClass;
  /** Executions in all, or a function of the failed job that says how many. */
  attempts: number | ((job: J) => number);
  /** Set: retry by enqueuing again after this wait. Unset: retry in place. */
  wait: RetryWaitSettings<J> | undefined;
}

/** An `afterDiscard` hook of jobs of type `J` (this module knows jobs only as objects whose constructor is their class). */
type DiscardHook<J> = (job: J, error: Error) => void | Promise<void>;

interface ClassRules<J = never> {
  retry: RetryRule<J>[];
  discard: ErrorClass[];
  afterDiscard: DiscardHook<J>[];
}

const ownRules = new WeakMap<object, ClassRules>();

function rulesOf(owner: object): ClassRules {
  let rules = ownRules.get(owner);
  if (!rules) {
    rules = { retry: [], discard: [], afterDiscard: [] };
    ownRules.set(owner, rules);
  }
  return rules;
}

/** Registers `retryOn`. @internal */
export function addRetryRule<J>(owner: object, errorClass: ErrorClass, attempts: RetryRule<J>['attempts'], wait: RetryRule<J>['wait']): void {
  rulesOf(owner).retry.push({ errorClass, attempts, wait });
}

/** Registers `discardOn`. @internal */
export function addDiscardRule(owner: object, errorClass: ErrorClass): void {
  rulesOf(owner).discard.push(errorClass);
}

/** Registers `afterDiscard`. @internal */
export function addAfterDiscard<J>(owner: object, hook: DiscardHook<J>): void {
  rulesOf(owner).afterDiscard.push(hook);
}

/** The rules of a class and its ancestors; the subclass's rules are checked first, as in ActiveJob. */
function collect(jobClass: object): ClassRules {
  const collected: ClassRules = { retry: [], discard: [], afterDiscard: [] };
  for (const c of ancestorsFirst(jobClass).reverse()) {
    const own = ownRules.get(c);
    if (!own) continue;
    collected.retry.push(...[...own.retry].reverse());
    collected.discard.push(...[...own.discard].reverse());
    collected.afterDiscard.unshift(...own.afterDiscard);
  }
  return collected;
}

/**
 * Decides what a failure of `job` means: discard it, retry it (in place, or after its rule's wait),
 * give up (its handler's attempts are spent), or raise it to the engine unchanged. The job's
 * `exceptionExecutions` count earlier failures per handler, this one not included. An
 * {@link UnrecoverableError} is never retried by a `retryOn` rule (`discardOn` may still drop it).
 */
export function decideOnError<J extends FailedJob>(job: J, error: Error): ErrorDecision<J> {
  const rules = collect(job.constructor) as ClassRules<J>;
  if (rules.discard.some((errorClass) => error instanceof errorClass)) return { action: 'discard' };
  if (error instanceof UnrecoverableError) return { action: 'raise' };
  const rule = rules.retry.find((candidate) => error instanceof candidate.errorClass);
  if (!rule) return { action: 'raise' };
  const handler = `[${rule.errorClass.name}]`;
  const attempts = (job.exceptionExecutions[handler] ?? 0) + 1;
  return attempts >= attemptsOf(rule, job) ? { action: 'give-up', handler, attempts } : { action: 'retry', handler, wait: rule.wait };
}

function attemptsOf<J extends FailedJob>(rule: RetryRule<J>, job: J): number {
  if (typeof rule.attempts === 'number') return rule.attempts;
  const attempts = rule.attempts(job);
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new InvalidOptionError(
      `${job.jobClass}.retryOn.attempts`,
      `the attempts function returned ${String(attempts)} for job ${job.jobId}; expected an integer >= 1`,
    );
  }
  return attempts;
}

/** Runs the `afterDiscard` hooks of a job's class. */
export async function runAfterDiscard<J extends object>(job: J, error: Error): Promise<void> {
  for (const hook of (collect(job.constructor) as ClassRules<J>).afterDiscard) await hook(job, error);
}
