import type { RetryWaitSettings } from '../schedule/retry-wait.ts';
import { ancestorsFirst } from './class-chain.ts';
import type { Job } from './job.ts';

/** An error class, matched with `instanceof`. */
export type ErrorClass = abstract new (...args: any[]) => Error;

/** What to do with a job that threw. */
export type ErrorDecision =
  | { action: 'raise' }
  | { action: 'retry'; handler: string; wait: RetryWaitSettings | undefined }
  | { action: 'give-up'; handler: string; attempts: number }
  | { action: 'discard' };

interface RetryRule {
  errorClass: ErrorClass;
  attempts: number;
  /** Set: retry by enqueuing again after this wait. Unset: retry in place. */
  wait: RetryWaitSettings | undefined;
}

interface ClassRules {
  retry: RetryRule[];
  discard: ErrorClass[];
  afterDiscard: ((job: Job<any[]>, error: Error) => void | Promise<void>)[];
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
export function addRetryRule(owner: object, errorClass: ErrorClass, attempts: number, wait: RetryWaitSettings | undefined): void {
  rulesOf(owner).retry.push({ errorClass, attempts, wait });
}

/** Registers `discardOn`. @internal */
export function addDiscardRule(owner: object, errorClass: ErrorClass): void {
  rulesOf(owner).discard.push(errorClass);
}

/** Registers `afterDiscard`. @internal */
export function addAfterDiscard(owner: object, hook: (job: Job<any[]>, error: Error) => void | Promise<void>): void {
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
 * Decides what a failure means for a job: discard it, retry it (in place, or after its rule's wait),
 * give up (its handler's attempts are spent), or raise it to the engine unchanged. `failures` counts
 * earlier failures per handler (ActiveJob's `exception_executions`), this one not included.
 */
export function decideOnError(jobClass: object, error: Error, failures: Readonly<Record<string, number>>): ErrorDecision {
  const rules = collect(jobClass);
  if (rules.discard.some((errorClass) => error instanceof errorClass)) return { action: 'discard' };
  const rule = rules.retry.find((candidate) => error instanceof candidate.errorClass);
  if (!rule) return { action: 'raise' };
  const handler = `[${rule.errorClass.name}]`;
  const attempts = (failures[handler] ?? 0) + 1;
  return attempts >= rule.attempts ? { action: 'give-up', handler, attempts } : { action: 'retry', handler, wait: rule.wait };
}

/** Runs the `afterDiscard` hooks of a job's class. */
export async function runAfterDiscard(job: Job<any[]>, error: Error): Promise<void> {
  for (const hook of collect(job.constructor).afterDiscard) await hook(job, error);
}
