import type { DeadLetterQueueSettings } from '../routing/route.ts';

/**
 * Decides, after each failed attempt, whether to retry or to dead-letter the failing message. Pure.
 *
 * Collective mode counts failed attempts on the partition until a batch succeeds, so attempts carry
 * over to the next failing message. Independent mode gives each message its own budget. A failure
 * whose guilty message is unknown (lanes ran in parallel) counts but cannot dead-letter.
 */
export class RetryBudget {
  readonly #settings: DeadLetterQueueSettings | undefined;
  #attempts = 0;
  #offset: number | undefined;

  constructor(settings: DeadLetterQueueSettings | undefined) {
    this.#settings = settings;
  }

  /** Failed attempts counted so far. */
  get attempts(): number {
    return this.#attempts;
  }

  /**
   * Records a failed attempt. `guilty` is the failing message's offset, or undefined when it cannot
   * be told (parallel lanes). An `unrecoverable` failure of a known message is dead-lettered at once.
   */
  failed(guilty: number | undefined, unrecoverable = false): 'retry' | 'dead-letter' {
    if (this.#settings?.independent && guilty !== undefined && this.#offset !== undefined && guilty !== this.#offset) {
      this.#attempts = 0;
    }
    this.#attempts += 1;
    if (guilty !== undefined) this.#offset = guilty;
    if (!this.#settings || guilty === undefined) return 'retry';
    if (unrecoverable) return 'dead-letter';
    return this.#attempts > this.#settings.maxRetries ? 'dead-letter' : 'retry';
  }

  /** The message was dead-lettered; independent mode starts the next one afresh. */
  deadLettered(): void {
    if (this.#settings?.independent) {
      this.#attempts = 0;
      this.#offset = undefined;
    }
  }

  /** A batch went through: every budget is full again. */
  succeeded(): void {
    this.#attempts = 0;
    this.#offset = undefined;
  }
}
