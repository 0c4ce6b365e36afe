import { AsyncLocalStorage } from 'node:async_hooks';
import { JobsLostError, type LostMessage } from '../errors.ts';

/** How a tracked delivery ended: nothing when the broker acknowledged it. */
export type DeliveryOutcome = { lost: LostMessage; error: Error } | undefined;

/**
 * The deliveries started by one piece of work (a lane of a worker running jobs or consuming
 * messages): every message its `performLater` / `produce*` calls gave a dispatcher, sync or async.
 * Marks made while some of them are unacknowledged wait for them, so an offset is never committed
 * before the follow-ups of the work below it reached the broker.
 */
export class DeliveryScope {
  readonly #pending = new Set<Promise<void>>();
  /** Tracked since the last deferred mark: the next mark waits for these (and for the marks before it, which waited for the rest). */
  #sinceLastMark: Promise<void>[] = [];
  readonly #lost: LostMessage[] = [];
  #firstError: Error | undefined;
  /** Deferred marks, applied in order. */
  #marks: Promise<void> = Promise.resolve();

  /** Starts tracking one message; call the returned function once with its outcome. */
  track(): (outcome: DeliveryOutcome) => void {
    let finish!: () => void;
    const settled = new Promise<void>((resolve) => (finish = resolve));
    this.#pending.add(settled);
    this.#sinceLastMark.push(settled);
    return (outcome) => {
      if (outcome) {
        this.#lost.push(outcome.lost);
        this.#firstError ??= outcome.error;
      }
      this.#pending.delete(settled);
      finish();
    };
  }

  /** Tracks a step that may start deliveries later (an enqueue still running its callbacks). */
  trackStep(step: Promise<unknown>): void {
    const settled = step.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(settled);
    this.#sinceLastMark.push(settled);
    void settled.then(() => this.#pending.delete(settled));
  }

  /** True while a tracked delivery is not acknowledged yet. */
  get pending(): boolean {
    return this.#pending.size > 0;
  }

  /** The loss, once a tracked delivery was given up. */
  get failure(): JobsLostError | undefined {
    if (this.#lost.length === 0) return undefined;
    return new JobsLostError(this.#lost, 'Follow-up messages produced while handling the messages of this lane were not delivered; the lane fails and is retried.', { cause: this.#firstError });
  }

  /** Runs `apply` once every delivery tracked so far is acknowledged (and after earlier deferred marks); never when one is lost. */
  afterDelivered(apply: () => void): void {
    const waitFor = [this.#marks, ...this.#sinceLastMark];
    this.#sinceLastMark = [];
    this.#marks = Promise.all(waitFor).then(() => {
      if (this.#lost.length === 0) apply();
    });
  }

  /** Resolves when every tracked delivery (and every one started meanwhile) ended, and deferred marks were applied. */
  async settled(): Promise<void> {
    for (;;) {
      const marks = this.#marks;
      while (this.#pending.size > 0) await Promise.all(this.#pending);
      await marks;
      if (marks === this.#marks && this.#pending.size === 0) return;
    }
  }

  /** Like {@link settled}, then throws the loss, if any. */
  async delivered(): Promise<void> {
    await this.settled();
    const failure = this.failure;
    if (failure) throw failure;
  }
}

const storage = new AsyncLocalStorage<DeliveryScope>();

/** The delivery scope of the current async context, if any. */
export function currentDeliveryScope(): DeliveryScope | undefined {
  return storage.getStore();
}

/** Runs `body` with `scope` collecting the deliveries it starts. */
export function runInDeliveryScope<T>(scope: DeliveryScope, body: () => Promise<T>): Promise<T> {
  return storage.run(scope, body);
}
