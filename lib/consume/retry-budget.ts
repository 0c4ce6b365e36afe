import type { DeadLetterQueueSettings } from '../routing/route.ts';

/**
 * Decides, after each failed attempt, whether to retry or to dead-letter the failing message. Pure.
 *
 * Collective mode counts failed attempts on the partition until a batch succeeds, so attempts carry
 * over to the next failing message. Independent mode (the default on job topics) counts attempts
 * per message: each gets `maxRetries + 1` attempts whatever failed before it. A failure whose guilty
 * message is unknown (lanes ran in parallel) counts but cannot dead-letter: in independent mode it
 * counts for the first unfinished message of each lane, the one each lane failed on when consumers
 * mark per message (the job consumer does).
 */
export class RetryBudget {
  readonly #settings: DeadLetterQueueSettings | undefined;
  /** Collective mode: failed attempts on the partition since the last success. */
  #attempts = 0;
  /** Independent mode: failed attempts of each message since the last success. */
  readonly #attemptsOf = new Map<number, number>();
  /** The message the last decision was about. */
  #judged: number | undefined;

  constructor(settings: DeadLetterQueueSettings | undefined) {
    this.#settings = settings;
  }

  /** Failed attempts counted for the message last judged (in collective mode: on the partition). */
  get attempts(): number {
    if (!this.#settings?.independent) return this.#attempts;
    return this.#judged === undefined ? 0 : (this.#attemptsOf.get(this.#judged) ?? 0);
  }

  /**
   * Records a failed attempt. `guilty` is the failing message's offset, or undefined when it cannot
   * be told (parallel lanes); then `suspects` are the first unfinished offset of each lane. An
   * `unrecoverable` failure of a known message is dead-lettered at once.
   */
  failed(guilty: number | undefined, unrecoverable = false, suspects: readonly number[] = []): 'retry' | 'dead-letter' {
    if (this.#settings?.independent) {
      for (const offset of guilty === undefined ? suspects : [guilty]) this.#attemptsOf.set(offset, (this.#attemptsOf.get(offset) ?? 0) + 1);
    } else {
      this.#attempts += 1;
    }
    this.#judged = guilty;
    if (!this.#settings || guilty === undefined) return 'retry';
    if (unrecoverable) return 'dead-letter';
    return this.attempts > this.#settings.maxRetries ? 'dead-letter' : 'retry';
  }

  /** The judged message was dead-lettered; independent mode forgets its count. */
  deadLettered(): void {
    if (this.#settings?.independent && this.#judged !== undefined) this.#attemptsOf.delete(this.#judged);
    this.#judged = undefined;
  }

  /** A batch went through: every budget is full again. */
  succeeded(): void {
    this.#attempts = 0;
    this.#attemptsOf.clear();
    this.#judged = undefined;
  }
}
